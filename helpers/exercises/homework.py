"""The five homework checkers. Each builds and runs the learner's work for real and returns a
Feedback: ✔ for what holds, ✘ with one specific hint for what does not. A checker never raises
for a mistake in the homework; it reports it.

Each checker's steps live in its own module (hw1_node_app ... hw5_greeter), the skeleton they
share in `checks`; the tasks, starter folders and reference solutions in `assignments`.
Checkers never write into the learner's folder: they check a fresh copy of it under
.workbook/work/<learner>/checks/.

Replay mode (no engine): a check of a folder the recording holds (a reference solution) gives
the recorded answer; any other folder gets the checks that need no engine, run for real (the
Dockerfile's structure and hadolint's lint), and the engine's checks listed as not checked here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from helpers.exercises import hw1_node_app, hw2_dockerignore, hw3_go_multistage, hw4_push, hw5_greeter, static
from helpers.exercises.assignments import HOMEWORK, HOMEWORK_DIR, SOLUTIONS, Homework, solution, variant, variants
from helpers.exercises.checks import short_start_error
from helpers.exercises.feedback import Feedback
from helpers.exercises.hw2_dockerignore import add_developer_clutter, context_files
from helpers.replay import REPLAY, SESSION, replayable
from helpers.replay.session import call_key

FIXTURES = SOLUTIONS  # the reference solutions, helpers/exercises/solutions/hwN/ (package data)


def _answer(name: str, real: Callable[..., Feedback], key: str, *args: Any) -> Feedback:
    """Live and record: the real check. Replay: the recorded answer for exactly these arguments
    (same folder contents), else the checks that need no engine, run for real."""
    if SESSION.mode != REPLAY:
        return SESSION.call(name, real, args, {})  # type: ignore[no-any-return]
    recording = SESSION.recording
    if recording is not None and recording.calls.get(call_key(name, args, {})):
        return SESSION.call(name, real, args, {})  # type: ignore[no-any-return]
    return static.check(key, args[0] if args else None)


def check_hw1(work: str | Path | None = None) -> Feedback:
    """HW1: the Dockerfile in `work` (default homework/hw1-node-app), built from the sources and
    the lockfile alone, installs the dependencies in the image (npm ci), reuses the cached install
    when server.js changes (measured), and the container, run detached with a port mapping,
    answers on port 3000."""
    return _answer("homework.check_hw1", hw1_node_app.check, "hw1", work)


def check_hw2(work: str | Path | None = None) -> Feedback:
    """HW2: with a developer's clutter added (host node_modules, .git, .env), the folder's
    .dockerignore (or Dockerfile.dockerignore) keeps them out of the build context and out of the
    image, and the app works."""
    return _answer("homework.check_hw2", hw2_dockerignore.check, "hw2", work)


def check_hw3(work: str | Path | None = None) -> Feedback:
    """HW3: built from the Go sources alone, a multi-stage build that compiles in a build stage;
    the final image is at most 25 MB, holds no Go toolchain and still answers on port 8080."""
    return _answer("homework.check_hw3", hw3_go_multistage.check, "hw3", work)


@replayable
def start_hw4(work: str | Path | None = None, *, image: str | None = None) -> Feedback:
    """HW4, step 1: build the image of `work` (default homework/hw4-push) or take `image`, start a
    private registry that needs a login, and make a DOCKER_CONFIG of the workbook's own. The answer
    lists the registry's address, the credentials and the exact environment for a terminal."""
    return hw4_push.start(work, image=image)


@replayable
def check_hw4(answer: str | None = None) -> Feedback:
    """HW4, step 2 (after docker login, tag and push in a terminal): the registry refuses anonymous
    access, the login is in the workbook's DOCKER_CONFIG, homework/hello:1.0 is there and is the
    local image. `answer`: the digest reference docker push printed (optional), e.g.
    127.0.0.1:5123/homework/hello@sha256:…. Reads the registry only: nothing you typed is run."""
    return hw4_push.check(answer)


@replayable
def stop_hw4() -> None:
    """Remove the HW4 registry and its DOCKER_CONFIG."""
    hw4_push.stop()


@replayable
def push_reference_hw4() -> str:
    """Run the HW4 reference solution (docker login, tag, push) in the task's environment; return
    the digest reference docker push printed."""
    return hw4_push.push_reference()


def check_hw5(work: str | Path | None = None) -> Feedback:
    """HW5: `docker run IMAGE` greets the world, `docker run IMAGE Ana` greets Ana: an exec-form
    ENTRYPOINT with the default name as CMD."""
    return _answer("homework.check_hw5", hw5_greeter.check, "hw5", work)


CHECKERS: dict[str, Callable[..., Feedback]] = {
    "hw1": check_hw1,
    "hw2": check_hw2,
    "hw3": check_hw3,
    "hw4": check_hw4,
    "hw5": check_hw5,
}

__all__ = [
    "CHECKERS",
    "FIXTURES",
    "HOMEWORK",
    "HOMEWORK_DIR",
    "SOLUTIONS",
    "Homework",
    "add_developer_clutter",
    "check_hw1",
    "check_hw2",
    "check_hw3",
    "check_hw4",
    "check_hw5",
    "context_files",
    "push_reference_hw4",
    "short_start_error",
    "solution",
    "start_hw4",
    "stop_hw4",
    "variant",
    "variants",
]
