"""The classroom kit: base and app images in one archive with a checksum manifest, saved
once by an instructor and loaded on machines with no registry (copied from a USB stick).

A kit is a tar file with two members: `images.tar` (one `docker save` of every image) and
`kit.json` (references, image ids, architecture, size and the SHA-256 of images.tar).
Loading verifies the checksum and the architecture BEFORE anything reaches the engine, and
removes whatever it loaded if the load fails half-way (a full disk, say).
"""

from __future__ import annotations

import hashlib
import json
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from docker.errors import APIError, ImageNotFound

from helpers.bases import provision as bases
from helpers.catalog import SCRATCH
from helpers.engine import daemon, proc
from helpers.engine.images import existing, unpacked_bytes
from helpers.errors import KitError, KitMissing
from helpers.labels import IMAGE_LABEL, learner
from helpers.replay import replayable

IMAGES_MEMBER, MANIFEST_MEMBER, FORMAT = "images.tar", "kit.json", 1
CHUNK = 1 << 20
Say = Callable[[str], None]


@dataclass(frozen=True)
class KitImage:
    ref: str
    id: str
    architecture: str
    size: int


def default_refs() -> list[str]:
    """Every present catalog base, plus the images this learner built from the apps."""
    refs = sorted(bases.present_refs() - {SCRATCH})
    for image in existing(filters={"label": f"{IMAGE_LABEL}={learner()}"}):
        refs += [tag for tag in image.tags if not tag.startswith(("127.0.0.1:", "localhost:"))]
    return refs


@replayable
def save(path: str | Path, refs: list[str] | None = None, say: Say = print) -> list[KitImage]:
    """Write every image in `refs` (default: default_refs()) into one kit file."""
    client = daemon.client()
    refs = refs or default_refs()
    images, stored = [], 0
    for ref in refs:
        try:
            image = client.images.get(ref)
        except ImageNotFound:
            raise KitError(
                f"Cannot put {ref} into the kit: it is not on this engine",
                hint="build or pull it first, or leave it out",
            ) from None
        images.append(KitImage(ref, str(image.id), str(image.attrs.get("Architecture", "")), unpacked_bytes(image)))
        # What `docker save` writes is the image as its store keeps it: unpacked layers on the
        # classic store, compressed ones on the containerd store. `Size` is that on both.
        stored += int(image.attrs.get("Size") or 0)
    target = Path(path)
    say(f"Saving {len(images)} images ({stored / 1e6:,.0f} MB as stored, before layer sharing) to {target}")
    with tempfile.NamedTemporaryFile(dir=target.parent, prefix=".kit-", suffix=".tar") as spool:
        digest = hashlib.sha256()
        progress = _Progress("saving", stored, say)
        for chunk in _save_stream(refs):
            spool.write(chunk)
            digest.update(chunk)
            progress.advance(len(chunk))
        spool.flush()
        progress.done()
        manifest = {
            "format": FORMAT,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "sha256": digest.hexdigest(),
            "bytes": spool.tell(),
            "images": [vars(image) for image in images],
        }
        partial = target.with_name(target.name + ".partial")
        with tarfile.open(partial, "w") as kit:
            kit.add(spool.name, arcname=IMAGES_MEMBER)
            _add_bytes(kit, MANIFEST_MEMBER, json.dumps(manifest, indent=1).encode())
        partial.replace(target)
    say(f"Kit written: {target} ({target.stat().st_size / 1e6:,.0f} MB, sha256 {manifest['sha256'][:16]}...)")
    return images


def _save_stream(refs: list[str]) -> Iterator[bytes]:
    """One `docker save` of all refs (shared layers stored once)."""
    yield from proc.stream_bytes(["docker", "save", *refs], what="docker save failed")


@replayable(local=True)
def read_manifest(path: str | Path) -> dict[str, Any]:
    """Read and fully verify a kit: its manifest and the checksum of its images."""
    source = Path(path)
    if not source.is_file():
        raise KitMissing(f"There is no kit file at {source}", hint="check the path (and that the USB stick is mounted)")
    digest = hashlib.sha256()
    manifest: dict[str, Any] | None = None
    size = 0
    try:
        with tarfile.open(source, "r|") as kit:
            for member in kit:
                stream = kit.extractfile(member)
                if stream is None:
                    continue
                if member.name == IMAGES_MEMBER:
                    size = _hash_into(stream, digest)
                elif member.name == MANIFEST_MEMBER:
                    manifest = json.loads(stream.read())
    except (tarfile.TarError, OSError, ValueError) as exc:
        raise _damaged(source, str(exc)) from None
    if manifest is None or manifest.get("format") != FORMAT:
        raise _damaged(source, "it has no kit manifest (kit.json)")
    if size != manifest["bytes"]:
        raise _damaged(source, f"it is incomplete: {size:,} bytes of images read, {manifest['bytes']:,} expected")
    if digest.hexdigest() != manifest["sha256"]:
        raise _damaged(source, "its SHA-256 checksum does not match: the content was changed or corrupted")
    return manifest


@replayable
def load(path: str | Path, say: Say = print) -> list[str]:
    """Verify a kit, then load it; on a failed load, remove what this load added."""
    manifest = read_manifest(path)
    say(f"Kit verified: {len(manifest['images'])} images, sha256 {manifest['sha256'][:16]}...")
    native = daemon.client().info().get("Architecture", "")
    wanted = {"x86_64": "amd64", "aarch64": "arm64"}.get(native, native)
    foreign = sorted({i["architecture"] for i in manifest["images"]} - {wanted})
    if foreign:
        raise KitError(
            f"This kit holds {'/'.join(foreign)} images but this engine runs {wanted}",
            where=str(path),
            hint=f"ask for a kit saved on a {wanted} machine",
        )
    client = daemon.client()
    # One listing call, no inspect per image: no race with images others delete meanwhile.
    before = {str(image["Id"]) for image in client.api.images(all=True)}
    try:
        with tarfile.open(path, "r|") as kit:
            for member in kit:
                if member.name == IMAGES_MEMBER:
                    stream = kit.extractfile(member)
                    assert stream is not None
                    progress = _Progress("loading", member.size, say)
                    client.api.load_image(_chunks(stream, progress), quiet=True)
                    progress.done()
                    break
    except (APIError, OSError, tarfile.TarError) as exc:
        _remove_new(manifest, before)
        raise KitError(
            "Loading the kit failed; nothing from it was kept",
            where=str(path),
            detail=str(exc)[-800:],
            hint="check free disk space (`df -h`, `python -m helpers doctor`) and load again",
        ) from None
    missing = [i["ref"] for i in manifest["images"] if not _present(i["ref"], i["id"])]
    if missing:
        _remove_new(manifest, before)
        raise KitError(
            "The kit loaded incompletely; nothing from it was kept",
            detail=", ".join(missing),
            hint="save the kit again on the instructor's machine",
        )
    say(f"Loaded {len(manifest['images'])} images.")
    return [i["ref"] for i in manifest["images"]]


def _present(ref: str, image_id: str) -> bool:
    try:
        return str(daemon.client().images.get(ref).id) == image_id
    except ImageNotFound:
        return False


def _remove_new(manifest: dict[str, Any], before: set[str]) -> None:
    client = daemon.client()
    for entry in manifest["images"]:
        if entry["id"] not in before:
            with suppress(APIError):  # not loaded at all
                client.images.remove(entry["id"], force=True)


def _damaged(source: Path, why: str) -> KitError:
    return KitError(
        f"The kit {source.name} is damaged or not a kit: {why}",
        where=str(source),
        hint="copy it again from the instructor's original and check its size; nothing was loaded",
    )


def _hash_into(stream: IO[bytes], digest: Any) -> int:
    size = 0
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return size


def _chunks(stream: IO[bytes], progress: _Progress) -> Iterator[bytes]:
    while chunk := stream.read(CHUNK):
        progress.advance(len(chunk))
        yield chunk


def _add_bytes(kit: tarfile.TarFile, name: str, data: bytes) -> None:
    import io

    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(time.time())
    kit.addfile(info, io.BytesIO(data))


class _Progress:
    """A text progress bar, printed every 10 %."""

    def __init__(self, what: str, total: int, say: Say) -> None:
        self.what, self.total, self.say, self.seen, self.next_step = what, max(total, 1), say, 0, 10

    def advance(self, count: int) -> None:
        self.seen += count
        percent = min(100, self.seen * 100 // self.total)
        if percent >= self.next_step and percent < 100:
            bar = "#" * (percent // 5)
            self.say(f"  {self.what} [{bar:<20}] {percent:3d}%  {self.seen / 1e6:,.0f} MB")
            self.next_step = percent // 10 * 10 + 10

    def done(self) -> None:
        self.say(f"  {self.what} [{'#' * 20}] 100%  {self.seen / 1e6:,.0f} MB")
