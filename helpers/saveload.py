"""`docker save` / `docker load` through the helpers, and compressing the archives."""

from __future__ import annotations

import json
import shutil
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import proc
from .errors import ArchiveMissing, InvalidInput

COMPRESSORS: dict[str, list[str]] = {
    "gzip": ["gzip", "-6", "-k", "-f"],
    "zstd": ["zstd", "-3", "-T0", "-q", "-f"],
}
SUFFIX = {"gzip": ".gz", "zstd": ".zst"}


@dataclass(frozen=True)
class Archive:
    path: Path
    bytes: int
    seconds: float
    method: str = "tar"

    @property
    def mb(self) -> float:
        return self.bytes / 1e6


def save(refs: list[str] | str, path: str | Path) -> Archive:
    """`docker save -o PATH REF...`: one tar holding the images (shared layers once)."""
    names = [refs] if isinstance(refs, str) else list(refs)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    proc.run(
        ["docker", "save", "-o", str(target), *names],
        timeout=1800,
        what=f"docker save of {', '.join(names)} failed",
        hint="check the image names (`docker images`) and free disk space",
    )
    return Archive(target, target.stat().st_size, time.monotonic() - started)


def compress(archive: Archive, method: str) -> Archive:
    """Compress a saved tar with gzip or zstd (keeping the original)."""
    if method not in COMPRESSORS:
        raise InvalidInput(f"Unknown compression {method!r}", hint=f"use one of {', '.join(COMPRESSORS)}")
    if not shutil.which(COMPRESSORS[method][0]):
        raise InvalidInput(f"{method} is not installed", hint=f"install it (`sudo apt-get install {method}`)")
    if not archive.path.is_file():
        raise ArchiveMissing(f"There is no image archive at {archive.path}", hint="save one first with saveload.save")
    started = time.monotonic()
    proc.run([*COMPRESSORS[method], str(archive.path)], timeout=1800)
    output = archive.path.with_name(archive.path.name + SUFFIX[method])
    return Archive(output, output.stat().st_size, time.monotonic() - started, method)


def load(path: str | Path) -> list[str]:
    """`docker load -i PATH` (tar, gzip, bzip2 or xz; zstd is decompressed first).
    Returns what the engine reports as loaded ("Loaded image: ..." lines)."""
    source = Path(path)
    if not source.is_file():
        raise InvalidInput(f"There is no archive at {source}", hint="check the path")
    if source.suffix == ".zst":
        plain = source.with_suffix("")
        proc.run(["zstd", "-d", "-q", "-f", str(source), "-o", str(plain)], timeout=1800)
        source = plain
    done = proc.run(
        ["docker", "load", "-i", str(source)],
        timeout=1800,
        what=f"docker load of {source.name} failed",
        hint="the file may be damaged or not an image archive: save it again",
    )
    return [line.split(": ", 1)[1] for line in done.output.splitlines() if line.startswith("Loaded image")]


def contents(path: str | Path) -> list[dict[str, Any]]:
    """The members of a saved archive: name, size and what each one is."""
    rows = []
    with tarfile.open(path) as archive:
        for member in archive.getmembers():
            if member.isfile():
                rows.append({"member": member.name, "bytes": member.size, "kind": _kind(archive, member)})
    return rows


def read_json(path: str | Path, member: str) -> Any:
    with tarfile.open(path) as archive:
        stream = archive.extractfile(member)
        if stream is None:
            raise InvalidInput(f"{member} is not a file in {path}")
        return json.load(stream)


def _kind(archive: tarfile.TarFile, member: tarfile.TarInfo) -> str:
    if member.name in ("manifest.json", "index.json", "oci-layout", "repositories"):
        return "index"
    stream = archive.extractfile(member)
    head = stream.read(512) if stream else b""
    if head.startswith(b"{"):
        text = head.decode(errors="replace")
        if '"architecture"' in text or '"rootfs"' in text:
            return "image config"
        return "manifest"
    return "layer (tar)"
