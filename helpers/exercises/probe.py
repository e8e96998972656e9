"""Looking at a built image and a running container the way a reviewer would: which files the
image holds, which ports the process listens on, what it answers, and who it runs as."""

from __future__ import annotations

import io
import re
import tarfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from docker.errors import APIError

from helpers.catalog import BUSYBOX
from helpers.engine import daemon
from helpers.engine.run import remove_after_use, run, run_once
from helpers.errors import ContainerFailed, WorkbookError
from helpers.labels import object_labels
from helpers.replay import replayable

ANY, LOOPBACK = "any address", "loopback only"


class _ChunkReader(io.RawIOBase):
    """A file-like view of a stream of byte chunks (what `container.export()` yields)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._buffer:
            try:
                self._buffer = next(self._chunks)
            except StopIteration:
                return 0
        count = min(len(target), len(self._buffer))
        target[:count] = self._buffer[:count]
        self._buffer = self._buffer[count:]
        return count


# Files the engine adds to every container's filesystem; they are not part of the image.
ENGINE_FILES = frozenset({".dockerenv", "dev/console", "etc/hostname", "etc/hosts", "etc/mtab", "etc/resolv.conf"})


@replayable
def image_files(ref: str) -> dict[str, int]:
    """Every file and symlink in the image's filesystem ("usr/bin/env" -> size in bytes),
    read by exporting a container that never starts (the files the engine adds are left out)."""
    client = daemon.client()
    container = client.containers.create(ref, command=["/none"], labels=object_labels())
    files: dict[str, int] = {}
    try:
        stream = io.BufferedReader(_ChunkReader(container.export(chunk_size=1 << 20)), buffer_size=1 << 20)
        with tarfile.open(fileobj=stream, mode="r|") as archive:
            for member in archive:
                name = member.name.removeprefix("./").lstrip("/")
                if not member.isdir() and name not in ENGINE_FILES:
                    files[name] = member.size
    finally:
        remove_after_use(container)  # and its anonymous volumes (the image's VOLUMEs)
    return files


@replayable
def listening(container_id: str) -> set[tuple[str, int]] | None:
    """The TCP ports a container listens on, as (ANY or LOOPBACK, port), read from
    /proc/net/tcp by a busybox container that shares its network. None if that failed."""
    try:
        done = run_once(
            BUSYBOX,
            ["sh", "-c", "cat /proc/net/tcp /proc/net/tcp6 2>/dev/null"],
            network=f"container:{container_id}",
            timeout=30,
        )
    except WorkbookError:
        return None
    return parse_proc_net_tcp(done.output)


def parse_proc_net_tcp(text: str) -> set[tuple[str, int]]:
    """(ANY or LOOPBACK, port) for each listening socket in /proc/net/tcp(6) text."""
    found: set[tuple[str, int]] = set()
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 4 or parts[3] != "0A" or ":" not in parts[1]:  # 0A: LISTEN
            continue
        address, _, port_hex = parts[1].partition(":")
        try:
            port = int(port_hex, 16)
        except ValueError:
            continue
        if set(address) == {"0"}:
            found.add((ANY, port))
        elif address in ("0100007F", "00000000000000000000000001000000"):
            found.add((LOOPBACK, port))
        else:
            found.add((f"address {address}", port))
    return found


def describe_ports(ports: set[tuple[str, int]]) -> str:
    return ", ".join(f"{port} ({where})" for where, port in sorted(ports, key=lambda p: p[1])) or "no port"


@dataclass
class Served:
    """What happened when a web app's image was started detached with a port mapping."""

    port: int
    answered: bool = False
    status: int | None = None
    body: str = ""
    exit_code: int | None = None
    start_error: str = ""
    logs: str = ""
    ports: set[tuple[str, int]] | None = None
    uids: set[str] = field(default_factory=set)
    seconds: float = 0.0

    def last_logs(self, count: int = 5) -> str:
        """The first error line of the logs (if any), then the last `count` lines."""
        lines = self.logs.rstrip().splitlines()
        if not lines:
            return "(no output)"
        tail = lines[-count:]
        errors = [line for line in lines if _ERROR.search(line)]
        if errors and errors[0] not in tail:
            return "\n".join([errors[0], "…", *tail])
        return "\n".join(tail)


_ERROR = re.compile(r"\b(Error|error|panic|fatal|Traceback)\b")


def _http_get(url: str) -> tuple[int, str] | None:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return int(response.status), response.read(4096).decode(errors="replace")
    except urllib.error.HTTPError as error:
        return int(error.code), error.read(4096).decode(errors="replace")
    except (TimeoutError, urllib.error.URLError, OSError):
        return None


def _uids(container_id: str) -> set[str]:
    try:
        top = daemon.client().api.top(container_id, ps_args="-o uid,pid,comm")
    except APIError:
        return set()
    titles = [title.upper() for title in top.get("Titles") or []]
    if "UID" not in titles:
        return set()
    column = titles.index("UID")
    return {row[column] for row in top.get("Processes") or []}


@replayable
def serve(ref: str, port: int, path: str = "/", timeout: float = 30) -> Served:
    """`docker run -d -p 127.0.0.1:FREE:PORT REF`, then wait until GET `path` answers, the
    container exits, it is seen listening only elsewhere, or `timeout` passes. Never raises
    for what the app does; the container is always removed."""
    served = Served(port)
    started = time.monotonic()
    try:
        with run(ref, port=port, wait_http=None) as box:
            container_id = str(box.container.id)
            url = box.url + path
            wrong_port_seen = 0
            next_probe = started + 2.0
            while True:
                status = box.status()
                if status in ("exited", "dead"):
                    served.exit_code = int(box.container.attrs["State"]["ExitCode"])
                    break
                answer = _http_get(url)
                if answer is not None:
                    served.answered = True
                    served.status, served.body = answer
                    served.uids = _uids(container_id)
                    break
                now = time.monotonic()
                if now >= next_probe:
                    next_probe = now + 1.5
                    served.ports = listening(container_id)
                    if served.ports and (ANY, port) not in served.ports:
                        wrong_port_seen += 1
                        if wrong_port_seen >= 2:  # seen twice: it has settled on another port or address
                            break
                if now - started > timeout:
                    break
                time.sleep(0.25)
            if served.exit_code is None and not served.answered:
                served.ports = listening(container_id)
            served.logs = box.logs()
    except ContainerFailed as error:
        served.start_error = error.detail or str(error)
    served.seconds = time.monotonic() - started
    return served


__all__ = ["ANY", "LOOPBACK", "Served", "describe_ports", "image_files", "listening", "parse_proc_net_tcp", "serve"]
