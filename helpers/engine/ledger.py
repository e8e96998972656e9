"""The per-learner ledger of the image tags the workbook created: (image id, tag) pairs, each
with the notebook that made it (so `python -m helpers reset NN` removes only that notebook's).

Cleanup removes a tag only when the ledger says the workbook made it, so a tag the learner
added (to a workbook image, or to an image of their own) is never touched. The ledger is a
small JSON file under .workbook/ledger/, one per learner and engine (two engines hold different
images, so a cleanup on one must not forget what the other holds), written atomically (a new file, then a rename) under
a lock; it is read with limits on size and shape, since a file is input like any other.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from helpers.engine.daemon import docker_host
from helpers.errors import InvalidInput
from helpers.labels import FORM, learner
from helpers.paths import STATE
from helpers.sessions import current_notebook

FOLDER = STATE / "ledger"
LOCAL_ENGINE = "unix:///var/run/docker.sock"
MAX_BYTES = 4 << 20
MAX_ENTRIES = 20_000  # the oldest are forgotten beyond this
VERSION = 1
_IMAGE_ID = re.compile(r"sha256:[0-9a-f]{64}")
_MAX_TAG = 512
_NOTEBOOK = re.compile(r"(\d\d-[a-z0-9-]{1,60})?")


@dataclass(frozen=True)
class Entry:
    image_id: str
    tag: str
    notebook: str = field(default="", compare=False)  # "" when made outside a notebook


def path_for(who: str | None = None) -> Path:
    who = who or learner()
    if not FORM.fullmatch(who):
        raise InvalidInput(
            f"{who!r} is not a workbook learner name", hint="pass who= a name such as wb.learner() gives"
        )
    host = docker_host()
    if host == LOCAL_ENGINE:
        return FOLDER / f"{who}.json"
    return FOLDER / f"{who}@{hashlib.sha256(host.encode()).hexdigest()[:12]}.json"


def entries(who: str | None = None) -> list[Entry]:
    """The (image id, tag) pairs the workbook created for `who` (default: this learner)."""
    return _read(path_for(who))


def record(image_id: str, tag: str, who: str | None = None) -> None:
    """Note that the workbook gave image `image_id` the tag `tag`."""
    entry = _checked(image_id, tag, path_for(who), current_notebook())
    with _locked(who) as found:
        found[:] = [e for e in found if e != entry] + [entry]  # the latest notebook to make it


def forget(gone: Iterable[Entry], who: str | None = None) -> None:
    """Drop entries whose tags were removed (or whose images are gone)."""
    dropped = set(gone)
    if not dropped:
        return
    with _locked(who) as found:
        found[:] = [entry for entry in found if entry not in dropped]


@contextmanager
def _locked(who: str | None) -> Iterator[list[Entry]]:
    """The entries, read and written back under an exclusive lock (other kernels of the same
    learner may write at the same time)."""
    path = path_for(who)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a+b") as lock:
        _lock(lock.fileno())
        found = _read(path)
        yield found
        _write(path, found[-MAX_ENTRIES:])


def _lock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # Windows: a single kernel per learner is the norm there
        return
    fcntl.flock(fd, fcntl.LOCK_EX)


def _read(path: Path) -> list[Entry]:
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_BYTES + 1)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise _damaged(path, str(exc)) from None
    if len(data) > MAX_BYTES:
        raise _damaged(path, f"it is larger than {MAX_BYTES >> 20} MiB")
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise _damaged(path, f"it is not JSON ({str(exc)[:200]})") from None
    if not isinstance(document, dict) or document.get("version") != VERSION:
        raise _damaged(path, f"it is not a version {VERSION} ledger")
    rows = document.get("images")
    if not isinstance(rows, list) or len(rows) > MAX_ENTRIES:
        raise _damaged(path, f"`images` is not a list of at most {MAX_ENTRIES} entries")
    found = []
    for row in rows:
        if not isinstance(row, dict) or not isinstance(row.get("id"), str) or not isinstance(row.get("tag"), str):
            raise _damaged(path, f"an entry is not {{'id': ..., 'tag': ...}}: {str(row)[:200]}")
        found.append(_checked(row["id"], row["tag"], path, row.get("notebook", "")))
    return found


def _checked(image_id: str, tag: str, path: Path, notebook: object = "") -> Entry:
    if not _IMAGE_ID.fullmatch(image_id) or not tag or len(tag) > _MAX_TAG or any(c.isspace() for c in tag):
        raise _damaged(path, f"not an image id and tag: {image_id[:80]!r}, {tag[:80]!r}")
    if not isinstance(notebook, str) or not _NOTEBOOK.fullmatch(notebook):
        raise _damaged(path, f"not a notebook name: {str(notebook)[:80]!r}")
    return Entry(image_id, tag, notebook)


def _write(path: Path, found: list[Entry]) -> None:
    rows = [{"id": e.image_id, "tag": e.tag} | ({"notebook": e.notebook} if e.notebook else {}) for e in found]
    document = {"version": VERSION, "images": rows}
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as file:
            json.dump(document, file, indent=0)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _damaged(path: Path, why: str) -> InvalidInput:
    return InvalidInput(
        "The workbook's record of the images it built cannot be read",
        where=str(path),
        detail=why,
        hint="delete that file: cleanup then keeps every image (remove the workbook's with `docker rmi`), "
        "and new builds start a fresh record",
    )
