"""HW2 · a .dockerignore: with a developer's clutter added (host node_modules, .git, .env), the
folder's .dockerignore keeps them out of the build context and out of the image, and the app
still works."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

from docker.errors import APIError

from helpers import catalog
from helpers.engine import daemon
from helpers.engine.build import build
from helpers.errors import WorkbookError
from helpers.exercises import probe
from helpers.exercises.checks import Check, build_image, check_serving, run_steps, size_under, start, step
from helpers.exercises.feedback import Feedback
from helpers.exercises.hw1_node_app import NODE_BODY, NODE_PORT

HOST_MARKER = ".built-on-the-host"  # planted in the host's node_modules
SECRET_LINE = "API_TOKEN=hw2-not-a-real-secret"
CLUTTER_PATHS = (
    f"node_modules/{HOST_MARKER}",
    ".git/HEAD",
    ".env",
)  # one of each kind of clutter planted


def add_developer_clutter(folder: Path) -> dict[str, int]:
    """What a developer's working copy holds besides the app: node_modules installed on the
    host (with a 40 MB native add-on), a .git folder and a .env file with a secret."""
    planted = {
        f"node_modules/{HOST_MARKER}": b"installed by `npm install` on the developer's machine\n",
        "node_modules/native-addon/build/Release/addon.node": bytes(40_000_000),
        "node_modules/native-addon/package.json": b'{"name": "native-addon", "version": "1.0.0"}\n',
        ".git/HEAD": b"ref: refs/heads/main\n",
        ".git/config": b"[core]\n\trepositoryformatversion = 0\n",
        ".git/objects/pack/pack-homework.pack": bytes(5_000_000),
        ".env": (SECRET_LINE + "\n").encode(),
    }
    for relative, data in planted.items():
        path = folder / relative
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    return {relative: len(data) for relative, data in planted.items()}


def context_files(folder: Path, tag: str, dockerfile_name: str = "Dockerfile") -> dict[str, int]:
    """Exactly what Docker sends as the build context of `folder` (after .dockerignore):
    relative path -> size. Measured by copying the context into a tiny busybox image."""
    probe_name = "Dockerfile.context-probe"
    (folder / probe_name).write_text(f"FROM {catalog.BUSYBOX}\nCOPY . /context/\n")
    specific = folder / f"{dockerfile_name}.dockerignore"  # BuildKit's per-Dockerfile ignore file
    if specific.is_file():
        shutil.copyfile(specific, folder / f"{probe_name}.dockerignore")
    try:
        result = build(folder, probe_name, tag=tag, quiet=True)
        files = probe.image_files(result.ref)
    finally:
        (folder / probe_name).unlink(missing_ok=True)
        (folder / f"{probe_name}.dockerignore").unlink(missing_ok=True)
        with contextlib.suppress(APIError):
            daemon.client().images.remove(tag, force=True)
    inside = {path.removeprefix("context/"): size for path, size in files.items() if path.startswith("context/")}
    return {path: size for path, size in inside.items() if not path.startswith(probe_name)}


def ignore_file(folder: Path, dockerfile_name: str = "Dockerfile") -> Path | None:
    """The ignore file BuildKit reads for `dockerfile_name`: Dockerfile.dockerignore beside it
    first (a per-Dockerfile ignore file), else .dockerignore at the context's root."""
    for path in (folder / f"{dockerfile_name}.dockerignore", folder / ".dockerignore"):
        if path.is_file():
            return path
    return None


def _ignore_lines(path: Path | None) -> list[str]:
    if path is None:
        return []
    text = path.read_text(errors="replace")[:100_000]
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def _exclude_hint(name: str, lines: list[str]) -> str:
    mentions = [line for line in lines if name.strip("/") in line]
    if mentions:
        return (
            f"your line `{mentions[0]}` does not match it: patterns are paths inside the build context "
            f"folder, so write {name} (not /app/{name})"
        )
    return f"add the line {name} to the ignore file"


@step()
def build_context(check: Check) -> bool:
    """Plant the clutter, measure the build context, and say what .dockerignore kept out."""
    feedback, folder = check.feedback, check.folder
    add_developer_clutter(folder)
    everything = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    used = ignore_file(folder)
    has_file = used is not None
    lines = _ignore_lines(used)
    try:
        context = context_files(folder, check.tag("-context"))
    except WorkbookError as error:
        feedback.fail(f"the build context could not be measured: {error.what}", error.hint or "read the message")
        return False
    sent = sum(context.values())
    if not has_file:
        feedback.fail(
            f"node_modules is in the build context ({size_under(context, 'node_modules') / 1e6:.1f} MB), and so are "
            f".git ({size_under(context, '.git') / 1e6:.1f} MB) and .env (your secrets): there is no .dockerignore, "
            f"so the whole folder ({sent / 1e6:.1f} MB) is sent to the engine",
            "create a file called .dockerignore next to the Dockerfile, one pattern per line: node_modules, .git, .env",
        )
    else:
        assert used is not None
        feedback.ok(f"the builder reads {used.name} for this Dockerfile")
        for name, why in (
            ("node_modules", "modules installed on your machine are sent on every build, and COPY . . copies them"),
            (".git", "your whole history is sent on every build"),
        ):
            size = size_under(context, name)
            if size:
                feedback.fail(
                    f"{name} is in the build context ({size / 1e6:.1f} MB): {why}", _exclude_hint(name, lines)
                )
            else:
                feedback.ok(f"{name} stays out of the build context")
        if ".env" in context:
            feedback.fail(
                ".env is in the build context: a file of secrets is sent to the engine, and COPY . . puts it in the "
                "image",
                _exclude_hint(".env", lines),
            )
        else:
            feedback.ok(".env (secrets) stays out of the build context")
    needed = [name for name in ("server.js", "package.json", "package-lock.json") if name not in context]
    if needed:
        feedback.fail(
            f"{', '.join(needed)} {'is' if len(needed) == 1 else 'are'} not in the build context any more, "
            "but the Dockerfile needs them",
            "your .dockerignore excludes too much: remove the pattern that matches them",
        )
    if has_file and not needed and sent < everything / 10:
        feedback.ok(f"the build context is {sent / 1e6:.2f} MB instead of {everything / 1e6:.1f} MB")
    return True


@step("the build")
def builds(check: Check) -> bool:
    return build_image(check, check.tag())


@step("the image contents")
def image_contents(check: Check) -> bool:
    feedback = check.feedback
    files = probe.image_files(check.built.ref)
    copied = [path for path in files if path.endswith(f"node_modules/{HOST_MARKER}")]
    if copied:
        feedback.fail(
            f"the image contains node_modules copied from your machine (/{copied[0]} is in it)",
            "exclude node_modules in .dockerignore: COPY . . copies the host's modules over the ones npm ci "
            "installed, and modules built on your machine may not run in the image",
        )
    else:
        feedback.ok("the image's node_modules comes from npm ci alone, none from your machine")
    secrets = [path for path in files if path.rsplit("/", 1)[-1] == ".env"]
    if secrets:
        feedback.fail(
            f"the image contains the secrets file /{secrets[0]}",
            "exclude .env in .dockerignore: anyone who pulls the image can read it",
        )
    else:
        feedback.ok("the image holds no .env file")
    if any(path.endswith(".git/objects/pack/pack-homework.pack") for path in files):
        feedback.fail("the image contains your .git folder", "exclude .git in .dockerignore")
    return True


@step("the running container")
def serves(check: Check) -> bool:
    served = probe.serve(check.built.ref, NODE_PORT)
    return check_serving(check.feedback, served, NODE_BODY, f"keep the Dockerfile's ENV PORT={NODE_PORT}")


STEPS = (build_context, builds, image_contents, serves)


def check(work: str | Path | None = None) -> Feedback:
    started = start("hw2", work)
    if isinstance(started, Feedback):
        return started
    try:
        return run_steps(started, STEPS)
    finally:
        shutil.rmtree(started.folder, ignore_errors=True)  # the copy holds 45 MB of planted clutter
