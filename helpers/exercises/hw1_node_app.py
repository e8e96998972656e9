"""HW1 · a Dockerfile for a Node.js app: it builds on a pinned base from the sources and the
lockfile alone (node_modules installed on the learner's machine never reaches the image),
installs the dependencies inside the image from the lockfile, orders its instructions so that
a change to server.js reuses the cached install (measured by a rebuild), and the container,
run detached with a port mapping, answers on port 3000."""

from __future__ import annotations

import contextlib
import fnmatch
import re
import secrets
from pathlib import Path

from docker.errors import APIError

from helpers.engine import daemon, images
from helpers.engine.build import build
from helpers.errors import WorkbookError
from helpers.exercises import dockerfile, probe
from helpers.exercises.checks import (
    Check,
    build_image,
    check_bases,
    check_folder,
    check_serving,
    check_user,
    log_hint,
    read_dockerfile,
    step,
)
from helpers.exercises.feedback import Feedback

NODE_PORT, NODE_BODY = 3000, "Hello from Node in Docker!"
SOURCES = ("server.js", "package.json", "package-lock.json")  # all the check builds from
INSTALL_HINT = (
    "install the dependencies inside the image from the lockfile: COPY package.json package-lock.json ./, "
    "then RUN npm ci"
)
_NPM = re.compile(r"\bnpm\s+(ci|clean-install|install|i|add)\b([^&;|]*)")


def _install(check: Check) -> tuple[dockerfile.Instruction, str, list[str]] | None:
    """The RUN that installs the dependencies: (instruction, npm command, package names it names)."""
    for instruction in check.instructions or []:
        if instruction.keyword != "RUN":
            continue
        found = _NPM.search(instruction.value)
        if found:
            names = [w for w in found.group(2).split() if not w.startswith("-")]
            return instruction, found.group(1), names
    return None


def _copies_lockfile_before(check: Check, line: int) -> bool:
    for instruction in check.instructions or []:
        if instruction.line >= line or instruction.keyword not in ("COPY", "ADD"):
            continue
        words = [w for w in instruction.value.split() if not w.startswith("--")]
        if any(w.startswith("--from") for w in instruction.value.split()):
            continue
        sources = [w.strip('[]",') for w in words[:-1]]
        if any(s in (".", "./") or fnmatch.fnmatchcase("package-lock.json", s.removeprefix("./")) for s in sources):
            return True
    return False


@step("the base image")
def pinned_base(check: Check) -> bool:
    if not check_bases(check):
        return False
    bases = [s.base for s in dockerfile.stages(check.instructions or []) if not s.from_stage]
    check.feedback.ok(f"FROM {bases[-1]}: a pinned base")
    return True


@step("the dependency install")
def installs_from_lockfile(check: Check) -> bool:
    """Read from the Dockerfile: a RUN npm ci (or npm install) after package-lock.json is copied."""
    feedback, found = check.feedback, _install(check)
    if found is None:
        feedback.fail(
            "the Dockerfile never installs the dependencies (no RUN npm ci): the check builds from server.js, "
            "package.json and package-lock.json only, so no node_modules from your machine can stand in",
            INSTALL_HINT,
        )
        return True
    instruction, command, names = found
    if names:
        feedback.fail(
            f"line {instruction.line} installs {', '.join(names)} by name (npm {command} {' '.join(names)}), "
            "not the versions package-lock.json pins",
            INSTALL_HINT,
        )
    elif not _copies_lockfile_before(check, instruction.line):
        feedback.fail(
            f"npm {command} (line {instruction.line}) runs before package-lock.json is copied into the image, so "
            "it cannot install what the lockfile pins",
            "COPY package.json package-lock.json ./ before that RUN",
        )
    elif command in ("ci", "clean-install"):
        feedback.ok(
            f"RUN npm ci (line {instruction.line}) installs the dependencies inside the image, from the lockfile"
        )
    else:
        feedback.ok(f"RUN npm {command} (line {instruction.line}) installs the dependencies inside the image")
        feedback.tip(
            f"npm {command} works here, but npm ci is the command for images",
            "npm ci installs exactly what package-lock.json pins, and stops when package.json and the lockfile "
            "disagree, instead of updating the lockfile inside the image",
        )
    return True


@step("the build")
def builds(check: Check) -> bool:
    return build_image(check, check.tag())


@step("the running container")
def serves(check: Check) -> bool:
    ref = check.built.ref
    served = probe.serve(ref, NODE_PORT)

    def exit_hint(served: probe.Served) -> str:
        if "cannot find module 'express'" in served.logs.lower() and "node_modules/" in check.left_out:
            return (
                "the node_modules folder in your work folder was installed on your machine: the check builds from the "
                "sources and the lockfile only, so it never reaches the image. "
                + INSTALL_HINT[0].upper()
                + INSTALL_HINT[1:]
            )
        return log_hint(served.logs)

    if check_serving(
        check.feedback,
        served,
        NODE_BODY,
        "server.js listens on $PORT (3000 when unset): remove the ENV PORT that changes it, "
        f"or set ENV PORT={NODE_PORT}",
        exit_hint,
    ):
        check_user(
            check.feedback,
            served,
            "add USER node before the CMD: the official node image ships that unprivileged user",
        )
    if f"{NODE_PORT}/tcp" not in (images.config(ref).get("ExposedPorts") or {}):
        check.feedback.tip(
            f"the image does not EXPOSE {NODE_PORT}",
            f"add EXPOSE {NODE_PORT}: it documents the port for people and tools (`docker run -P` uses it)",
        )
    return True


@step("the build cache after a change to server.js")
def caches_install(check: Check) -> bool:
    """Measured: change server.js, rebuild, and see whether the install step ran again."""
    found = _install(check)
    if found is None or check.result is None:
        return True
    command = f"npm {found[1]}"
    source = check.folder / "server.js"
    source.write_text(source.read_text() + f"\n// edited by the check {secrets.token_hex(6)}\n")
    tag = check.tag("-edit")
    try:
        again = build(check.folder, tag=tag, quiet=True)
    except WorkbookError as error:
        check.feedback.fail(f"the rebuild after a change to server.js failed: {error.what}", error.hint or "read it")
        return True
    finally:
        with contextlib.suppress(APIError, WorkbookError):
            daemon.client().images.remove(tag)
    install = [s for s in again.steps if _NPM.search(s.instruction)]
    if not install:
        return True  # the builder's log names no install step: nothing to measure
    if install[-1].cached:
        check.feedback.ok(f"a change to server.js reuses the cached {command} layer (measured by a rebuild)")
    else:
        check.feedback.fail(
            f"a change to server.js re-ran {command}: copy package*.json first",
            f"COPY package.json package-lock.json ./ and RUN {command} before the COPY of server.js (or COPY . .): "
            "then editing the source reuses the cached install",
        )
    return True


STEPS = (
    read_dockerfile("start with FROM node:24-trixie-slim (README.md lists the steps)", bases=False),
    pinned_base,
    installs_from_lockfile,
    builds,
    serves,
    caches_install,
)


def check(work: str | Path | None = None) -> Feedback:
    return check_folder("hw1", work, STEPS, SOURCES, INSTALL_HINT)
