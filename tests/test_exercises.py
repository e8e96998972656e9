"""The homework checkers and the quiz widget: every reference solution (shipped in
helpers/exercises/solutions/hwN/) passes its checker, right answers written differently
(tests/fixtures/homework/hwN/right-*) pass too, and typical wrong answers
(tests/fixtures/homework/hwN/wrong-*) fail with the message a learner needs. HW4's answers are
what a learner types in a terminal (commands.sh, run here by the test, never by the checker).
A checker that passed everything, or failed everything, would be useless."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from docker.errors import APIError

import helpers as wb
from helpers import catalog, exercises
from helpers.engine.registry import LocalRegistry
from helpers.errors import WorkbookError
from helpers.exercises import (
    dockerfile,
    homework,
    hw1_node_app,
    hw3_go_multistage,
    hw4_push,
    hw5_greeter,
    probe,
    static,
)
from helpers.exercises.checks import Check, Step, run_steps, start
from helpers.exercises.feedback import FAIL, PASS, SKIP, TIP, Feedback
from helpers.exercises.quiz import quiz, verdict

HOMEWORK_KEYS = tuple(exercises.HOMEWORK)
WRONG_ANSWERS = Path(__file__).parent / "fixtures" / "homework"  # hwN/<answer>/, laid over the starter

# What each wrong answer (and each untouched starter folder) must be told: substrings of its feedback.
EXPECTED: dict[tuple[str, str], tuple[str, ...]] = {
    ("hw1", "starter"): ("the Dockerfile has no instructions yet",),
    ("hw1", "wrong-unpinned"): (
        "FROM node:latest (line 1) is not pinned",
        "pin a version tag, e.g. node:24-trixie-slim",
    ),
    ("hw1", "wrong-host-modules"): (
        "the Dockerfile never installs the dependencies (no RUN npm ci)",
        "Cannot find module 'express'",
        "the node_modules folder in your work folder was installed on your machine: the check builds from the "
        "sources and the lockfile only",
    ),
    ("hw1", "wrong-copy-modules"): (
        "the build failed at line 4 (`COPY node_modules ./node_modules`): node_modules/ is on your machine, but not "
        "among the sources the check builds from",
        "COPY package.json package-lock.json ./, then RUN npm ci",
    ),
    ("hw1", "wrong-cache-order"): ("a change to server.js re-ran npm ci: copy package*.json first",),
    ("hw1", "offline-base"): (
        "FROM node:24-bookworm-slim (line 1) cannot be built here",
        "That is not a mistake in your Dockerfile (the tag is pinned)",
    ),
    ("hw1", "wrong-no-install"): (
        "does not answer on port 3000: it exited with code 1",
        "Cannot find module 'express'",
        "express is not installed in the image",
    ),
    ("hw1", "wrong-port"): ("inside the container the app listens on 8080", "set ENV PORT=3000"),
    ("hw1", "wrong-missing-file"): (
        "the build failed at line 5 (`COPY app.js ./`)",
        "a COPY names a file that is not in the build context",
    ),
    ("hw2", "starter"): ("node_modules is in the build context (40.0 MB)", "there is no .dockerignore"),
    ("hw2", "wrong-only-node-modules"): (
        ".git is in the build context (5.0 MB)",
        ".env is in the build context",
        "the image contains the secrets file /app/.env",
    ),
    ("hw2", "wrong-image-paths"): (
        "node_modules is in the build context (40.0 MB)",
        "your line `/app/node_modules` does not match it",
        "the image contains node_modules copied from your machine",
    ),
    ("hw2", "wrong-excludes-json"): (
        "package.json, package-lock.json are not in the build context any more",
        "the build failed at line 6",
    ),
    ("hw3", "starter"): (
        "because the whole Go toolchain is in it",
        "copy only the binary into a small final stage",
    ),
    ("hw3", "wrong-golang-final"): (
        "because the whole Go toolchain is in it",
        "the final image still contains the Go toolchain",
    ),
    ("hw3", "wrong-debian-final"): ("over the 25 MB limit", "the rest comes from the final base debian:trixie-slim"),
    ("hw3", "wrong-host-binary"): (
        "the Dockerfile has one stage and compiles nothing",
        "the build failed at line 3 (`COPY hello /hello`): hello is on your machine, but not among the sources",
        "compile the binary in a build stage of your Dockerfile",
    ),
    ("hw3", "wrong-copy-whole-stage"): (
        "COPY --from=build / / copies the build stage's whole filesystem into the final stage, compilers and build "
        "tools included",
        "the final image still contains the Go toolchain",
    ),
    ("hw3", "offline-bases"): (
        "FROM golang:1.27 (line 1) cannot be built here",
        "use a base this machine has (golang:1.27-trixie)",
        "FROM gcr.io/distroless/static:nonroot (line 6) cannot be built here",
        "use a base this machine has (gcr.io/distroless/static-debian13:nonroot)",
    ),
    ("hw3", "wrong-cgo-scratch"): (
        "it exited with code 1",
        "exec /hello: no such file or directory",
        "linked against the C library",
        "CGO_ENABLED=0",
    ),
    ("hw4", "starter"): ("homework/hello:1.0 is not in the registry: nothing arrived", "holds no login for"),
    ("hw4", "wrong-no-login"): ("homework/hello:1.0 is not in the registry: nothing arrived", "holds no login for"),
    ("hw4", "wrong-own-config"): ("holds no login for", "docker logout"),
    ("hw4", "wrong-other-tag"): ("homework/hello:1.0 is not in the registry; it holds homework/hello:latest",),
    ("hw4", "wrong-other-image"): ("homework/hello:1.0 is not the image you were given",),
    ("hw5", "starter"): ("with CMD only", "a program called Ana", "executable file not found"),
    ("hw5", "wrong-shell-entrypoint"): (
        "docker run IMAGE Ana printed 'Hello, world!'",
        "your ENTRYPOINT ignores the arguments you pass (shell form",
    ),
    ("hw5", "wrong-default-in-entrypoint"): (
        "printed 'Hello, world Ana!'",
        "the default name is part of the ENTRYPOINT",
    ),
    ("hw5", "wrong-shell-cmd"): ("printed 'Hello, /bin/sh -c world!'", "your CMD is in shell form"),
    ("hw5", "wrong-no-cmd"): ("(exit code 2)", 'add CMD ["world"]'),
    ("hw5", "wrong-capital-world"): (
        "docker run IMAGE printed 'Hello, World!'",
        'the default name in your CMD ["World"] is not world',
        'make the default exactly CMD ["world"]',
    ),
}
# Right answers written differently from the reference: they pass (with these tips, if any).
RIGHT: dict[tuple[str, str], tuple[str, ...]] = {
    ("hw1", "right-npm-install"): ("npm install works here, but npm ci is the command for images",),
    ("hw1", "tip-root"): ("(bonus) it runs as root (uid 0)", "the image does not EXPOSE 3000"),
    ("hw2", "right-dockerfile-dockerignore"): (),
    ("hw3", "right-distroless-paths"): (),
}


HW1_LATER = [
    "the dependency install",
    "the build",
    "the running container",
    "the build cache after a change to server.js",
]


def folder_for(key: str, which: str) -> Path:
    return exercises.HOMEWORK[key].starter if which == "starter" else exercises.variant(key, which, WRONG_ANSWERS)


def check(key: str, which: str) -> Feedback:
    """The checker's verdict on an answer; for HW4, after running the answer's terminal commands."""
    if key != "hw4":
        return exercises.CHECKERS[key](folder_for(key, which))
    exercises.start_hw4()
    try:
        if which != "starter":
            script = exercises.SOLUTIONS / "hw4/push.sh" if which == "solution" else WRONG_ANSWERS / key / which
            terminal(script if script.suffix == ".sh" else script / "commands.sh")
        return exercises.check_hw4()
    finally:
        exercises.stop_hw4()


def terminal(script: Path) -> str:
    """Run `script` as a learner would in a terminal, with the environment start_hw4() printed."""
    task = hw4_push.running()
    assert task is not None
    done = subprocess.run(
        ["bash", str(script)], env={**os.environ, **task.env()}, capture_output=True, text=True, timeout=300
    )
    return done.stdout + done.stderr


# -- without an engine ----------------------------------------------------------------------


def test_every_homework_has_a_solution_and_three_wrong_answers() -> None:
    for key in HOMEWORK_KEYS:
        found = exercises.variants(key, WRONG_ANSWERS)
        wrong = [name for name in found if name.startswith("wrong-")]
        assert "solution" in found and any((exercises.SOLUTIONS / key).iterdir()), key
        assert len(wrong) >= 3, (key, wrong)
        for name in wrong:
            assert (WRONG_ANSWERS / key / name / "WRONG.md").is_file(), (key, name)
        for name in found:
            if name != "solution":
                assert (key, name) in EXPECTED or (key, name) in RIGHT, f"no expected verdict for {key}/{name}"


def test_every_starter_folder_has_a_readme_and_the_files_its_task_names() -> None:
    for hw in exercises.HOMEWORK.values():
        assert (hw.starter / "README.md").is_file(), hw.folder
        assert (hw.starter / "Dockerfile").is_file(), hw.folder
    assert not (exercises.HOMEWORK["hw4"].starter / "push.py").exists(), "HW4 is done in a terminal, not in Python"
    assert not (exercises.HOMEWORK["hw2"].starter / ".dockerignore").exists(), "HW2 starts without one"


def test_bases_in_homework_and_fixtures_come_from_the_catalog() -> None:
    folders = (exercises.HOMEWORK_DIR, exercises.SOLUTIONS, WRONG_ANSWERS)
    paths = [path for folder in folders for path in folder.rglob("Dockerfile*")]
    for path in paths:
        if {"wrong-unpinned", "offline-base", "offline-bases"} & set(path.parts):
            continue  # deliberately unpinned, or pinned outside the catalog
        stages = dockerfile.stages(dockerfile.parse(path.read_text()))
        refs = [s.base for s in stages if not s.from_stage and "$" not in s.base]
        missing = [ref for ref in refs if not catalog.in_catalog(ref)]
        assert not missing, f"{path} uses bases missing from helpers/catalog.py: {missing}"


def test_variant_lays_the_fixture_over_the_starter_without_touching_it() -> None:
    before = (exercises.HOMEWORK["hw1"].starter / "Dockerfile").read_text()
    folder = exercises.solution("hw1")
    assert (folder / "server.js").is_file() and (folder / "package-lock.json").is_file()
    assert (folder / "Dockerfile").read_text() == (exercises.SOLUTIONS / "hw1/Dockerfile").read_text()
    assert (exercises.HOMEWORK["hw1"].starter / "Dockerfile").read_text() == before
    assert not (exercises.variant("hw1", "wrong-port", WRONG_ANSWERS) / "WRONG.md").exists(), "notes are not copied"


def test_variant_refuses_answers_it_cannot_find() -> None:
    with pytest.raises(WorkbookError, match="There is no 'wrong-port' for hw1"):
        exercises.variant("hw1", "wrong-port")  # the wrong answers are not shipped with the package
    for name in ("../hw2", "..", "wrong-nothing"):
        with pytest.raises(WorkbookError, match="There is no"):
            exercises.variant("hw1", name, WRONG_ANSWERS)


def test_the_reference_solutions_are_package_data_of_the_build(tmp_path: Path) -> None:
    """What setuptools copies into a wheel (build_py, from pyproject.toml's package-data) holds every
    solution file, so an installed package checks solutions without the checkout's tests/."""
    script = (
        "import setuptools; setuptools.setup(script_args=['-q', 'egg_info', '--egg-base', "
        f"{str(tmp_path)!r}, 'build_py', '--build-lib', {str(tmp_path / 'lib')!r}])"
    )
    built = subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(__file__).parent.parent,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    solutions = Path("helpers", "exercises", "solutions")
    shipped = {p.relative_to(tmp_path / "lib" / solutions) for p in (tmp_path / "lib" / solutions).rglob("*")}
    expected = {p.relative_to(exercises.SOLUTIONS) for p in exercises.SOLUTIONS.rglob("*") if p.is_file()}
    expected = {p for p in expected if "__pycache__" not in p.parts}
    assert len(expected) >= 5 and Path("hw2/.dockerignore") in expected
    assert expected <= {p for p in shipped if (tmp_path / "lib" / solutions / p).is_file()}


def test_a_failed_step_lists_every_later_step_as_not_checked(tmp_path: Path) -> None:
    ran: list[str] = []

    def passes(check: Check) -> bool:
        ran.append("passes")
        return True

    def fails(check: Check) -> bool:
        ran.append("fails")
        check.feedback.fail("it broke", "fix it")
        return False

    def never(check: Check) -> bool:
        ran.append("never")
        return True

    check = Check("hw1", Feedback("HW9 · steps", "x"), tmp_path)
    steps = (Step((), passes), Step(("the build",), fails), Step(("the image", "the run"), never), Step(("c",), never))
    run_steps(check, steps)
    assert ran == ["passes", "fails"]
    assert [(i.status, i.text) for i in check.feedback.items] == [
        (FAIL, "it broke"),
        (SKIP, "not checked: the image"),
        (SKIP, "not checked: the run"),
        (SKIP, "not checked: c"),
    ]


@pytest.mark.parametrize(
    ("checker", "files", "skipped"),
    [
        (hw1_node_app.check, {}, ["the base image", *HW1_LATER]),
        (hw1_node_app.check, {"Dockerfile": "FROM node\n"}, HW1_LATER),
        (hw3_go_multistage.check, {}, ["the build", "the final image", "the running container"]),
        (
            hw3_go_multistage.check,
            {"Dockerfile": "FROM golang\n"},
            ["the build", "the final image", "the running container"],
        ),
        (
            hw5_greeter.check,
            {"Dockerfile": "# only a comment\n"},
            ["the build", "docker run IMAGE", "docker run IMAGE Ana"],
        ),
    ],
)
def test_an_early_failure_lists_the_checkers_later_steps_as_not_checked(
    tmp_path: Path, checker: Callable[[Path], Feedback], files: dict[str, str], skipped: list[str]
) -> None:
    """Before any build: no Dockerfile, an unpinned base, only comments."""
    work = tmp_path / "work"
    work.mkdir()
    for name, text in files.items():
        (work / name).write_text(text)
    feedback = checker(work)
    assert len(feedback.failures) >= 1 and all(item.hint for item in feedback.failures), str(feedback)
    assert [i.text for i in feedback.items if i.status == SKIP] == [f"not checked: {what}" for what in skipped]
    assert feedback.items[-len(skipped) :] == [i for i in feedback.items if i.status == SKIP], "skips come last"


def test_parse_joins_continuations_and_skips_comments() -> None:
    text = "# syntax=docker/dockerfile:1\nFROM node:24-trixie-slim AS base\n# note\nRUN a \\\n  # inside\n  && b\n"
    text += 'CMD ["node", "server.js"]\nENTRYPOINT greet world\n'
    parsed = dockerfile.parse(text)
    assert [i.keyword for i in parsed] == ["FROM", "RUN", "CMD", "ENTRYPOINT"]
    assert parsed[1].value == "a && b" and parsed[1].line == 4
    assert parsed[2].exec_form == ["node", "server.js"]
    assert parsed[3].exec_form is None


def test_base_problems_name_unpinned_bases_only() -> None:
    """Any tag but latest pins a base, in the catalog or not (node:24-bookworm-slim, golang:1.27,
    gcr.io/distroless/static:nonroot): whether this machine can pull it is for the build to say."""
    text = (
        "FROM golang:1.27-trixie AS build\nFROM build AS again\nFROM node\nFROM node:latest\n"
        "FROM node:20-alpine\nFROM scratch\nFROM ${BASE}\nFROM --platform=$BUILDPLATFORM busybox:1.37\n"
        "FROM node:24-bookworm-slim\nFROM golang:1.27\nFROM gcr.io/distroless/static:nonroot\n"
        "FROM localhost:5000/team/base:2.1\nFROM localhost:5000/team/base\n"
    )
    problems = dockerfile.base_problems(dockerfile.stages(dockerfile.parse(text)))
    assert [p.stage.base for p in problems] == ["node", "node:latest", "localhost:5000/team/base"]
    assert "means node:latest" in problems[0].text
    assert "is not pinned" in problems[1].text
    assert all("node:24-trixie-slim" in p.hint for p in problems[:2])


def test_a_sources_only_copy_leaves_out_what_the_host_made(tmp_path: Path) -> None:
    work = tmp_path / "hw3-work"
    (work / "cmd").mkdir(parents=True)
    for name in ("Dockerfile", "go.mod", "main.go", "cmd/extra.go", "hello", "README.md", "Dockerfile.dockerignore"):
        (work / name).write_text(name)
    (work / "node_modules").mkdir()
    (work / "node_modules/x.go").write_text("x")
    (work / "linked.go").symlink_to("/etc/hostname")
    check_ = start("hw3", work, hw3_go_multistage.SOURCES)
    assert isinstance(check_, Check)
    kept = sorted(str(p.relative_to(check_.folder)) for p in check_.folder.rglob("*") if not p.is_dir())
    assert kept == ["Dockerfile", "Dockerfile.dockerignore", "cmd/extra.go", "go.mod", "linked.go", "main.go"]
    assert (check_.folder / "linked.go").is_symlink(), "a link is copied as a link, never followed"
    assert check_.left_out == ("hello", "node_modules/")


@pytest.mark.parametrize("key", ["hw1", "hw2", "hw3", "hw5"])
def test_replay_mode_checks_the_structure_for_real(key: str) -> None:
    """With no engine, the checks that need none run on the learner's files; the rest is listed."""
    right = static.check(key, exercises.solution(key))
    assert right.passed and "replay mode has no Docker engine" in right.items[-1].text, str(right)
    if key == "hw1":
        wrong = static.check(key, folder_for(key, "wrong-host-modules"))
        assert "the Dockerfile never installs the dependencies" in wrong.messages()
    if key == "hw3":
        wrong = static.check(key, folder_for(key, "wrong-host-binary"))
        assert "one stage and compiles nothing" in wrong.messages()


def test_feedback_counts_renders_and_escapes() -> None:
    feedback = Feedback("HW9 · test", "homework/x")
    assert not feedback.passed, "nothing checked is not a pass"
    feedback.ok("it builds")
    feedback.tip("(bonus) it runs as root (uid 0)", "add USER")
    assert feedback.passed and feedback.verdict() == "passed: all 1 checks"
    feedback.fail("GET / answered <html>", "fix it", detail="line 1\nline 2")
    feedback.skip("the pull")
    assert not feedback.passed
    assert [i.status for i in feedback.items] == [PASS, TIP, FAIL, SKIP]
    text = str(feedback)
    assert text.splitlines()[0] == "HW9 · test (homework/x): not yet: 1 of 2 checks failed"
    assert "✔ it builds" in text and "✘ GET / answered <html>" in text and "    → fix it" in text
    assert "☆ (bonus)" in text and "· not checked: the pull" in text
    assert "&lt;html&gt;" in feedback._repr_html_()
    assert "line 2" in feedback.messages()


def test_parse_proc_net_tcp() -> None:
    text = (
        "  sl  local_address rem_address   st tx_queue\n"
        "   0: 00000000:0BB8 00000000:0000 0A 00000000:00000000\n"
        "   1: 0100007F:1F90 00000000:0000 0A 00000000:00000000\n"
        "   2: 0100007F:1F91 0100007F:D431 01 00000000:00000000\n"
        "   0: 00000000000000000000000000000000:1F92 00000000000000000000000000000000:0000 0A 0\n"
    )
    assert probe.parse_proc_net_tcp(text) == {(probe.ANY, 3000), (probe.LOOPBACK, 8080), (probe.ANY, 8082)}


def test_short_start_error_keeps_the_useful_part() -> None:
    text = (
        "failed to create task for container: failed to create shim task: OCI runtime create failed: "
        'runc create failed: unable to start container process: exec: "Ana": executable file not found '
        "in $PATH: unknown"
    )
    assert homework.short_start_error(text) == 'exec: "Ana": executable file not found in $PATH'


def test_hw4_answers_are_matched_never_run() -> None:
    assert hw4_push._ANSWER.fullmatch("127.0.0.1:5123/homework/hello@sha256:" + "a" * 64)
    assert hw4_push._ANSWER.fullmatch("sha256:" + "b" * 64)
    for text in ("$(rm -rf /)", "sha256:" + "a" * 63, "homework/hello:1.0", "x@sha256:" + "a" * 64 + ";ls"):
        assert not hw4_push._ANSWER.fullmatch(text), text


def test_greeter_diagnosis_tells_the_forms_apart() -> None:
    shell = ["/bin/sh", "-c"]
    cases = {
        "ignores the arguments": ([*shell, "greet world"], None),
        "with CMD only": (None, [*shell, "greet world"]),
        "CMD is in shell form": (["greet"], [*shell, "world"]),
        "default name is part of the ENTRYPOINT": (["greet", "world"], None),
        "nothing supplies a default": (["greet"], None),
    }
    for words, (entry, command) in cases.items():
        assert words in hw5_greeter.greeter_diagnosis(entry, command, True)[0], words


def test_quiz_says_right_wrong_or_pick_one() -> None:
    options = ["COPY", "ADD"]
    assert verdict(options, 1, "ADD extracts.", None) == (None, "Pick an answer first.")
    assert verdict(options, 1, "ADD extracts.", 1) == (True, "✔ Right. ADD extracts.")
    right, text = verdict(options, 1, "ADD extracts.", 0)
    assert right is False and "“ADD”" in text
    widget = quiz("Which one extracts archives?", options, 1, "ADD extracts.")
    assert widget.check() == "Pick an answer first."
    widget.radio.value = 1
    assert widget.check().startswith("✔ Right.")
    with pytest.raises(ValueError):
        quiz("?", options, 2, "")


# -- with an engine: the checkers for real ------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def remove_check_images() -> Iterator[None]:
    yield
    if not wb.engine.available():
        return
    client = wb.client()
    for image in client.api.images():  # one call: no race with images deleted meanwhile
        for tag in image.get("RepoTags") or []:
            if any(tag.startswith(wb.image_name(f"{key}-check", "x").rsplit(":", 1)[0]) for key in HOMEWORK_KEYS):
                with contextlib.suppress(APIError):
                    client.images.remove(tag)


@pytest.mark.engine
@pytest.mark.parametrize("key", HOMEWORK_KEYS)
def test_the_reference_solution_passes(key: str) -> None:
    feedback = check(key, "solution")
    assert feedback.passed, str(feedback)
    assert not [i for i in feedback.items if i.status in (FAIL, SKIP)], str(feedback)
    assert len(feedback.checks) >= 3, "a pass says what was checked"


@pytest.mark.engine
@pytest.mark.parametrize(("key", "which"), sorted(EXPECTED))
def test_a_wrong_answer_fails_with_the_expected_message(key: str, which: str) -> None:
    feedback = check(key, which)
    assert not feedback.passed, str(feedback)
    messages = feedback.messages()
    for expected in EXPECTED[(key, which)]:
        assert expected in messages, f"{expected!r} missing from:\n{feedback}"
    assert all(item.hint for item in feedback.failures), "every failure carries a hint"


@pytest.mark.engine
@pytest.mark.parametrize(("key", "which"), sorted(RIGHT))
def test_a_right_answer_written_differently_passes(key: str, which: str) -> None:
    feedback = check(key, which)
    assert feedback.passed, str(feedback)
    tips = [item.text for item in feedback.items if item.status == TIP]
    assert tips == list(RIGHT[(key, which)]), str(feedback)


@pytest.mark.engine
def test_hw2_leaves_the_learners_folder_untouched() -> None:
    folder = exercises.solution("hw2")
    before = sorted(p.relative_to(folder) for p in folder.rglob("*"))
    feedback = exercises.check_hw2(folder)
    assert feedback.passed, str(feedback)
    assert sorted(p.relative_to(folder) for p in folder.rglob("*")) == before, "no clutter in the learner's folder"


@pytest.mark.engine
def test_hw4_a_full_digest_reference_answer_passes_and_a_wrong_one_fails() -> None:
    exercises.start_hw4()
    try:
        reference = exercises.push_reference_hw4()
        task = hw4_push.running()
        assert task is not None and reference.startswith(f"{task.registry.host}/homework/hello@sha256:")
        feedback = exercises.check_hw4(reference)
        assert feedback.passed, str(feedback)
        assert "names exactly what the registry stores" in feedback.messages()
        wrong = exercises.check_hw4(f"{task.registry.host}/homework/hello@sha256:{'0' * 64}")
        assert not wrong.passed and "is not what the registry stores under homework/hello:1.0" in wrong.messages()
        assert "is not a digest reference" in exercises.check_hw4("$(docker push)").messages()
    finally:
        exercises.stop_hw4()
    assert hw4_push.running() is None


@pytest.mark.engine
def test_hw4_passes_when_the_push_sends_one_platform_of_a_local_index() -> None:
    """containerd store: a local index whose other platforms are absent (a base pulled for one
    platform) is pushed as the present platform's manifest alone, so the tag's digest is not the
    local image id; the checker compares this platform's manifest. (Classic store: one image.)"""
    native = wb.engine.native_platform()
    other = "linux/arm64" if native != "linux/arm64" else "linux/amd64"
    app = wb.make_app("hw4-partial", {"Dockerfile": "FROM scratch\nCOPY hello.txt /\n", "hello.txt": "hello\n"})
    partial = wb.image_name("hw4-partial", "index")
    with LocalRegistry() as registry:
        registry.login()
        sources = []
        for platform in (native, other):
            arch = platform.split("/")[1]
            built = wb.build(app, tag=wb.image_name("hw4-partial", arch), platform=platform, quiet=True)
            sources.append(f"{registry.host}/src@{registry.push(built.ref, 'src', arch)}")
            wb.client().images.remove(built.ref, force=True)
        registry.join_platforms("src", "both", sources)
        for tag in ("both", *(p.split("/")[1] for p in (native, other))):
            with contextlib.suppress(APIError):
                wb.client().images.remove(registry.ref("src", tag))
        wb.images.get(registry.pull("src", "both", platform=native)).tag(partial)
    exercises.start_hw4(image=partial)
    try:
        terminal(exercises.SOLUTIONS / "hw4/push.sh")
        feedback = exercises.check_hw4()
        assert feedback.passed, str(feedback)
    finally:
        exercises.stop_hw4()
        with contextlib.suppress(APIError):
            wb.client().images.remove(partial, force=True)
