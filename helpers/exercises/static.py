"""The checks of a homework that need no engine, for replay mode (Binder, no Docker): the
Dockerfile's structure as each checker reads it, and hadolint's lint, run for real on the
learner's files. The build, the image and the container are listed as not checked here."""

from __future__ import annotations

from pathlib import Path

from helpers.analysis import buildcontext, lint
from helpers.errors import WorkbookError
from helpers.exercises import hw1_node_app, hw2_dockerignore, hw3_go_multistage, hw5_greeter
from helpers.exercises.checks import Check, Step, read_dockerfile, run_steps, start
from helpers.exercises.feedback import Feedback

ELSEWHERE = (
    "{what}, here (replay mode has no Docker engine: run the check on a machine with Docker, or in a GitHub "
    "Codespace, for the full checks)"
)
LEVELS = ("error", "warning")  # hadolint's findings shown as tips; info and style are left out

STRUCTURE: dict[str, tuple[Step, ...]] = {
    "hw1": (hw1_node_app.STEPS[0], hw1_node_app.pinned_base, hw1_node_app.installs_from_lockfile),
    "hw3": (hw3_go_multistage.STEPS[0], hw3_go_multistage.multi_stage),
    "hw5": (hw5_greeter.STEPS[0], hw5_greeter.forms),
}
ENGINE_PART = {
    "hw1": "the build, the running container and the build cache",
    "hw2": "the build context as Docker sends it, the image's contents and the running container",
    "hw3": "the build, the final image's size and contents, and the running container",
    "hw5": "the build and the two docker run commands",
}


def _lint(check: Check) -> bool:
    path = check.folder / "Dockerfile"
    if not path.is_file():
        return True
    try:
        findings = lint.dockerfile(path)
    except WorkbookError:
        return True  # no hadolint here: the structure checks stand alone
    shown = findings[findings["level"].isin(LEVELS)]
    for row in shown.itertuples():
        check.feedback.tip(f"hadolint {row.rule} (line {row.line}): {row.message}", f"see {row.link}")
    if shown.empty:
        check.feedback.ok("hadolint finds no error and no warning in the Dockerfile")
    return True


def _ignore_file(check: Check) -> bool:
    """HW2 without an engine: which of the planted clutter the ignore file's patterns leave out."""
    used = hw2_dockerignore.ignore_file(check.folder)
    if used is None:
        check.feedback.fail(
            "there is no .dockerignore (nor Dockerfile.dockerignore): the whole folder is sent to the engine",
            "create a file called .dockerignore next to the Dockerfile, one pattern per line: node_modules, .git, .env",
        )
        return False
    text = used.read_text(errors="replace")[:100_000]
    for path in (*hw2_dockerignore.CLUTTER_PATHS, "server.js", "package.json", "package-lock.json"):
        left_out = buildcontext.excluded(path, text)
        needed = "/" not in path and not path.startswith(".")
        if needed and left_out:
            check.feedback.fail(f"{used.name} leaves out {path}, which the Dockerfile needs", "remove that pattern")
        elif not needed and not left_out:
            check.feedback.fail(f"{used.name} lets {path} into the build context", f"add a pattern for {path}")
    if not check.feedback.failures:
        check.feedback.ok(f"{used.name} leaves out node_modules, .git and .env, and keeps the app's files")
    return True


def check(key: str, work: str | Path | None) -> Feedback:
    """What can be checked with no engine, run for real on `work`."""
    started = start(key, work)
    if isinstance(started, Feedback):
        return started
    started.feedback.task += " (the checks that need no engine)"
    if key == "hw2":
        steps: tuple[Step, ...] = (Step((), _ignore_file),)
    else:
        steps = (*STRUCTURE.get(key, (read_dockerfile("", bases=True),)), Step((), _lint))
    feedback = run_steps(started, steps)
    feedback.skip(ELSEWHERE.format(what=ENGINE_PART[key]))
    return feedback


__all__ = ["ELSEWHERE", "check"]
