"""Running containers safely: loopback-only ports, readiness checks, always removed."""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from docker.errors import APIError, ImageNotFound
from docker.models.containers import Container

from helpers.engine import daemon
from helpers.errors import ContainerFailed, InvalidInput, NoSuchImage
from helpers.labels import object_labels, object_name
from helpers.replay import replayable

LOOPBACK = "127.0.0.1"
FORBIDDEN_MOUNTS = ("/var/run/docker.sock", "/run/docker.sock")


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


def _refuse_engine_socket(volumes: Mapping[str, Mapping[str, str]] | None) -> None:
    for host_path in volumes or {}:
        if host_path in FORBIDDEN_MOUNTS:
            raise InvalidInput(
                "The workbook never mounts the engine's socket into a container",
                where=host_path,
                hint="it would give the container root on the host",
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
    volumes: Mapping[str, Mapping[str, str]] | None = None,
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
    _refuse_engine_socket(volumes)
    published = None
    if port is not None:
        chosen = free_port(host_port)
        if host_port is not None and chosen != host_port:
            print(f"Port {host_port} on {LOOPBACK} is in use; using {chosen} instead.")
        published = {f"{port}/tcp": (LOOPBACK, chosen)}
        host_port = chosen
    client = daemon.client()
    try:
        container = client.containers.run(
            image,
            command,
            detach=True,
            ports=published,
            environment=dict(env or {}),
            entrypoint=entrypoint,
            user=user,
            name=object_name(name) if name else None,
            labels=object_labels(),
            volumes=dict(volumes or {}),
            read_only=read_only,
            cap_drop=list(cap_drop) if cap_drop else None,
            tmpfs=dict(tmpfs or {}),
            network=network,
            privileged=False,
            init=init,
        )
    except ImageNotFound:
        raise NoSuchImage(
            f"The image {image} is not on this engine", hint="build it first (helpers.build) or check the tag"
        ) from None
    except APIError as exc:
        _remove_named(name)
        raise _create_failed(image, exc) from None
    running = RunningContainer(container, host_port)
    try:
        _wait_ready(running, wait_http if port is not None else None, wait_log, wait_healthy, timeout)
        yield running
    finally:
        with suppress(APIError):  # already gone (removed by the engine or a restart)
            container.remove(force=True, v=True)


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


def _remove_named(name: str | None) -> None:
    if name:
        with suppress(APIError):
            daemon.client().containers.get(object_name(name)).remove(force=True)


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
    volumes: Mapping[str, Mapping[str, str]] | None = None,
    init: bool = False,
) -> RunOutput:
    """Run a command-line container to the end; returns exit code, output and wall time.
    The container is removed afterwards, whatever happens. `init=True` is `docker run --init`."""
    _refuse_engine_socket(volumes)
    client = daemon.client()
    started = time.monotonic()
    try:
        container = client.containers.create(
            image,
            command,
            entrypoint=entrypoint,
            environment=dict(env or {}),
            user=user,
            platform=platform,
            network_mode=network,
            labels=object_labels(),
            volumes=dict(volumes or {}),
            privileged=False,
            init=init,
        )
    except ImageNotFound:
        raise NoSuchImage(
            f"The image {image} is not on this engine", hint="build it first (helpers.build) or check the tag"
        ) from None
    except APIError as exc:
        raise _create_failed(image, exc) from None
    try:
        container.start()
        code = int(container.wait(timeout=timeout)["StatusCode"])
        output = container.logs().decode(errors="replace")
    except APIError as exc:
        raise ContainerFailed(
            f"The container for {image} could not start",
            where=image,
            detail=exc.explanation or str(exc),
            hint="check the command and entrypoint exist in the image",
        ) from None
    finally:
        with suppress(APIError):
            container.remove(force=True, v=True)
    return RunOutput(code, output, time.monotonic() - started)
