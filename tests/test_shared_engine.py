"""Two learners on one engine: the same notebook at the same time, no collisions, and
cleanup removes only one learner's things; names that look alike stay apart."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from cli_runner import run_cli

import helpers as wb
from helpers.engine import ledger
from helpers.labels import FORM, IMAGE_LABEL, OBJECT_LABEL, learner_form, object_name
from helpers.paths import ROOT

BUSYBOX = "busybox:1.37"
NOTEBOOK = "notebooks/01-images-and-layers.ipynb"


def nbval(learner: str) -> subprocess.Popen[str]:
    command = [
        sys.executable,
        "-m",
        "pytest",
        NOTEBOOK,
        "--nbval",
        "--nbval-current-env",
        "-q",
        "--nbval-sanitize-with",
        "tests/nbval-sanitize.cfg",
        "-p",
        "no:cacheprovider",
    ]
    return subprocess.Popen(
        command,
        cwd=ROOT,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "WORKBOOK_LEARNER": learner},
    )


@pytest.mark.engine
def test_two_learners_run_one_notebook_at_once_and_clean_up_apart() -> None:
    # Names of this run only: a run stopped before its cleanup (in another checkout, whose
    # ledger is gone) leaves images with its learners' labels, and this test counts labels.
    ana, ben = (f"{name}-shared-{os.getpid()}" for name in ("ana", "ben"))
    runs = {name: nbval(name) for name in (ana, ben)}
    outputs = {name: run.communicate(timeout=900)[0] for name, run in runs.items()}
    for name, run in runs.items():
        assert run.returncode == 0, f"{name}'s run failed:\n{outputs[name][-3000:]}"
    client = wb.client()
    for name in runs:
        tags = [t for image in wb.images.existing(filters={"label": f"{IMAGE_LABEL}={name}"}) for t in image.tags]
        assert any(t.startswith(f"wb-{name}/hello-python:") for t in tags), tags
    done = run_cli("cleanup", env={"WORKBOOK_LEARNER": ana}, timeout=300)
    assert done.returncode == 0, done.stderr
    assert not wb.images.existing(filters={"label": f"{IMAGE_LABEL}={ana}"})
    assert wb.images.existing(filters={"label": f"{IMAGE_LABEL}={ben}"})
    assert not client.containers.list(all=True, filters={"label": f"{OBJECT_LABEL}={ana}"})
    wb.cleanup(who=ben)
    assert not wb.images.existing(filters={"label": f"{IMAGE_LABEL}={ben}"})


# Raw names that an earlier, lossy cleaning made equal: each group shares one readable form.
LOOKALIKES = [
    ("ana", "Ana", "ANA", "ana "),
    ("ana-b", "Ana_B", "ana.b", "ana_b", "ana--b"),
    ("jose", "José", "Jose", "jos"),
    ("Мария", "李雷", "Иван", "Ωμέγα"),
    ("root", "Root", "jovyan", "learner"),
]
# Docker's grammar for one path component of an image name.
PATH_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")


def test_distinct_raw_names_give_distinct_safe_namespaces() -> None:
    raw = [name for group in LOOKALIKES for name in group]
    forms = {name: learner_form(name) for name in raw}
    assert len(set(forms.values())) == len(raw), forms
    for name, form in forms.items():
        assert FORM.fullmatch(form) and PATH_COMPONENT.fullmatch(form), (name, form)
        assert learner_form(form) == form or "--" in form  # a safe form is kept as it is
    assert forms["ana-b"] == "ana-b" and forms["José"].startswith("jos--") and forms["Мария"].startswith("learner--")


def test_learner_and_object_names_cannot_run_together(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBOOK_LEARNER", "ana")
    first = object_name("b-web")
    monkeypatch.setenv("WORKBOOK_LEARNER", "ana-b")
    assert object_name("web") != first


@pytest.mark.engine
def test_a_generic_name_is_warned_about_at_start() -> None:
    """A JupyterHub pod's user is jovyan: without WORKBOOK_LEARNER, wb.start() says so, once."""
    env = {k: v for k, v in os.environ.items() if k not in ("WORKBOOK_LEARNER", "USER", "LNAME", "USERNAME")}
    done = subprocess.run(
        [sys.executable, "-c", "import helpers as wb; wb.start('00-start-here')"],
        cwd=ROOT,
        env={**env, "LOGNAME": "jovyan", "WORKBOOK_MODE": "live"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    warning = [line for line in done.stdout.splitlines() if "'jovyan'" in line]
    assert len(warning) == 1 and "WORKBOOK_LEARNER" in warning[0], done.stdout
    assert warning[0].startswith("Learner: jovyan ("), done.stdout


@pytest.mark.engine
def test_colliding_raw_names_share_an_engine_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    """`Ana_B` and `ana.b` both became `ana-b`: one's cleanup removed the other's objects."""
    first, second = f"Ana_B{os.getpid()}", f"ana.b{os.getpid()}"
    refs = {}
    for raw in (first, second):
        monkeypatch.setenv("WORKBOOK_LEARNER", raw)
        app = wb.make_app("lookalike", {"Dockerfile": f"FROM {BUSYBOX}\nRUN echo {raw} > /who\n"})
        refs[raw] = wb.build(app, tag=wb.image_name("lookalike", "1"), quiet=True).ref
    assert refs[first] != refs[second]
    try:
        monkeypatch.setenv("WORKBOOK_LEARNER", first)
        with wb.run(BUSYBOX, ["sleep", "120"], wait_http=None, name="web") as firsts:
            monkeypatch.setenv("WORKBOOK_LEARNER", second)
            with wb.run(BUSYBOX, ["sleep", "120"], wait_http=None, name="web") as seconds:
                assert firsts.name != seconds.name
                removed = wb.cleanup()
                assert seconds.name in removed.containers and firsts.name not in removed.containers
                assert refs[second] in removed.images and refs[first] not in removed.images
                assert firsts.status() == "running"
        wb.images.get(refs[first])
        with pytest.raises(wb.errors.NoSuchImage):
            wb.images.get(refs[second])
    finally:
        for raw in (first, second):
            monkeypatch.setenv("WORKBOOK_LEARNER", raw)
            wb.cleanup()
            for kept in (ledger.path_for(), ledger.path_for().with_suffix(".lock")):
                kept.unlink(missing_ok=True)
