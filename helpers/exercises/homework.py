"""The five homework checkers. Each builds and runs the learner's work for real and returns a
Feedback: ✔ for what holds, ✘ with one specific hint for what does not. A checker never raises
for a mistake in the homework; it reports it.

Checkers never write into the learner's folder: they check a fresh copy of it under
.workbook/work/<learner>/checks/.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import re
import shutil
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from docker.errors import APIError

from helpers import catalog
from helpers.engine import daemon, images
from helpers.engine.build import BuildResult, build
from helpers.engine.registry import LocalRegistry, LoginRefused, RegistryError
from helpers.engine.run import run_once
from helpers.errors import BuildFailed, ContainerFailed, WorkbookError
from helpers.exercises import dockerfile, probe
from helpers.exercises.feedback import Feedback
from helpers.labels import image_name, learner
from helpers.paths import ROOT, STATE
from helpers.replay import replayable

HOMEWORK_DIR = ROOT / "homework"
FIXTURES = ROOT / "tests" / "fixtures" / "homework"
NOTES = ("WRONG.md", "ABOUT.md")  # fixture notes, not part of the overlay

NODE_PORT, NODE_BODY = 3000, "Hello from Node in Docker!"
GO_PORT, GO_BODY, GO_SIZE_LIMIT_MB = 8080, "Hello from a Go binary!", 25.0
HOST_MARKER = ".built-on-the-host"  # planted in the host's node_modules by check_hw2
SECRET_LINE = "API_TOKEN=hw2-not-a-real-secret"
PUSH_NAME = "homework/hello"
GREETING_DEFAULT, GREETING_ANA = "Hello, world!", "Hello, Ana!"


@dataclass(frozen=True)
class Homework:
    key: str
    folder: str  # under homework/
    title: str

    @property
    def starter(self) -> Path:
        return HOMEWORK_DIR / self.folder


HOMEWORK: dict[str, Homework] = {
    hw.key: hw
    for hw in (
        Homework("hw1", "hw1-node-app", "HW1 · a Dockerfile for a Node.js app"),
        Homework("hw2", "hw2-dockerignore", "HW2 · a .dockerignore"),
        Homework("hw3", "hw3-go-multistage", "HW3 · a multi-stage build for a Go app"),
        Homework("hw4", "hw4-push", "HW4 · push your image to a registry"),
        Homework("hw5", "hw5-greeter", "HW5 · CMD and ENTRYPOINT"),
    )
}


# -- folders ----------------------------------------------------------------------------


def variants(key: str) -> list[str]:
    """The fixture variants of a homework: "solution" and the "wrong-*" answers."""
    folder = FIXTURES / key
    return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def variant(key: str, which: str) -> Path:
    """A ready-to-check folder: the homework's starter files with a fixture laid over them
    (e.g. "solution" or "wrong-no-install"), written under .workbook/work/<learner>/homework/."""
    homework = HOMEWORK[key]
    overlay = FIXTURES / key / which
    if not overlay.is_dir():
        raise WorkbookError(
            f"There is no {which!r} for {key}", where=str(FIXTURES / key), hint=f"use one of: {variants(key)}"
        )
    destination = STATE / "work" / learner() / "homework" / f"{key}-{which}"
    if destination.exists():
        shutil.rmtree(destination)
    shutil.copytree(homework.starter, destination)
    for source in sorted(overlay.rglob("*")):
        if source.is_file() and source.name not in NOTES:
            target = destination / source.relative_to(overlay)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def solution(key: str) -> Path:
    """The reference solution of `key` ("hw1" ... "hw5") as a folder a checker can check."""
    return variant(key, "solution")


def _resolve(work: str | Path | None, homework: Homework) -> Path:
    if work is None:
        return homework.starter
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


def _tag(key: str, folder: Path) -> str:
    return image_name(f"{key}-check", re.sub(r"[^a-z0-9_.-]+", "-", folder.name.lower()).strip("-.") or "work")


def _start(key: str, work: str | Path | None) -> tuple[Feedback, Path | None]:
    homework = HOMEWORK[key]
    folder = _resolve(work, homework)
    feedback = Feedback(homework.title, _shown(folder))
    if not folder.is_dir():
        feedback.fail(
            f"there is no folder {folder}", f"pass the path of your work folder, e.g. homework/{homework.folder}"
        )
        return feedback, None
    return feedback, _snapshot(folder)


# -- shared steps -----------------------------------------------------------------------


def _read_dockerfile(feedback: Feedback, folder: Path, first_step: str) -> list[dockerfile.Instruction] | None:
    path = folder / "Dockerfile"
    if not path.is_file():
        feedback.fail(f"there is no Dockerfile in {feedback.folder}", f"create one; {first_step}")
        return None
    instructions = dockerfile.read(path)
    if not instructions:
        feedback.fail("the Dockerfile has no instructions yet, only comments", first_step)
        return None
    return instructions


def _check_bases(feedback: Feedback, instructions: list[dockerfile.Instruction]) -> bool:
    problems = dockerfile.base_problems(dockerfile.stages(instructions))
    for problem in problems:
        feedback.fail(problem.text, problem.hint)
    return not problems


def _build(feedback: Feedback, folder: Path, tag: str, dockerfile_name: str = "Dockerfile") -> BuildResult | None:
    try:
        result = build(folder, dockerfile_name, tag=tag, quiet=True)
    except BuildFailed as error:
        where = f" at line {error.line}" if error.line else ""
        step = f" (`{error.step[:70]}`)" if error.step else ""
        code = f", exit code {error.exit_code}" if error.exit_code is not None else ""
        tail = "\n".join(error.log_tail.splitlines()[-8:])
        feedback.fail(f"the build failed{where}{step}{code}", error.hint, detail=f"last log lines:\n{tail}")
        return None
    except WorkbookError as error:
        feedback.fail(f"the build could not run: {error.what}", error.hint or "read the message")
        return None
    feedback.ok(f"the image builds: {result.ref} ({result.size_mb:.1f} MB)")
    return result


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


def short_start_error(text: str) -> str:
    """The useful part of an engine's "could not start" message, e.g.
    `exec: "Ana": executable file not found in $PATH`."""
    found = re.search(r'exec: "[^"]*": [^:]+', text)
    return found.group(0).strip() if found else text.strip().splitlines()[-1][-200:]


def _log_hint(logs: str, fallback: str) -> str:
    for needle, hint in LOG_HINTS:
        if needle.lower() in logs.lower():
            return hint
    return fallback


def _check_serving(
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
        fallback = "read the log lines: they say why it stopped"
        hint = exit_hint(served) if exit_hint else _log_hint(served.logs, fallback)
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


def _check_user(feedback: Feedback, served: probe.Served, hint: str) -> None:
    if not served.uids:
        return
    if "0" in served.uids:
        feedback.tip("(bonus) it runs as root (uid 0)", hint)
    else:
        feedback.ok(f"(bonus) it runs as uid {', '.join(sorted(served.uids))}, not as root")


# -- HW1 ----------------------------------------------------------------------------------


@replayable
def check_hw1(work: str | Path | None = None) -> Feedback:
    """HW1: the Dockerfile in `work` (default homework/hw1-node-app) builds on a pinned catalog
    base, and the container, run detached with a port mapping, answers on port 3000."""
    feedback, folder = _start("hw1", work)
    if folder is None:
        return feedback
    instructions = _read_dockerfile(feedback, folder, "start with FROM node:24-trixie-slim (README.md lists the steps)")
    if instructions is None:
        feedback.skip("the base image", "the build", "the running container")
        return feedback
    if not _check_bases(feedback, instructions):
        feedback.skip("the build", "the running container")
        return feedback
    bases = [s.base for s in dockerfile.stages(instructions) if not s.from_stage]
    feedback.ok(f"FROM {bases[-1]}: a pinned base from the catalog")
    result = _build(feedback, folder, _tag("hw1", folder))
    if result is None:
        feedback.skip("the running container")
        return feedback
    served = probe.serve(result.ref, NODE_PORT)
    if _check_serving(
        feedback,
        served,
        NODE_BODY,
        "server.js listens on $PORT (3000 when unset): remove the ENV PORT that changes it, "
        f"or set ENV PORT={NODE_PORT}",
    ):
        _check_user(
            feedback, served, "add USER node before the CMD: the official node image ships that unprivileged user"
        )
    exposed = images.config(result.ref)["ExposedPorts"]
    if f"{NODE_PORT}/tcp" not in exposed:
        feedback.tip(
            f"the image does not EXPOSE {NODE_PORT}",
            f"add EXPOSE {NODE_PORT}: it documents the port for people and tools (`docker run -P` uses it)",
        )
    return feedback


# -- HW2 ----------------------------------------------------------------------------------


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


def _size_under(files: dict[str, int], top: str) -> int:
    return sum(size for path, size in files.items() if path == top or path.startswith(top + "/"))


def _ignore_lines(folder: Path) -> list[str]:
    path = folder / ".dockerignore"
    if not path.is_file():
        return []
    return [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


def _exclude_hint(name: str, lines: list[str]) -> str:
    mentions = [line for line in lines if name.strip("/") in line]
    if mentions:
        return (
            f"your line `{mentions[0]}` does not match it: patterns are paths inside the build context "
            f"folder, so write {name} (not /app/{name})"
        )
    return f"add the line {name} to .dockerignore"


@replayable
def check_hw2(work: str | Path | None = None) -> Feedback:
    """HW2: with a developer's clutter added (host node_modules, .git, .env), the folder's
    .dockerignore keeps them out of the build context and out of the image, and the app works."""
    feedback, folder = _start("hw2", work)
    if folder is None:
        return feedback
    try:
        _check_hw2(feedback, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # the copy holds 45 MB of planted clutter
    return feedback


def _check_hw2(feedback: Feedback, folder: Path) -> None:
    add_developer_clutter(folder)
    everything = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    has_file = (folder / ".dockerignore").is_file()
    lines = _ignore_lines(folder)
    try:
        context = context_files(folder, _tag("hw2-context", folder))
    except WorkbookError as error:
        feedback.fail(f"the build context could not be measured: {error.what}", error.hint or "read the message")
        feedback.skip("the build", "the image contents", "the running container")
        return
    sent = sum(context.values())
    if not has_file:
        feedback.fail(
            f"node_modules is in the build context ({_size_under(context, 'node_modules') / 1e6:.1f} MB), and so are "
            f".git ({_size_under(context, '.git') / 1e6:.1f} MB) and .env (your secrets): there is no .dockerignore, "
            f"so the whole folder ({sent / 1e6:.1f} MB) is sent to the engine",
            "create a file called .dockerignore next to the Dockerfile, one pattern per line: node_modules, .git, .env",
        )
    else:
        for name, why in (
            ("node_modules", "modules installed on your machine are sent on every build, and COPY . . copies them"),
            (".git", "your whole history is sent on every build"),
        ):
            size = _size_under(context, name)
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
    result = _build(feedback, folder, _tag("hw2", folder))
    if result is None:
        feedback.skip("the image contents", "the running container")
        return
    files = probe.image_files(result.ref)
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
    served = probe.serve(result.ref, NODE_PORT)
    _check_serving(feedback, served, NODE_BODY, f"keep the Dockerfile's ENV PORT={NODE_PORT}")


# -- HW3 ----------------------------------------------------------------------------------


def _toolchain(files: dict[str, int]) -> tuple[str, int] | None:
    """The Go toolchain's root folder in an image's files and its size, if it is there."""
    roots = {path.split("/pkg/tool/", 1)[0] for path in files if "/pkg/tool/" in path}
    roots |= {path.removesuffix("/bin/go") for path in files if path.endswith("/bin/go")}
    if not roots:
        return None
    root = max(roots, key=lambda r: _size_under(files, r))
    return root, _size_under(files, root)


def _program(config: dict[str, object]) -> str:
    entry = config.get("Entrypoint") or []
    command = config.get("Cmd") or []
    parts = [
        str(p) for p in (entry if isinstance(entry, list) and entry else command if isinstance(command, list) else [])
    ]
    if parts[:2] == ["/bin/sh", "-c"] and len(parts) > 2:
        return parts[2].split()[0] if parts[2].split() else ""
    return parts[0] if parts else ""


@replayable
def check_hw3(work: str | Path | None = None) -> Feedback:
    """HW3: a multi-stage build whose final image is at most 25 MB, holds no Go toolchain and
    still answers on port 8080."""
    feedback, folder = _start("hw3", work)
    if folder is None:
        return feedback
    instructions = _read_dockerfile(feedback, folder, "start from the one-stage Dockerfile of the starter folder")
    if instructions is None:
        feedback.skip("the build", "the final image", "the running container")
        return feedback
    if not _check_bases(feedback, instructions):
        feedback.skip("the build", "the final image", "the running container")
        return feedback
    stages = dockerfile.stages(instructions)
    final_base = stages[-1].base
    if len(stages) > 1:
        feedback.ok(f"{len(stages)} stages: {stages[0].base} to build, {final_base} to run")
    result = _build(feedback, folder, _tag("hw3", folder))
    if result is None:
        feedback.skip("the final image", "the running container")
        return feedback
    files = probe.image_files(result.ref)
    toolchain = _toolchain(files)
    config = images.config(result.ref)
    program = _program(config).lstrip("/")
    small_base = "scratch (empty), gcr.io/distroless/static-debian13 (about 1 MB) or busybox:1.37 (about 2 MB)"
    if result.size_mb <= GO_SIZE_LIMIT_MB:
        feedback.ok(f"the final image is {result.size_mb:.1f} MB (the limit is {GO_SIZE_LIMIT_MB:.0f} MB)")
    elif toolchain:
        feedback.fail(
            f"the final image is {result.size_mb:.0f} MB because the whole Go toolchain is in it "
            f"(/{toolchain[0]}: {toolchain[1] / 1e6:.0f} MB, on top of the compilers and tools of {final_base})",
            "copy only the binary into a small final stage: end the Dockerfile with a second FROM "
            f"({small_base}) and COPY --from=<build stage> the binary",
        )
    else:
        binary = files.get(program, 0)
        base_mb = images.size_mb(final_base) if catalog.in_catalog(final_base) and final_base != "scratch" else 0
        feedback.fail(
            f"the final image is {result.size_mb:.0f} MB, over the {GO_SIZE_LIMIT_MB:.0f} MB limit: the binary is "
            f"{binary / 1e6:.1f} MB, the rest comes from the final base {final_base} ({base_mb:.0f} MB)",
            f"use a smaller final base: {small_base}; a binary built with CGO_ENABLED=0 needs nothing else",
        )
    if toolchain:
        feedback.fail(
            f"the final image still contains the Go toolchain (the go command in /{toolchain[0]})",
            "the final stage must not be FROM golang: only the compiled binary is needed at run time",
        )
    else:
        feedback.ok("the final image holds no Go toolchain (no go command, no compiler)")

    def exit_hint(served: probe.Served) -> str:
        logs = served.logs.lower()
        if "no such file or directory" in logs and program and program in files:
            return (
                f"/{program} is in the image, yet it cannot start: it is linked against the C library, which the "
                "final base does not have. Build a static binary: RUN CGO_ENABLED=0 go build ..."
            )
        return _log_hint(served.logs, "read the log lines: they say why it stopped")

    served = probe.serve(result.ref, GO_PORT)
    if _check_serving(
        feedback, served, GO_BODY, f"the server listens on $PORT (8080 when unset): keep it {GO_PORT}", exit_hint
    ):
        _check_user(
            feedback,
            served,
            "add USER 65532:65532 to the final stage (scratch has no user names; "
            "gcr.io/distroless/static-debian13:nonroot already runs as 65532)",
        )
    return feedback


# -- HW4 ----------------------------------------------------------------------------------

PushFunction = Callable[[LocalRegistry, str], object]


def _load_push(folder: Path) -> PushFunction | str:
    """push() from the folder's push.py, or a sentence saying why it could not be loaded."""
    path = folder / "push.py"
    if not path.is_file():
        return f"there is no push.py in {folder.name}"
    spec = importlib.util.spec_from_file_location(f"homework_push_{abs(hash(str(path)))}", path)
    if spec is None or spec.loader is None:
        return f"{path.name} cannot be imported"
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        return f"push.py does not load: {type(error).__name__}: {error}"
    function = getattr(module, "push", None)
    if not callable(function):
        return "push.py has no function push(registry, image)"
    return function  # type: ignore[no-any-return]


def _remove_local(prefix: str) -> None:
    client = daemon.client()
    for image in client.api.images():  # one call: no race with images deleted meanwhile
        for tag in image.get("RepoTags") or []:
            if tag.startswith(prefix):
                with contextlib.suppress(APIError):
                    client.images.remove(tag)


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
    homework = HOMEWORK["hw4"]
    if callable(work):
        push_function: PushFunction | str = work
        feedback, folder = _start("hw4", homework.starter)
        feedback.folder = f"push function {getattr(work, '__name__', 'push')}()"
    else:
        feedback, folder = _start("hw4", work)
        push_function = _load_push(folder) if folder is not None else ""
    if folder is None:
        return feedback
    if isinstance(push_function, str):
        feedback.fail(push_function, "write push(registry, image) in push.py (the starter file has the outline)")
        feedback.skip("the push", "the pull by digest")
        return feedback
    if image is None:
        built = _build(feedback, folder, _tag("hw4", folder))
        if built is None:
            feedback.skip("the push", "the pull by digest")
            return feedback
        image = built.ref
    try:
        content = images.platform_digest(image)
    except WorkbookError as error:
        feedback.fail(f"the image {image} is not on this engine", error.hint or "build it first")
        return feedback
    try:
        registry = LocalRegistry().start()
    except WorkbookError as error:
        feedback.fail(f"the checker could not start a registry: {error.what}", error.hint or "read the message")
        return feedback
    try:
        _push_and_pull(feedback, registry, push_function, image, content)
    finally:
        registry.stop()
    return feedback


def _push_and_pull(
    feedback: Feedback, registry: LocalRegistry, push_function: PushFunction, image: str, content: str
) -> None:
    """`content` is the platform digest of `image` (see check_hw4)."""
    try:
        digest = push_function(registry, image)
    except LoginRefused as error:
        feedback.fail(
            f"the registry refused your login ({error.what.split('refused the login of ')[-1]})",
            "log in with the registry's own credentials: registry.login() uses registry.user and registry.password",
        )
        feedback.skip("the pull by digest")
        return
    except RegistryError as error:
        if "not logged in" in error.what:
            feedback.fail(
                "the push failed because you are not logged in to the registry",
                "call registry.login() before registry.push(...) (in a terminal: docker login 127.0.0.1:PORT)",
            )
        else:
            feedback.fail(f"the push failed: {error.what}", error.hint or "read the message")
        feedback.skip("the pull by digest")
        return
    except NotImplementedError:
        feedback.fail("push() is not written yet (it raises NotImplementedError)", "follow the three TODOs in push.py")
        feedback.skip("the push", "the pull by digest")
        return
    except Exception as error:
        tail = "".join(traceback.format_exception(error)[-3:])
        feedback.fail(
            f"push() raised {type(error).__name__}: {error}", "fix push() (the end of the traceback is below)", tail
        )
        feedback.skip("the pull by digest")
        return
    registry.login()  # the checker's own login, for reading the registry
    stored = {repo: registry.tags(repo) for repo in registry.catalog()}
    if not stored:
        feedback.fail(
            "push() returned, but nothing arrived in the registry",
            "call registry.push(image, NAME, TAG) inside push()",
        )
        return
    listed = ", ".join(f"{repo}:{tag}" for repo, tags in stored.items() for tag in tags)
    feedback.ok(f"you logged in and pushed: the registry holds {listed}")
    if not (isinstance(digest, str) and re.fullmatch(r"sha256:[0-9a-f]{64}", digest)):
        feedback.fail(
            f"push() returned {digest!r}, not the digest of what it pushed",
            "return what registry.push(...) returns: a digest such as sha256:3f4c…",
        )
        return
    _remove_local(f"{registry.host}/")  # so the pull below really downloads
    for repository in stored:
        try:
            pulled = registry.pull(repository, digest)
        except RegistryError:
            continue
        pulled_content = images.platform_digest(pulled)
        if pulled_content == content:
            feedback.ok(
                f"pulling {repository}@{digest[:19]}… gives back the very image you pushed "
                f"(same content: platform digest {content[7:19]})"
            )
        else:
            feedback.fail(
                f"the image stored under {digest[:19]}… (platform digest {pulled_content[7:19]}) is not the image "
                f"you were given to push (platform digest {content[7:19]})",
                "push the `image` argument that push() receives, not another image",
            )
        return
    feedback.fail(
        f"no repository in the registry has the digest push() returned ({digest[:19]}…)",
        "return the digest of this push, exactly as registry.push(...) returns it",
    )


# -- HW5 ----------------------------------------------------------------------------------


def _shell_form(command: list[str] | None) -> bool:
    return bool(command) and len(command or []) == 3 and (command or [])[:2] == ["/bin/sh", "-c"]


def _run_greeter(ref: str, args: list[str] | None) -> tuple[int | None, str]:
    try:
        done = run_once(ref, args, timeout=60)
    except ContainerFailed as error:
        return None, short_start_error(error.detail or str(error))
    return done.exit_code, done.output.strip()


def _greeter_diagnosis(entry: list[str] | None, command: list[str] | None, with_args: bool) -> tuple[str, str]:
    """(why, what to do) for a greeter image that does not behave, from its ENTRYPOINT and CMD."""
    if _shell_form(entry):
        assert entry is not None
        return (
            f"your ENTRYPOINT ignores the arguments you pass (shell form: it runs /bin/sh -c {entry[2]!r}, "
            "and arguments after it never reach greet)",
            'write the ENTRYPOINT as a JSON array, ENTRYPOINT ["greet"], and put the default name in CMD ["world"]',
        )
    if not entry:
        return (
            "with CMD only, the arguments of docker run replace the whole command"
            + (", so the container tried to run a program called Ana" if with_args else ""),
            'make greet the ENTRYPOINT (ENTRYPOINT ["greet"]) and keep the default name as CMD ["world"]',
        )
    if _shell_form(command):
        assert command is not None
        return (
            f"your CMD is in shell form, so the ENTRYPOINT received /bin/sh -c {command[2]!r} as its arguments",
            'write CMD as a JSON array: CMD ["world"]',
        )
    if len(entry) > 1 and not command:
        return (
            f"the default name is part of the ENTRYPOINT ({json.dumps(entry)}), so arguments are added after it",
            'keep only the program in ENTRYPOINT ["greet"] and move the default name into CMD ["world"]',
        )
    if not command:
        return (
            "without arguments greet gets no name: nothing supplies a default",
            'add CMD ["world"]: CMD holds the default arguments of the ENTRYPOINT',
        )
    return ("the program or its arguments are not the ones expected", "greet is at /usr/local/bin/greet in the image")


@replayable
def check_hw5(work: str | Path | None = None) -> Feedback:
    """HW5: `docker run IMAGE` greets the world, `docker run IMAGE Ana` greets Ana: an exec-form
    ENTRYPOINT with the default name as CMD."""
    feedback, folder = _start("hw5", work)
    if folder is None:
        return feedback
    instructions = _read_dockerfile(feedback, folder, "start from the starter Dockerfile")
    if instructions is None or not _check_bases(feedback, instructions):
        feedback.skip("the build", "docker run IMAGE", "docker run IMAGE Ana")
        return feedback
    result = _build(feedback, folder, _tag("hw5", folder))
    if result is None:
        feedback.skip("docker run IMAGE", "docker run IMAGE Ana")
        return feedback
    config = images.config(result.ref)
    entry, command = config["Entrypoint"], config["Cmd"]
    for args, expected in ((None, GREETING_DEFAULT), (["Ana"], GREETING_ANA)):
        shown = "docker run IMAGE" + (" " + " ".join(args) if args else "")
        code, output = _run_greeter(result.ref, args)
        if code == 0 and output == expected:
            feedback.ok(f"{shown} prints {expected!r}")
            continue
        why, fix = _greeter_diagnosis(entry, command, args is not None)
        if code is None:
            observed = f"{shown} could not start ({output})"
        else:
            observed = f"{shown} printed {output[:100]!r} (exit code {code}), not {expected!r}"
        feedback.fail(f"{observed}: {why}", fix)
    if entry and not _shell_form(entry) and command and not _shell_form(command):
        feedback.ok(
            f"ENTRYPOINT {json.dumps(entry)} (exec form) runs the program, CMD {json.dumps(command)} is its default"
        )
    elif entry and not _shell_form(entry) and not command and not feedback.failures:
        feedback.fail(
            "the default name does not come from CMD",
            'keep ENTRYPOINT ["greet"] and give the default as CMD ["world"]: that is what the task practises',
        )
    return feedback


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
    "Homework",
    "add_developer_clutter",
    "check_hw1",
    "check_hw2",
    "check_hw3",
    "check_hw4",
    "check_hw5",
    "context_files",
    "solution",
    "variant",
    "variants",
]
