"""A small read-only HTTP server on 127.0.0.1, so a build can fetch a file by URL (`ADD URL`).

BuildKit downloads `ADD https://...` sources itself, from the engine's network, not from a
container. On a Linux engine that shares the machine's network (and on the workbook's second
engine, whose network the notebook shares) 127.0.0.1 is this machine, so a lesson can serve a
file it wrote and show what `ADD --checksum` does without reaching the internet. (Docker Desktop's
engine runs in a VM: there the host is `host.docker.internal`, not 127.0.0.1.)

Only regular files directly inside the folder are served, GET and HEAD only, no listings.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from helpers.errors import InvalidInput

LOOPBACK = "127.0.0.1"
PREFERRED_PORT = 18765  # the same address every run when it is free, so recorded build arguments match


class _Handler(SimpleHTTPRequestHandler):
    def list_directory(self, path: Any) -> None:  # no listings: only named files are served
        self.send_error(404, "not found")
        return None

    def send_head(self) -> Any:
        name = self.path.split("?", 1)[0].lstrip("/")
        if "/" in name or name in ("", ".", "..") or not (Path(self.directory) / name).is_file():
            self.send_error(404, "not found")
            return None
        return super().send_head()

    def log_message(self, format: str, *args: Any) -> None:  # quiet in a notebook
        return


class FileServer:
    """The running server: `url(name)` is the address of one file in its folder."""

    def __init__(self, folder: Path, server: ThreadingHTTPServer) -> None:
        self.folder = folder
        self._server = server
        self.port = int(server.server_address[1])

    def url(self, name: str) -> str:
        if "/" in name or not (self.folder / name).is_file():
            raise InvalidInput(f"{name!r} is not a file in {self.folder.name}", where=str(self.folder))
        return f"http://{LOOPBACK}:{self.port}/{name}"


@contextmanager
def serve(folder: str | Path) -> Iterator[FileServer]:
    """Serve the files of `folder` on 127.0.0.1 (port 18765 when free) until the `with` block ends."""
    root = Path(folder).resolve()
    if not root.is_dir():
        raise InvalidInput(f"There is no folder {root.name} to serve", where=str(root))
    handler = partial(_Handler, directory=str(root))
    try:
        server = ThreadingHTTPServer((LOOPBACK, PREFERRED_PORT), handler)
    except OSError:  # taken: any free port
        server = ThreadingHTTPServer((LOOPBACK, 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="workbook-fileserver", daemon=True)
    thread.start()
    try:
        yield FileServer(root, server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


__all__ = ["FileServer", "serve"]
