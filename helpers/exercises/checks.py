"""What every homework checker shares: a checker is a list of steps run in order on a fresh copy
of the learner's folder; when a step reports a failure that the later steps depend on, each
later step is listed as "not checked". Also the common steps: read the Dockerfile, check its
bases, build, and probe a running server.

Checkers never write into the learner's folder: they check a copy of it under
.workbook/work/<learner>/checks/. A task whose point is building from the sources (HW1, HW3)
checks a copy that holds only the sources and the lockfile, so nothing installed or compiled
on the learner's machine can reach the image.
"""

from __future__ import annotations

import fnmatch
import re
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from docker.errors import APIError

from helpers.engine import daemon
from helpers.engine.build import BuildResult, build
from helpers.errors import BuildFailed, WorkbookError
from helpers.exercises import dockerfile, probe
from helpers.exercises.assignments import HOMEWORK
from helpers.exercises.feedback import Feedback
from helpers.labels import image_name, learner
from helpers.paths import ROOT, STATE


@dataclass
class Check:
    """One checker's run: the feedback it writes, the copy it checks, and what earlier steps found."""

    key: str
    feedback: Feedback
    folder: Path
    instructions: list[dockerfile.Instruction] | None = None
    result: BuildResult | None = None
    sources: tuple[str, ...] = ()  # the patterns the copy keeps (empty: the whole folder)
    left_out: tuple[str, ...] = ()  # what the learner's folder holds that the sources-only copy leaves out
    left_out_hint: str = ""  # what to do when the build needs something left out

    def tag(self, suffix: str = "") -> str:
        """The image name this check builds under, e.g. wb-ana/hw1-check:hw1-solution."""
        name = re.sub(r"[^a-z0-9_.-]+", "-", self.folder.name.lower()).strip("-.") or "work"
        return image_name(f"{self.key}{suffix}-check", name)

    @property
    def built(self) -> BuildResult:
        """The image the build step made (only read by steps that run after it)."""
        if self.result is None:
            raise WorkbookError("A check step needs the image, but no build step ran before it")
        return self.result


@dataclass(frozen=True)
class Step:
    """A step of a checker: `run` adds its ✔/✘ lines and returns False when the later steps
    cannot be checked. `what` names what the step checks, as listed when it is not reached."""

    what: tuple[str, ...]
    run: Callable[[Check], bool]


def step(*what: str) -> Callable[[Callable[[Check], bool]], Step]:
    """Decorator: `@step("the build")` turns a function of a Check into a Step."""
    return lambda run: Step(what, run)


def run_steps(check: Check, steps: Sequence[Step]) -> Feedback:
    """Run `steps` in order; after the first that returns False, list the rest as not checked."""
    for index, current in enumerate(steps):
        if not current.run(check):
            check.feedback.skip(*(what for later in steps[index + 1 :] for what in later.what))
            break
    return check.feedback


def start(
    key: str, work: str | Path | None, sources: tuple[str, ...] = (), left_out_hint: str = ""
) -> Check | Feedback:
    """A Check on a fresh copy of `work` (default: the starter folder), or the Feedback saying
    there is no such folder. With `sources` (glob patterns of relative paths), the copy holds
    only the files they match and the Dockerfile with its ignore files."""
    homework = HOMEWORK[key]
    folder = _resolve(work, homework.starter)
    feedback = Feedback(homework.title, _shown(folder))
    if not folder.is_dir():
        feedback.fail(
            f"there is no folder {folder}", f"pass the path of your work folder, e.g. homework/{homework.folder}"
        )
        return feedback
    copy, left_out = _snapshot(folder, sources)
    return Check(key, feedback, copy, sources=sources, left_out=left_out, left_out_hint=left_out_hint)


def check_folder(
    key: str, work: str | Path | None, steps: Sequence[Step], sources: tuple[str, ...] = (), left_out_hint: str = ""
) -> Feedback:
    """The whole skeleton of a checker: copy the folder, run the steps, return the feedback."""
    check = start(key, work, sources, left_out_hint)
    return check if isinstance(check, Feedback) else run_steps(check, steps)


def _resolve(work: str | Path | None, starter: Path) -> Path:
    if work is None:
        return starter
    path = Path(work)
    if not path.is_absolute() and not path.exists() and (ROOT / path).exists():
        path = ROOT / path  # "homework/hw1-node-app" works from notebooks/ too
    return path.resolve()


def _shown(folder: Path) -> str:
    try:
        return str(folder.relative_to(ROOT))
    except ValueError:
        return folder.name


BUILD_FILES = ("Dockerfile", "Dockerfile.dockerignore", ".dockerignore")  # always part of a sources-only copy
NEVER_SOURCES = ("node_modules", ".git")  # folders a sources-only copy never descends into
QUIET = ("README.md",)  # left out of a sources-only copy without saying so


def _snapshot(folder: Path, sources: tuple[str, ...] = ()) -> tuple[Path, tuple[str, ...]]:
    """The copy to check, and the top-level names of `folder` it leaves out (sources-only copy)."""
    destination = STATE / "work" / learner() / "checks" / folder.name
    if destination.exists():
        shutil.rmtree(destination)
    if not sources:
        shutil.copytree(folder, destination, symlinks=True)
        return destination, ()
    destination.mkdir(parents=True)
    kept: set[str] = set()
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if relative.parts[0] in NEVER_SOURCES or (path.is_dir() and not path.is_symlink()):
            continue
        name = relative.as_posix()
        if name in BUILD_FILES or any(fnmatch.fnmatchcase(name, pattern) for pattern in sources):
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target, follow_symlinks=False)
            kept.add(relative.parts[0])
    left_out = sorted(
        p.name + ("/" if p.is_dir() else "") for p in folder.iterdir() if p.name not in kept and p.name not in QUIET
    )
    return destination, tuple(left_out)


# -- common steps -------------------------------------------------------------------------


def read_dockerfile(first_step: str, *, bases: bool) -> Step:
    """The first step of a Dockerfile task: the Dockerfile exists and has instructions (and,
    with `bases`, every FROM names a pinned base). `first_step` is the hint for an
    empty or missing Dockerfile."""

    def run(check: Check) -> bool:
        path = check.folder / "Dockerfile"
        if not path.is_file():
            check.feedback.fail(f"there is no Dockerfile in {check.feedback.folder}", f"create one; {first_step}")
            return False
        check.instructions = dockerfile.read(path)
        if not check.instructions:
            check.feedback.fail("the Dockerfile has no instructions yet, only comments", first_step)
            return False
        return check_bases(check) if bases else True

    return Step((), run)


def check_bases(check: Check) -> bool:
    """✘ for every FROM that is not pinned (no tag, or latest)."""
    problems = dockerfile.base_problems(dockerfile.stages(check.instructions or []))
    for problem in problems:
        check.feedback.fail(problem.text, problem.hint)
    return not problems


def build_image(check: Check, tag: str, dockerfile_name: str = "Dockerfile") -> bool:
    """Build the copy: ✔ with the image's size, or ✘ with where and why the build failed."""
    feedback = check.feedback
    try:
        check.result = build(check.folder, dockerfile_name, tag=tag, quiet=True)
    except BuildFailed as error:
        if _base_unavailable(check, error) or _needs_left_out(check, error):
            return False
        where = f" at line {error.line}" if error.line else ""
        shown_step = f" (`{error.step[:70]}`)" if error.step else ""
        code = f", exit code {error.exit_code}" if error.exit_code is not None else ""
        tail = "\n".join(error.log_tail.splitlines()[-8:])
        feedback.fail(f"the build failed{where}{shown_step}{code}", error.hint, detail=f"last log lines:\n{tail}")
        return False
    except WorkbookError as error:
        feedback.fail(f"the build could not run: {error.what}", error.hint or "read the message")
        return False
    feedback.ok(f"the image builds: {check.result.ref} ({check.result.size_mb:.1f} MB)")
    return True


BASE_MISSING = ("failed to resolve source metadata", "pull access denied", "no such host", "not on this engine")


def _present(ref: str) -> bool:
    try:
        daemon.client().images.get(ref)
    except (APIError, WorkbookError):  # NotFound is an APIError
        return False
    return True


def _base_unavailable(check: Check, error: BuildFailed) -> bool:
    """✘ "cannot be built here" for each base this machine neither has nor can pull, when the
    build stopped at a FROM: a pinned base is not wrong for being outside the catalog. (BuildKit
    resolves the bases in parallel and names whichever failed first: all are listed.)"""
    found = dockerfile.stages(check.instructions or [])
    text = f"{error.hint}\n{error.log_tail}".lower()
    if not any(s.line == error.line for s in found) or not any(marker in text for marker in BASE_MISSING):
        return False
    missing = [s for s in found if not s.from_stage and "$" not in s.base and s.base != "scratch"]
    missing = [s for s in missing if not _present(s.base)]
    for stage in missing:
        check.feedback.fail(
            f"FROM {stage.base} (line {stage.line}) cannot be built here: this machine has no copy of it and no "
            "registry answers to pull it. That is not a mistake in your Dockerfile (the tag is pinned): a machine "
            "that reaches its registry builds it",
            f"to check it here, use a base this machine has ({dockerfile.suggestion(stage.base)}), or run the check "
            "on a machine with Docker and internet access (e.g. Codespaces)",
        )
    return bool(missing)


def _needs_left_out(check: Check, error: BuildFailed) -> bool:
    """✘ with the task's own hint when a COPY/ADD that failed names what the sources-only copy left out."""
    words = error.step.split()
    if not check.left_out or not words or words[0].upper() not in ("COPY", "ADD"):
        return False
    named = [name for name in check.left_out if name.rstrip("/") in {w.strip("./").rstrip("/") for w in words[1:]}]
    if not named:
        return False
    kept = ", ".join(check.sources) or "the sources"
    check.feedback.fail(
        f"the build failed at line {error.line} (`{error.step[:70]}`): {named[0]} is on your machine, but not "
        f"among the sources the check builds from ({kept}, and the Dockerfile)",
        check.left_out_hint or "build it inside the image from the sources",
    )
    return True


def left_out_note(check: Check) -> str:
    """ "node_modules/, hello": what the sources-only copy left out, for a failure's text."""
    return ", ".join(check.left_out)


# -- a running server ---------------------------------------------------------------------

LOG_HINTS: tuple[tuple[str, str], ...] = (
    (
        "Cannot find module 'express'",
        "express is not installed in the image: COPY package.json and package-lock.json, then RUN npm ci, "
        "before the CMD starts the server",
    ),
    ("Cannot find module", "the file the CMD starts is not in the image: COPY server.js into the WORKDIR"),
    ("exec format error", "the program was built for another CPU architecture than the engine's"),
    ("permission denied", "the program is not executable in the image: make it executable (chmod +x, or COPY --chmod)"),
    ("address already in use", "two processes want the same port inside the container: start only one"),
)
STOPPED_HINT = "read the log lines: they say why it stopped"


def short_start_error(text: str) -> str:
    """The useful part of an engine's "could not start" message, e.g.
    `exec: "Ana": executable file not found in $PATH`."""
    found = re.search(r'exec: "[^"]*": [^:]+', text)
    return found.group(0).strip() if found else text.strip().splitlines()[-1][-200:]


def log_hint(logs: str, fallback: str = STOPPED_HINT) -> str:
    """The hint for the first known mistake the log lines show, else `fallback`."""
    for needle, hint in LOG_HINTS:
        if needle.lower() in logs.lower():
            return hint
    return fallback


def check_serving(
    feedback: Feedback,
    served: probe.Served,
    expected: str,
    wrong_port_hint: str,
    exit_hint: Callable[[probe.Served], str] | None = None,
) -> bool:
    """✔/✘ for: it starts, it answers on its port, and GET / says `expected`."""
    port = served.port
    if served.start_error:
        feedback.fail(
            f"the container could not start: {short_start_error(served.start_error)}",
            "the program in CMD/ENTRYPOINT is not in the image, or not where the Dockerfile says: check the path",
        )
        return False
    if served.exit_code is not None:
        hint = exit_hint(served) if exit_hint else log_hint(served.logs)
        feedback.fail(
            f"the container does not answer on port {port}: it exited with code {served.exit_code}",
            hint,
            detail=f"last log lines:\n{served.last_logs()}",
        )
        return False
    if not served.answered:
        ports = served.ports or set()
        if (probe.LOOPBACK, port) in ports:
            feedback.fail(
                f"the container does not answer on port {port}: the app listens on 127.0.0.1 inside the container, "
                "which only the container itself can reach",
                "listen on 0.0.0.0 (all addresses) inside a container",
            )
        elif ports:
            feedback.fail(
                f"the container does not answer on port {port}: inside the container the app listens on "
                f"{probe.describe_ports(ports)}",
                wrong_port_hint,
                detail=f"last log lines:\n{served.last_logs()}",
            )
        else:
            feedback.fail(
                f"the container does not answer on port {port} within {served.seconds:.0f} s, and listens on no port",
                "check that the CMD starts the server (read the log lines)",
                detail=f"last log lines:\n{served.last_logs()}",
            )
        return False
    feedback.ok(f"it runs detached with a port mapping (docker run -d -p HOST:{port}) and answers on port {port}")
    if served.status == 200 and expected in served.body:
        feedback.ok(f"GET / answers {expected!r}")
        return True
    body = served.body.strip().splitlines()[0][:100] if served.body.strip() else ""
    feedback.fail(
        f"GET / answered HTTP {served.status} {body!r}, not {expected!r}",
        "the server in the image is not the app in the folder: COPY the app's source and start it",
    )
    return False


def check_user(feedback: Feedback, served: probe.Served, hint: str) -> None:
    """(bonus) ☆ when the server runs as root, ✔ when it does not."""
    if not served.uids:
        return
    if "0" in served.uids:
        feedback.tip("(bonus) it runs as root (uid 0)", hint)
    else:
        feedback.ok(f"(bonus) it runs as uid {', '.join(sorted(served.uids))}, not as root")


def size_under(files: dict[str, int], top: str) -> int:
    """The bytes of `top` and everything under it, from a path -> size listing."""
    return sum(size for path, size in files.items() if path == top or path.startswith(top + "/"))


__all__ = [
    "LOG_HINTS",
    "Check",
    "Step",
    "build_image",
    "check_bases",
    "check_folder",
    "check_serving",
    "check_user",
    "left_out_note",
    "log_hint",
    "read_dockerfile",
    "run_steps",
    "short_start_error",
    "size_under",
    "start",
    "step",
]
