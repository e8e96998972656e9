"""Running containers safely: loopback-only ports, readiness checks, always removed."""

from __future__ import annotations

import os
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests.exceptions
from docker.errors import APIError, ImageNotFound, NotFound
from docker.models.containers import Container

from helpers.engine import daemon
from helpers.errors import ContainerFailed, InvalidInput, NoSuchImage, WorkbookError
from helpers.labels import object_labels, object_name
from helpers.replay import replayable

LOOPBACK = "127.0.0.1"
# Where engines keep their socket: on the host, and (Docker Desktop, rootless) where the engine
# itself sees it, which a bind mount names even when no such path exists on this machine.
ENGINE_SIDE_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock")
Volumes = Mapping[str, Mapping[str, str]] | Sequence[str] | Sequence[tuple[str, Mapping[str, str]]]


@replayable
def free_port(preferred: int | None = None) -> int:
    """`preferred` when nothing listens on it on 127.0.0.1, else any free port there."""
    if preferred is not None and _port_free(preferred):
        return preferred
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def engine_sockets() -> set[str]:
    """Every path where this machine's engine socket may be: the engine-side paths, DOCKER_HOST's
    (or the current context's) path, rootless and Docker Desktop places, each also resolved."""
    found = set(ENGINE_SIDE_SOCKETS)
    host = daemon.docker_host()
    if host.startswith("unix://"):
        found.add(host.removeprefix("unix://"))
    if runtime := os.environ.get("XDG_RUNTIME_DIR"):
        found.add(f"{runtime}/docker.sock")
    home = Path.home()
    found |= {str(home / ".docker/run/docker.sock"), str(home / ".docker/desktop/docker.sock")}
    return {_plain(path) for path in found} | {os.path.realpath(_plain(path)) for path in found}


def _plain(path: str) -> str:
    """`path` made absolute with single slashes and no `.` or `..` parts (symlinks left alone)."""
    return "/" + os.path.normpath(os.path.abspath(os.path.expanduser(path))).lstrip("/")


def host_paths(volumes: Volumes | None) -> dict[str, dict[str, str]]:
    """`volumes` as the SDK's mapping {source: {"bind": ..., "mode": ...}}, from a mapping, a
    sequence of (source, options) pairs, or "source:target[:mode]" strings."""
    if not volumes:
        return {}
    pairs: list[tuple[Any, Any]]
    if isinstance(volumes, Mapping):
        pairs = list(volumes.items())
    elif isinstance(volumes, str | bytes):
        pairs = [(volumes, None)]
    else:
        pairs = [(item, None) if isinstance(item, str) else tuple(item) for item in volumes]  # type: ignore[misc]
    found: dict[str, dict[str, str]] = {}
    for pair in pairs:
        if len(pair) != 2:
            raise InvalidInput("volumes must map host paths to {'bind': ..., 'mode': ...}", where=repr(pair)[:200])
        source, options = pair
        if options is None and isinstance(source, str) and ":" in source:
            source, _, rest = source.partition(":")
            target, _, mode = rest.partition(":")
            options = {"bind": target, "mode": mode or "rw"}
        if not isinstance(source, str | os.PathLike) or not isinstance(options, Mapping):
            raise InvalidInput("volumes must map host paths to {'bind': ..., 'mode': ...}", where=repr(pair)[:200])
        found[os.fspath(source)] = dict(options)  # type: ignore[arg-type]
    return found


def refuse_engine_socket(volumes: Mapping[str, Mapping[str, str]]) -> None:
    """Refuse to mount the engine's socket, or any folder holding it, under any spelling: resolved
    (symlinks followed) and as written, compared with every place the socket may be."""
    sockets = engine_sockets()
    for source in volumes:
        if "/" not in source and not source.startswith((".", "~")):
            continue  # a named volume, not a host path
        if _same_file_as_any(source, sockets):
            raise InvalidInput(
                "The workbook never mounts the engine's socket into a container",
                where=source,
                hint="it would give the container root on the host: mount a folder of your own instead",
            )
        for seen in {_plain(source), os.path.realpath(_plain(source))}:
            hit = next((s for s in sorted(sockets) if s == seen or s.startswith(seen.rstrip("/") + "/")), None)
            if hit is not None:
                raise InvalidInput(
                    "The workbook never mounts the engine's socket into a container, nor a folder that holds it",
                    where=f"{source} (holds {hit})" if hit != seen else source,
                    hint="it would give the container root on the host: mount a folder of your own instead",
                )


def _same_file_as_any(source: str, paths: set[str]) -> bool:
    """True when `source` is (a hard link to) one of `paths` that exists on this machine."""
    try:
        mine = os.stat(_plain(source))
    except (OSError, ValueError):
        return False
    for path in paths:
        with suppress(OSError, ValueError):
            other = os.stat(path)
            if (other.st_dev, other.st_ino) == (mine.st_dev, mine.st_ino):
                return True
    return False


def refuse_host_network(network: str | None) -> None:
    if network is not None and network.strip().lower() == "host":
        raise InvalidInput(
            'The workbook does not run containers with network="host"',
            where=f"network={network!r}",
            hint="host networking would publish every port on all interfaces: publish one with port= "
            "(on 127.0.0.1 only), or leave network out",
        )


@dataclass
class RunningContainer:
    container: Container
    host_port: int | None = None

    @property
    def url(self) -> str:
        if self.host_port is None:
            raise InvalidInput("This container publishes no port", hint="pass port=... to run()")
        return f"http://{LOOPBACK}:{self.host_port}"

    @property
    def name(self) -> str:
        return str(self.container.name)

    def logs(self) -> str:
        return self.container.logs().decode(errors="replace")

    def exec(self, command: str | Sequence[str], user: str = "") -> tuple[int, str]:
        """Run a command inside the running container: (exit code, output)."""
        code, output = self.container.exec_run(command, user=user)
        return int(code), output.decode(errors="replace")

    def status(self) -> str:
        self.container.reload()
        return str(self.container.status)

    def health(self) -> str:
        self.container.reload()
        return str(self.container.attrs["State"].get("Health", {}).get("Status", "none"))

    def get(self, path: str = "/", timeout: float = 5) -> str:
        """The body of an HTTP GET on the published port."""
        with urllib.request.urlopen(self.url + path, timeout=timeout) as response:
            return response.read().decode(errors="replace")

    def stop(self, timeout: int = 10) -> float:
        """Stop the container (SIGTERM, then SIGKILL after `timeout` s); returns the seconds it took."""
        started = time.monotonic()
        self.container.stop(timeout=timeout)
        return time.monotonic() - started


@replayable
@contextmanager
def run(
    image: str,
    command: str | Sequence[str] | None = None,
    *,
    port: int | None = None,
    host_port: int | None = None,
    wait_http: str | None = "/",
    wait_log: str | None = None,
    wait_healthy: bool = False,
    timeout: float = 60,
    env: Mapping[str, str] | None = None,
    entrypoint: str | Sequence[str] | None = None,
    user: str | None = None,
    name: str | None = None,
    volumes: Volumes | None = None,
    read_only: bool = False,
    cap_drop: Sequence[str] | None = None,
    tmpfs: Mapping[str, str] | None = None,
    network: str | None = None,
    init: bool = False,
) -> Iterator[RunningContainer]:
    """Start `image` detached and yield it once ready; it is always removed afterwards,
    also when the cell fails or is interrupted.

    port: the container port to publish on 127.0.0.1 (never on all interfaces).
    Readiness: an HTTP answer on `wait_http` (when a port is published), a line in the
    logs (`wait_log`), or the HEALTHCHECK (`wait_healthy`).
    """
    mounts = host_paths(volumes)
    refuse_engine_socket(mounts)
    refuse_host_network(network)
    published = None
    if port is not None:
        chosen = free_port(host_port)
        if host_port is not None and chosen != host_port:
            print(f"Port {host_port} on {LOOPBACK} is in use; using {chosen} instead.")
        published = {f"{port}/tcp": (LOOPBACK, chosen)}
        host_port = chosen
    container = _create(
        image,
        command,
        ports=published,
        environment=dict(env or {}),
        entrypoint=entrypoint,
        user=user,
        name=object_name(name) if name else None,
        volumes=mounts,
        read_only=read_only,
        cap_drop=list(cap_drop) if cap_drop else None,
        tmpfs=dict(tmpfs or {}),
        network=network,
        init=init,
    )
    try:  # from here on the container exists: it is removed (by its id) whatever happens
        _start(container, image)
        running = RunningContainer(container, host_port)
        _wait_ready(running, wait_http if port is not None else None, wait_log, wait_healthy, timeout)
        yield running
    finally:
        remove_after_use(container)


def _create(image: str, command: str | Sequence[str] | None, **options: Any) -> Container:
    """Create (not start) a labelled, unprivileged container; plain errors for a missing image,
    a bad reference or a name already taken (whoever holds that name keeps it)."""
    try:
        return daemon.client().containers.create(image, command, labels=object_labels(), privileged=False, **options)
    except ImageNotFound:
        raise NoSuchImage(
            f"The image {image} is not on this engine", hint="build it first (helpers.build) or check the tag"
        ) from None
    except APIError as exc:
        if exc.status_code == 409 and options.get("name"):
            raise ContainerFailed(
                f"A container called {options['name']} exists already",
                where=image,
                detail=str(exc.explanation or exc),
                hint="another notebook (or another run of this cell) still uses that name: pass another name=, "
                "or leave name out",
            ) from None
        raise _create_failed(image, exc) from None


def _start(container: Container, image: str) -> None:
    try:
        container.start()
    except APIError as exc:
        raise _create_failed(image, exc) from None


def remove_container(container_id: str) -> None:
    """Remove the container with this id, and its anonymous volumes; gone already is fine."""
    with suppress(NotFound):
        try:
            daemon.client().api.remove_container(container_id, force=True, v=True)
        except APIError as exc:
            if "is already in progress" not in str(exc.explanation or exc):
                raise


def remove_after_use(container: Container) -> None:
    """remove_container for a `finally:`: a failure is said, and never hides the cell's own error.
    What stays behind is removed by the next wb.start() once this kernel is gone, or by cleanup."""
    try:
        remove_container(str(container.id))
    except (APIError, WorkbookError, requests.exceptions.RequestException) as exc:
        print(f"Could not remove the container {container.short_id}: {str(exc).splitlines()[0][:200]}")


def _create_failed(image: str, exc: APIError) -> InvalidInput | ContainerFailed:
    explanation = str(exc.explanation or exc)
    if "invalid reference format" in explanation:
        return InvalidInput(
            f"{image!r} is not a valid image reference",
            detail=explanation,
            hint="references look like name:tag or registry/name:tag, in lowercase, e.g. wb-ana/hello-python:1.0",
        )
    return ContainerFailed(
        f"The container for {image} could not start",
        where=image,
        detail=explanation,
        hint="check the command and entrypoint exist in the image",
    )


def _wait_ready(
    running: RunningContainer, http_path: str | None, log_text: str | None, healthy: bool, timeout: float
) -> None:
    if http_path is None and log_text is None and not healthy:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = running.status()
        if status in ("exited", "dead"):
            raise _not_ready(running, f"exited with code {running.container.attrs['State']['ExitCode']}")
        if healthy:
            state = running.health()
            if state == "healthy":
                return
            if state == "unhealthy":
                raise _not_ready(running, "reported unhealthy by its HEALTHCHECK")
        elif _ready_now(running, http_path, log_text):
            return
        time.sleep(0.2)
    raise _not_ready(running, f"did not become ready within {timeout:.0f} s")


def _ready_now(running: RunningContainer, http_path: str | None, log_text: str | None) -> bool:
    if log_text is not None and log_text in running.logs():
        return True
    return http_path is not None and _answers(running.url + http_path)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True  # it answered, even if with an error status
    except (urllib.error.URLError, OSError):
        return False


def _not_ready(running: RunningContainer, what: str) -> ContainerFailed:
    logs = "\n".join(running.logs().rstrip().splitlines()[-15:]) or "(no output)"
    return ContainerFailed(
        f"The container {running.name} {what}",
        where=f"image {running.container.attrs['Config']['Image']}, status {running.status()}",
        detail=f"last log lines:\n{logs}",
        hint="read the log lines: a crash shows a traceback, a wrong port shows the app "
        "listening elsewhere (listen on 0.0.0.0, not 127.0.0.1, inside containers)",
    )


@dataclass(frozen=True)
class RunOutput:
    exit_code: int
    output: str
    seconds: float


@replayable
def run_once(
    image: str,
    command: str | Sequence[str] | None = None,
    *,
    entrypoint: str | Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    user: str | None = None,
    platform: str | None = None,
    network: str | None = "none",
    timeout: float = 120,
    volumes: Volumes | None = None,
    init: bool = False,
) -> RunOutput:
    """Run a command-line container to the end; returns exit code, output and wall time.
    The container is removed afterwards, whatever happens. `init=True` is `docker run --init`."""
    mounts = host_paths(volumes)
    refuse_engine_socket(mounts)
    refuse_host_network(network)
    started = time.monotonic()
    container = _create(
        image,
        command,
        entrypoint=entrypoint,
        environment=dict(env or {}),
        user=user,
        platform=platform,
        network_mode=network,
        volumes=mounts,
        init=init,
    )
    try:
        _start(container, image)
        code = _wait_exit(container, image, timeout)
        output = container.logs().decode(errors="replace")
    finally:
        remove_after_use(container)
    return RunOutput(code, output, time.monotonic() - started)


def _wait_exit(container: Container, image: str, timeout: float) -> int:
    try:
        return int(container.wait(timeout=timeout)["StatusCode"])
    except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
        last = container.logs(tail=15).decode(errors="replace").rstrip() or "(no output)"
        raise ContainerFailed(
            f"The container for {image} did not finish within {timeout:.0f} s",
            where=image,
            detail=f"last log lines:\n{last}",
            hint="pass a longer timeout=, or check the command ends by itself (a server never does: use wb.run)",
        ) from None
    except APIError as exc:
        raise ContainerFailed(
            f"The container for {image} stopped unexpectedly",
            where=image,
            detail=str(exc.explanation or exc),
            hint="run it again; if the engine restarted meanwhile, wait until it answers",
        ) from None
