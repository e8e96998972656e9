"""One `docker buildx build` (or `bake`) with any output, cache or attestation flags: its
log streamed and bounded, its metadata file read with limits, an engine refusal turned into
one plain paragraph. The lesson-facing functions live in helpers.engine.outputs."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers.engine import proc
from helpers.engine.buildlog import BuildStep, buildkit_failure, buildkit_steps
from helpers.engine.livelog import LiveLog
from helpers.errors import BuildFailed, CommandFailed

MAX_METADATA = 8 << 20  # a metadata file names digests and provenance: never this large
MAX_JSON_OUTPUT = 32 << 20  # imagetools JSON (an SBOM lists every file): larger is not an answer

# What the docker driver says when the engine's image store cannot do a feature, and one line on why.
REFUSALS = {
    "cache export is not supported": "the classic image store's docker driver has no cache exporter",
    "attestation is not supported": "the classic image store keeps no attestation manifests beside an image",
    "oci exporter is not supported": "the classic image store's docker driver exports only into its own store",
    "multiple platforms feature is currently not supported": "the classic image store keeps one platform per image",
}


@dataclass
class Ran:
    """What one buildx call did: exit code, seconds, the last log lines, the metadata file."""

    exit_code: int
    seconds: float
    lines: list[str]
    metadata: dict[str, Any]

    @property
    def steps(self) -> list[BuildStep]:
        return buildkit_steps(self.lines)


def run(
    args: Sequence[str],
    *,
    title: str,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    quiet: bool = True,
    timeout: float = 1800,
) -> Ran:
    """`docker buildx ARGS --metadata-file F`; the log streams into the notebook (or stays quiet)."""
    live = LiveLog(title, quiet=quiet)
    with tempfile.TemporaryDirectory(prefix="workbook-buildx-") as folder:
        metadata_file = Path(folder) / "metadata.json"
        command = ["docker", "buildx", *args[:1], "--progress=plain", "--metadata-file", str(metadata_file), *args[1:]]
        started = time.monotonic()
        code, lines = _stream(command, env, cwd, timeout, live)
        seconds = time.monotonic() - started
        metadata = _read_metadata(metadata_file) if code == 0 else {}
    live.close(f"{title}: {'done' if code == 0 else 'failed'} in {seconds:.1f} s")
    return Ran(code, seconds, lines, metadata)


def _stream(
    command: list[str],
    env: Mapping[str, str] | None,
    cwd: str | Path | None,
    timeout: float,
    live: LiveLog,
) -> tuple[int, list[str]]:
    """The exit code and the last lines of the log (bounded by proc.stream_lines)."""
    try:
        streamed = proc.stream_lines(command, timeout=timeout, on_line=live, env=env, cwd=str(cwd) if cwd else None)
    except FileNotFoundError:
        raise CommandFailed(
            "The docker command-line client is not installed",
            command=command,
            exit_code=127,
            output_tail="",
            hint="run `make lab` once, or install the docker CLI with its buildx plugin",
        ) from None
    stopped = [f"(stopped: no end within {timeout:.0f} s)"] if streamed.timed_out else []
    return streamed.exit_code, streamed.lines + stopped


def _read_metadata(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    with open(path, "rb") as file:
        data = file.read(MAX_METADATA + 1)
    if len(data) > MAX_METADATA:
        return {}
    try:
        found = json.loads(data)
    except (ValueError, RecursionError):
        return {}
    return found if isinstance(found, dict) else {}


def refusal(lines: Sequence[str]) -> str:
    """Why the engine refused a feature (one line), or "" when the log shows no known refusal."""
    text = "\n".join(lines[-40:]).lower()
    return next((why for marker, why in REFUSALS.items() if marker in text), "")


def failed(ran: Ran, what: str, where: str, dockerfile: Path | None = None) -> BuildFailed:
    """One paragraph for a failed buildx call: a refusal of the store, or the failing step."""
    tail = "\n".join(line for line in ran.lines[-15:] if line.strip())
    why = refusal(ran.lines)
    if why:
        first = next((line for line in reversed(ran.lines) if line.startswith("ERROR:")), "ERROR: refused")
        return BuildFailed(
            f"{what}: the engine refused ({first.removeprefix('ERROR: ').strip()[:200]})",
            where=where,
            log_tail=tail,
            hint=f"{why}; switch the engine to the containerd image store (or use a docker-container builder)",
        )
    lines = dockerfile.read_text(errors="replace").splitlines() if dockerfile and dockerfile.is_file() else []
    failure = buildkit_failure(ran.lines, lines)
    return BuildFailed(
        what + (f" (exit code {failure.exit_code})" if failure.exit_code is not None else ""),
        step=failure.step,
        line=failure.line,
        exit_code=failure.exit_code,
        log_tail=tail,
        where=where + (f", line {failure.line}" if failure.line else ""),
        hint="read the log lines above; the first ERROR line names the cause",
    )


def bounded_output(
    command: list[str],
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
    cwd: str | Path | None = None,
) -> bytes:
    """A command's stdout, refused beyond MAX_JSON_OUTPUT bytes; a non-zero exit raises CommandFailed."""
    with tempfile.TemporaryFile() as errors:
        try:
            process = subprocess.Popen(
                command,
                stdout=subprocess.PIPE,
                stderr=errors,
                env=dict(env) if env is not None else None,
                cwd=str(cwd) if cwd else None,
            )
        except FileNotFoundError:
            raise CommandFailed(
                f"The program `{command[0]}` is not installed",
                command=command,
                exit_code=127,
                output_tail="",
                hint="run `make lab` once",
            ) from None
        timer = threading.Timer(timeout, process.kill)
        timer.start()
        try:
            assert process.stdout is not None
            data = process.stdout.read(MAX_JSON_OUTPUT + 1)
            if len(data) > MAX_JSON_OUTPUT:
                process.kill()
            code = process.wait()
        finally:
            timer.cancel()
            if process.poll() is None:
                process.kill()
                process.wait()
        errors.seek(0)
        error_text = errors.read(8000).decode(errors="replace")
    if len(data) > MAX_JSON_OUTPUT:
        raise CommandFailed(
            f"`{' '.join(command[:4])}` answered more than {MAX_JSON_OUTPUT >> 20} MB",
            command=command,
            exit_code=None,
            output_tail="",
            hint="that is not metadata: check the image reference",
        )
    if code != 0:
        raise CommandFailed(
            f"`{' '.join(command[:4])}` failed",
            command=command,
            exit_code=code,
            output_tail="\n".join(error_text.strip().splitlines()[-10:]),
            hint="check that the registry runs and that you logged in (registry.login())",
        )
    return data


def environment(extra: Mapping[str, str] | None = None, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The process environment (or `base`, e.g. a registry's cli_env()) plus `extra`."""
    return {**(base if base is not None else os.environ), **(extra or {})}
