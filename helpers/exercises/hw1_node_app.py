"""HW1 · a Dockerfile for a Node.js app: it builds on a pinned catalog base, and the container,
run detached with a port mapping, answers on port 3000."""

from __future__ import annotations

from pathlib import Path

from helpers.engine import images
from helpers.exercises import dockerfile, probe
from helpers.exercises.checks import (
    Check,
    build_image,
    check_bases,
    check_folder,
    check_serving,
    check_user,
    read_dockerfile,
    step,
)
from helpers.exercises.feedback import Feedback

NODE_PORT, NODE_BODY = 3000, "Hello from Node in Docker!"


@step("the base image")
def pinned_base(check: Check) -> bool:
    if not check_bases(check):
        return False
    bases = [s.base for s in dockerfile.stages(check.instructions or []) if not s.from_stage]
    check.feedback.ok(f"FROM {bases[-1]}: a pinned base from the catalog")
    return True


@step("the build")
def builds(check: Check) -> bool:
    return build_image(check, check.tag())


@step("the running container")
def serves(check: Check) -> bool:
    ref = check.built.ref
    served = probe.serve(ref, NODE_PORT)
    if check_serving(
        check.feedback,
        served,
        NODE_BODY,
        "server.js listens on $PORT (3000 when unset): remove the ENV PORT that changes it, "
        f"or set ENV PORT={NODE_PORT}",
    ):
        check_user(
            check.feedback,
            served,
            "add USER node before the CMD: the official node image ships that unprivileged user",
        )
    if f"{NODE_PORT}/tcp" not in images.config(ref)["ExposedPorts"]:
        check.feedback.tip(
            f"the image does not EXPOSE {NODE_PORT}",
            f"add EXPOSE {NODE_PORT}: it documents the port for people and tools (`docker run -P` uses it)",
        )
    return True


STEPS = (
    read_dockerfile("start with FROM node:24-trixie-slim (README.md lists the steps)", bases=False),
    pinned_base,
    builds,
    serves,
)


def check(work: str | Path | None = None) -> Feedback:
    return check_folder("hw1", work, STEPS)
