"""One `build()` for every lesson: classic builds through the docker SDK, BuildKit builds
through `docker buildx build` (the SDK cannot drive BuildKit). Both return a BuildResult."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import docker.errors
import pandas as pd
from docker.errors import APIError

from helpers.engine import daemon, images, ledger, proc
from helpers.engine.buildlog import (
    BuildStep,
    Failure,
    buildkit_failure,
    buildkit_steps,
    classic_failure,
    classic_steps,
    failing_step_output,
)
from helpers.engine.livelog import LiveLog
from helpers.errors import BuildFailed, CommandFailed, InvalidInput
from helpers.labels import image_labels, image_name
from helpers.paths import app_dir
from helpers.replay import replayable

BUILDKIT, CLASSIC = "buildkit", "classic"


@dataclass
class BuildResult:
    ref: str
    image_id: str
    size_bytes: int
    seconds: float
    steps: list[BuildStep]
    log: str = field(repr=False)
    builder: str = BUILDKIT
    # The digest of this platform's image content, the same on both stores for the same content:
    # see helpers.images.platform_digest. The image id may differ where it is not (containerd store).
    platform_id: str = ""

    @property
    def size_mb(self) -> float:
        return self.size_bytes / 1e6

    @property
    def short_id(self) -> str:
        return self.image_id.removeprefix("sha256:")[:12]

    @property
    def cached_steps(self) -> int:
        return sum(step.cached for step in self.steps)

    def steps_table(self) -> pd.DataFrame:
        """Each Dockerfile step: cached or rebuilt, and how long it took (BuildKit only)."""
        return pd.DataFrame(
            [
                {
                    "step": s.number,
                    "instruction": s.instruction[:70],
                    "cache": "CACHED" if s.cached else "rebuilt",
                    "seconds": s.seconds,
                }
                for s in self.steps
            ]
        )

    def summary(self) -> str:
        return (
            f"built {self.ref} ({self.short_id}) in {self.seconds:.1f} s: "
            f"{self.size_mb:.1f} MB, {self.cached_steps}/{len(self.steps)} steps cached"
        )


@replayable
@cache
def buildx_available() -> bool:
    try:
        proc.run(["docker", "buildx", "version"], timeout=20)
    except CommandFailed:
        return False
    return True


@replayable
@cache
def buildkit_version() -> str:
    """The BuildKit version inside the engine's default builder, e.g. `v0.25.1` ("" without buildx)."""
    try:
        output = proc.run(["docker", "buildx", "inspect", "default"], timeout=30).output
    except CommandFailed:
        return ""
    for line in output.splitlines():
        if line.strip().startswith("BuildKit version:"):
            return line.split(":", 1)[1].strip()
    return ""


def default_tag(context: Path, dockerfile: str) -> str:
    """apps/go-app + Dockerfile.scratch -> wb-<learner>/go-app:scratch."""
    variant = dockerfile.split("/")[-1].removeprefix("Dockerfile").lstrip(".-") or "latest"
    return image_name(context.name, variant.lower())


@replayable
def build(
    app: str | Path,
    dockerfile: str = "Dockerfile",
    *,
    tag: str | None = None,
    builder: str = "auto",
    target: str | None = None,
    build_args: Mapping[str, str] | None = None,
    no_cache: bool = False,
    platform: str | None = None,
    secrets: Mapping[str, str | Path] | None = None,
    network: str | None = None,
    labels: Mapping[str, str] | None = None,
    quiet: bool = False,
    timeout: float = 1200,
) -> BuildResult:
    """Build `dockerfile` in the app folder `app` (a name under apps/ or a path).

    builder: "buildkit" (docker buildx), "classic" (the SDK's legacy builder) or "auto"
    (BuildKit when buildx is installed). `secrets` maps secret ids to files (BuildKit only).
    The log streams while the build runs; a failure raises BuildFailed naming the step,
    the Dockerfile line and the exit code.
    """
    context = app_dir(app)
    dockerfile_path = context / dockerfile
    if not dockerfile_path.is_file():
        present = sorted(p.name for p in context.glob("Dockerfile*"))
        raise InvalidInput(
            f"There is no {dockerfile} in {context.name}",
            where=str(dockerfile_path),
            hint=f"Dockerfiles there: {', '.join(present)}" if present else "create a Dockerfile in that folder first",
        )
    if builder == "auto":
        builder = BUILDKIT if buildx_available() else CLASSIC
    if builder not in (BUILDKIT, CLASSIC):
        raise InvalidInput(f"Unknown builder {builder!r}", hint="use 'buildkit' or 'classic'")
    if platform is not None:
        _check_platform(platform)
    if builder == CLASSIC and (secrets or platform):
        raise InvalidInput("Secrets and --platform need BuildKit", hint="pass builder='buildkit'")
    ref = tag or default_tag(context, dockerfile)
    all_labels = {**image_labels(ref), **(labels or {})}
    docker_client = daemon.client()  # fail early and plainly when no engine answers
    live = LiveLog(f"building {ref} from {context.name}/{dockerfile}", quiet=quiet)
    started = time.monotonic()
    request = BuildRequest(
        context,
        dockerfile,
        ref,
        target,
        build_args or {},
        no_cache,
        platform,
        secrets or {},
        network,
        all_labels,
        timeout,
    )
    run = _buildkit if builder == BUILDKIT else _classic
    try:
        image_id, lines = run(request, live)
    except BuildFailed as failed:
        if platform and "base image is not on this engine" in failed.hint:
            failed.hint += (
                f"; for {platform}, offline stand-in bases exist only for this engine's own platform: "
                "build FROM --platform=$BUILDPLATFORM and copy into a scratch final stage"
            )
        raise
    seconds = time.monotonic() - started
    try:
        image = docker_client.images.get(image_id)  # the engine just answered: no second ping
    except docker.errors.ImageNotFound:
        # The containerd store can report an id it does not keep under that name (an image with
        # no layer at all, wrapped in an index with its attestation): the tag just built is it.
        image = docker_client.images.get(ref)
    ledger.record(str(image.id), ref)  # cleanup removes this tag later, and no tag it did not record
    steps = buildkit_steps(lines) if builder == BUILDKIT else classic_steps(lines)
    size, platform_id = images.size_and_digest(image, platform)
    result = BuildResult(ref, image.id, size, seconds, steps, "\n".join(lines), builder, platform_id)
    live.close(result.summary())
    return result


@dataclass(frozen=True)
class BuildRequest:
    """What one build is asked to do, whichever builder does it."""

    context: Path
    dockerfile: str
    ref: str
    target: str | None
    build_args: Mapping[str, str]
    no_cache: bool
    platform: str | None
    secrets: Mapping[str, str | Path]
    network: str | None
    labels: Mapping[str, str]
    timeout: float


def _buildkit(request: BuildRequest, live: LiveLog) -> tuple[str, list[str]]:
    context, dockerfile, timeout = request.context, request.dockerfile, request.timeout
    with tempfile.TemporaryDirectory(prefix="workbook-build-") as tmp:
        iidfile = Path(tmp) / "iid"
        command = [
            "docker",
            "buildx",
            "build",
            "--progress=plain",
            "--load",
            "--iidfile",
            str(iidfile),
            "-f",
            str(context / dockerfile),
            "-t",
            request.ref,
        ]
        command += _flags("--label", request.labels) + _flags("--build-arg", request.build_args)
        command += [f"--secret=id={key},src={value}" for key, value in request.secrets.items()]
        if request.target:
            command += ["--target", request.target]
        if request.no_cache:
            command.append("--no-cache")
        if request.platform:
            command += ["--platform", request.platform]
        if request.network:
            command += ["--network", request.network]
        command.append(str(context))
        lines: list[str] = []

        def on_line(line: str) -> None:
            lines.append(line)
            live(line)

        completed = proc.run(command, timeout=timeout, check=False, on_line=on_line)
        if completed.exit_code != 0 or not iidfile.exists():
            failure = buildkit_failure(lines, _read_lines(context / dockerfile))
            raise _build_failed(context, dockerfile, failure, lines)
        return iidfile.read_text().strip(), lines


def _classic(request: BuildRequest, live: LiveLog) -> tuple[str, list[str]]:
    """The classic builder (secrets and platforms were refused before: they need BuildKit)."""
    context, dockerfile = request.context, request.dockerfile
    lines: list[str] = []
    image_id = ""
    api = daemon.client().api
    try:
        for chunk in api.build(
            path=str(context),
            dockerfile=dockerfile,
            tag=request.ref,
            target=request.target,
            buildargs=dict(request.build_args),
            nocache=request.no_cache,
            labels=dict(request.labels),
            rm=True,
            forcerm=True,
            decode=True,
            network_mode=request.network,
            timeout=int(request.timeout),
        ):
            for line in str(chunk.get("stream", "")).splitlines():
                lines.append(line)
                live(line)
            if "aux" in chunk and "ID" in chunk["aux"]:
                image_id = chunk["aux"]["ID"]
            if "error" in chunk:
                lines.append(chunk["error"].strip())
                live(chunk["error"].strip())
                failure = classic_failure(lines, chunk["error"], _read_lines(context / dockerfile))
                raise _build_failed(context, dockerfile, failure, lines)
    except APIError as exc:
        failure = Failure("", None, None, exc.explanation or str(exc))
        raise _build_failed(context, dockerfile, failure, lines) from None
    return image_id, lines


KNOWN_PLATFORMS = (
    "linux/amd64",
    "linux/arm64",
    "linux/arm/v7",
    "linux/arm/v6",
    "linux/386",
    "linux/riscv64",
    "linux/ppc64le",
    "linux/s390x",
    "linux/mips64le",
    "linux/loong64",
)


def _check_platform(platform: str) -> None:
    """Refuse a platform no engine knows, before BuildKit explains it as a missing base."""
    from helpers.engine.platforms import runnable

    if platform.removesuffix("/v8") in KNOWN_PLATFORMS:
        return
    here = ", ".join(runnable())
    raise InvalidInput(
        f"Unknown platform {platform!r}",
        hint=f"platforms look like os/architecture, e.g. linux/amd64 or linux/arm64; this engine runs: {here}",
    )


def _flags(flag: str, values: Mapping[str, str]) -> list[str]:
    return [part for key, value in values.items() for part in (flag, f"{key}={value}")]


def _read_lines(path: Path) -> list[str]:
    return path.read_text(errors="replace").splitlines()


def _build_failed(context: Path, dockerfile: str, failure: Failure, lines: list[str]) -> BuildFailed:
    where = f"{context.name}/{dockerfile}"
    if failure.line:
        where += f", line {failure.line}"
    if failure.step:
        where += f", step `{failure.step[:80]}`"
    message = (failure.message + "\n" + "\n".join(lines[-30:])).lower()
    if "not found" in message and ("copy" in failure.step.lower() or "checksum" in message):
        hint = (
            "a COPY names a file that is not in the build context: check the path, and that "
            ".dockerignore does not exclude it"
        )
    elif "docker/dockerfile" in message and "resolve" in message:
        hint = (
            "the `# syntax=` line names a Dockerfile frontend image that no registry answers for here: "
            "remove that line to use the frontend built into the engine"
        )
    elif (
        "pull access denied" in message
        or "failed to resolve source metadata" in message
        or ("failed to do request" in message and "from " in failure.step.lower())
    ):
        hint = (
            "the base image is not on this engine and no registry answers: run "
            "`python -m helpers bases` (or load a classroom kit), and use a base from "
            "helpers.catalog"
        )
    elif "unknown instruction" in message or "parse error" in message or "dockerfile parse" in message:
        hint = "fix the Dockerfile syntax on that line (instructions are FROM, RUN, COPY, ...)"
    elif failure.exit_code is not None:
        hint = (
            f"the command exited with code {failure.exit_code}: read its last output lines "
            "above, fix the command, or build with target= an earlier stage and run a "
            "container from it to try the command by hand"
        )
    else:
        hint = "read the log lines above; the first error line usually names the cause"
    tail_lines = [line for line in lines if line.strip()][-12:]
    summary = "\n".join(tail_lines)
    tail_lines = [line for line in failing_step_output(lines) if line not in summary] + tail_lines
    what = f"The build of {where.split(',')[0]} failed"
    if failure.exit_code is not None:
        what += f" (exit code {failure.exit_code})"
    return BuildFailed(
        what,
        step=failure.step,
        line=failure.line,
        exit_code=failure.exit_code,
        log_tail="\n".join(tail_lines),
        where=where,
        hint=hint,
    )


@replayable
def buildx(args: Sequence[str], *, timeout: float = 600) -> str:
    """Run any other `docker buildx` subcommand (imagetools, ls, ...) and return its output."""
    if not shutil.which("docker"):
        raise InvalidInput(
            "The docker command-line client is not installed", hint="run `make lab` once, or install the docker CLI"
        )
    return proc.run(["docker", "buildx", *args], timeout=timeout).output


__all__ = ["BUILDKIT", "CLASSIC", "BuildResult", "build", "buildkit_version", "buildx", "buildx_available"]
