"""Connecting to the Docker engine: DOCKER_HOST, docker contexts, or the default socket."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache

import docker
from docker.errors import DockerException

from helpers.errors import EngineUnavailable
from helpers.replay import REPLAY, SESSION, replayable

_client: docker.DockerClient | None = None

CONTAINERD, CLASSIC = "containerd", "classic"

START_HINT = (
    "start a Docker engine: on Linux run `make lab` (it installs and starts one) or "
    "`sudo dockerd &`; on macOS/Windows start Docker Desktop; for a remote engine set "
    "DOCKER_HOST (e.g. ssh://user@host) or `docker context use NAME`. Without an engine, "
    "the notebooks replay recorded results."
)


@dataclass(frozen=True)
class EngineInfo:
    host: str
    version: str
    api_version: str
    os: str
    arch: str
    remote: bool
    storage_driver: str
    root_dir: str
    image_store: str = CLASSIC  # CONTAINERD or CLASSIC: where images are kept (see image_store())


def docker_host() -> str:
    """Where the engine is: DOCKER_HOST, else the current docker context, else the local socket."""
    if os.environ.get("DOCKER_HOST"):
        return os.environ["DOCKER_HOST"]
    return _context_host() or "unix:///var/run/docker.sock"


@lru_cache(maxsize=1)
def _context_host() -> str | None:
    cli = shutil.which("docker")
    if not cli:
        return None
    try:
        out = subprocess.run([cli, "context", "inspect"], capture_output=True, timeout=10, check=True).stdout
        return json.loads(out)[0]["Endpoints"]["docker"]["Host"] or None
    except (subprocess.SubprocessError, OSError, ValueError, KeyError, IndexError):
        return None


def client(timeout: int = 120) -> docker.DockerClient:
    """A connected client; reconnects once if the engine was restarted.

    Helpers call this inside their own @replayable functions. In replay mode it refuses, so an
    engine call that no recording answers fails plainly instead of reaching some engine."""
    global _client
    if SESSION.mode == REPLAY:
        raise EngineUnavailable(
            "Replay mode: this needs the Docker engine, and the recording does not answer it",
            hint=START_HINT,
        )
    if _client is not None:
        try:
            _client.ping()
            return _client
        except Exception:  # the engine went away or restarted: reconnect below
            _client = None
    host = docker_host()
    try:
        fresh = docker.DockerClient(base_url=host, timeout=timeout, version="auto")
        fresh.ping()
    except DockerException as exc:
        if "Permission denied" in str(exc):
            raise EngineUnavailable(
                "You may not use the Docker engine's socket (permission denied)",
                where=host,
                detail=str(exc),
                hint="add your user to the `docker` group (`sudo usermod -aG docker $USER`, then log out "
                "and in again), or run as root; the engine itself is running",
            ) from None
        raise EngineUnavailable("No Docker engine answers", where=host, detail=str(exc), hint=START_HINT) from None
    _client = fresh
    return fresh


@replayable
def lesson_client(timeout: int = 120) -> docker.DockerClient:
    """The docker SDK client a lesson uses directly (`wb.client()`): replay mode gives back what
    each of its calls answered in the recorded run."""
    return client(timeout)


@replayable
def available() -> bool:
    """True when an engine answers."""
    try:
        client()
    except EngineUnavailable:
        return False
    return True


@replayable
def info() -> EngineInfo:
    c = client()
    version = c.version()
    details = c.info()
    host = docker_host()
    return EngineInfo(
        host=host,
        version=str(version.get("Version", "?")),
        api_version=str(version.get("ApiVersion", "?")),
        os=str(details.get("OperatingSystem", "?")),
        arch=str(details.get("Architecture", "?")),
        remote=not (host.startswith("unix://") or host.startswith("npipe://")),
        storage_driver=str(details.get("Driver", "?")),
        root_dir=str(details.get("DockerRootDir", "?")),
        image_store=_store_of(details),
    )


def _store_of(details: dict[str, object]) -> str:
    status = details.get("DriverStatus") or []
    snapshotter = any(
        isinstance(pair, list) and pair[:1] == ["driver-type"] and "snapshotter" in str(pair[-1]) for pair in status
    )
    return CONTAINERD if snapshotter else CLASSIC


@replayable
def image_store() -> str:
    """`containerd` (Docker Desktop since 4.34, Engine 29's default) or `classic` (overlay2 graph driver).

    The two keep images differently: on the containerd store an image id is the digest of its
    manifest (or index) and `size` counts the compressed layers it holds; on the classic store
    the id is the digest of its config and `size` counts the unpacked layers."""
    return _store_of(client().info())


@replayable
def native_platform() -> str:
    """The engine's own platform, e.g. linux/amd64 (asked once per engine address)."""
    return _platform_of(docker_host())


@lru_cache(maxsize=8)
def _platform_of(host: str) -> str:
    arch = client().info().get("Architecture", "x86_64")
    return "linux/" + {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm/v7"}.get(arch, arch)
