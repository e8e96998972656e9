"""What every homework checker shares: a checker is a list of steps run in order on a fresh copy
of the learner's folder; when a step reports a failure that the later steps depend on, each
later step is listed as "not checked". Also the common steps: read the Dockerfile, check its
bases, build, and probe a running server.

Checkers never write into the learner's folder: they check a copy of it under
.workbook/work/<learner>/checks/.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

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


def start(key: str, work: str | Path | None) -> Check | Feedback:
    """A Check on a fresh copy of `work` (default: the starter folder), or the Feedback saying
    there is no such folder."""
    homework = HOMEWORK[key]
    folder = _resolve(work, homework.starter)
    feedback = Feedback(homework.title, _shown(folder))
    if not folder.is_dir():
        feedback.fail(
            f"there is no folder {folder}", f"pass the path of your work folder, e.g. homework/{homework.folder}"
        )
        return feedback
    return Check(key, feedback, _snapshot(folder))


def check_folder(key: str, work: str | Path | None, steps: Sequence[Step]) -> Feedback:
    """The whole skeleton of a checker: copy the folder, run the steps, return the feedback."""
    check = start(key, work)
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


def _snapshot(folder: Path) -> Path:
    destination = STATE / "work" / learner() / "checks" / folder.name
    if destination.exists():
        shutil.rmtree(destination)
    shutil.copytree(folder, destination, symlinks=True)
    return destination


# -- common steps -------------------------------------------------------------------------


def read_dockerfile(first_step: str, *, bases: bool) -> Step:
    """The first step of a Dockerfile task: the Dockerfile exists and has instructions (and,
    with `bases`, every FROM names a pinned catalog base). `first_step` is the hint for an
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
    """✘ for every FROM that is unpinned or not in the catalog."""
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
    "log_hint",
    "read_dockerfile",
    "run_steps",
    "short_start_error",
    "size_under",
    "start",
    "step",
]
