"""The five homework checkers. Each builds and runs the learner's work for real and returns a
Feedback: ✔ for what holds, ✘ with one specific hint for what does not. A checker never raises
for a mistake in the homework; it reports it.

Each checker's steps live in its own module (hw1_node_app ... hw5_greeter), the skeleton they
share in `checks`; the tasks, starter folders and reference solutions in `assignments`.
Checkers never write into the learner's folder: they check a fresh copy of it under
.workbook/work/<learner>/checks/.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from helpers.exercises import hw1_node_app, hw2_dockerignore, hw3_go_multistage, hw4_push, hw5_greeter
from helpers.exercises.assignments import HOMEWORK, HOMEWORK_DIR, SOLUTIONS, Homework, solution, variant, variants
from helpers.exercises.checks import short_start_error
from helpers.exercises.feedback import Feedback
from helpers.exercises.hw2_dockerignore import add_developer_clutter, context_files
from helpers.exercises.hw4_push import PushFunction
from helpers.replay import replayable

FIXTURES = SOLUTIONS  # the reference solutions, helpers/exercises/solutions/hwN/ (package data)


@replayable
def check_hw1(work: str | Path | None = None) -> Feedback:
    """HW1: the Dockerfile in `work` (default homework/hw1-node-app) builds on a pinned catalog
    base, and the container, run detached with a port mapping, answers on port 3000."""
    return hw1_node_app.check(work)


@replayable
def check_hw2(work: str | Path | None = None) -> Feedback:
    """HW2: with a developer's clutter added (host node_modules, .git, .env), the folder's
    .dockerignore keeps them out of the build context and out of the image, and the app works."""
    return hw2_dockerignore.check(work)


@replayable
def check_hw3(work: str | Path | None = None) -> Feedback:
    """HW3: a multi-stage build whose final image is at most 25 MB, holds no Go toolchain and
    still answers on port 8080."""
    return hw3_go_multistage.check(work)


@replayable
def check_hw4(work: str | Path | PushFunction | None = None, *, image: str | None = None) -> Feedback:
    """HW4: start a private registry that needs a login, call the learner's push(registry, image),
    then pull what it returned by digest and compare it with `image`.

    The comparison is by platform digest (helpers.images.platform_digest), the same on both
    image stores: on the classic store the image id; on the containerd store the digest of
    the engine's platform's manifest. Image ids alone would not do there: a local image is an
    index, and a push sends only the part of it that is present (a base pulled for one
    platform pushes as that platform's manifest), so a correct push can come back under
    another id.

    `work` is the folder with push.py (default homework/hw4-push), or a push function itself.
    `image` is the image to push; by default the one the folder's Dockerfile builds."""
    return hw4_push.check(work, image=image)


@replayable
def check_hw5(work: str | Path | None = None) -> Feedback:
    """HW5: `docker run IMAGE` greets the world, `docker run IMAGE Ana` greets Ana: an exec-form
    ENTRYPOINT with the default name as CMD."""
    return hw5_greeter.check(work)


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
    "short_start_error",
    "solution",
    "variant",
    "variants",
]
