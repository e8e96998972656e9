"""`docker save` / `docker load` through the helpers, and compressing the archives."""

from __future__ import annotations

import json
import shutil
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers.analysis.archive import MAX_JSON
from helpers.engine import proc
from helpers.errors import ArchiveMissing, InvalidInput
from helpers.replay import replayable

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


@replayable
def save(refs: list[str] | str, path: str | Path) -> Archive:
    """`docker save -o PATH REF...`: one tar holding the images (shared layers once)."""
    names = [refs] if isinstance(refs, str) else list(refs)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    proc.run(
        ["docker", "save", "-o", str(target), "--", *names],
        timeout=1800,
        what=f"docker save of {', '.join(names)} failed",
        hint="check the image names (`docker images`) and free disk space",
    )
    return Archive(target, target.stat().st_size, time.monotonic() - started)


@replayable(local=True)
def compress(archive: Archive, method: str) -> Archive:
    """Compress a saved tar with gzip or zstd (keeping the original): `docker save IMAGE | zstd`."""
    if method not in COMPRESSORS:
        raise InvalidInput(f"Unknown compression {method!r}", hint=f"use one of {', '.join(COMPRESSORS)}")
    if not shutil.which(COMPRESSORS[method][0]):
        raise InvalidInput(f"{method} is not installed", hint=f"install it (`sudo apt-get install {method}`)")
    if not archive.path.is_file():
        raise ArchiveMissing(f"There is no image archive at {archive.path}", hint="save one first with saveload.save")
    started = time.monotonic()
    proc.run([*COMPRESSORS[method], "--", str(archive.path)], timeout=1800)
    output = archive.path.with_name(archive.path.name + SUFFIX[method])
    return Archive(output, output.stat().st_size, time.monotonic() - started, method)


MAGIC = {b"\x1f\x8b": "gzip", b"BZh": "bzip2", b"\xfd7zXZ\x00": "xz", b"\x28\xb5\x2f\xfd": "zstd"}


@replayable(local=True)
def compression(path: str | Path) -> str:
    """How an archive file is compressed, read from its first bytes as `docker load` reads
    them: "gzip", "bzip2", "xz", "zstd", or "tar" (none)."""
    with Path(path).open("rb") as stream:
        head = stream.read(6)
    return next((name for magic, name in MAGIC.items() if head.startswith(magic)), "tar")


@replayable
def load(path: str | Path) -> list[str]:
    """`docker load -i PATH`, the file given to the engine as it is: the engine recognises a
    gzip, bzip2, xz or zstd archive by its first bytes and decompresses it while reading
    (Docker 25 and later, on both image stores), so nothing is decompressed first.
    Returns what the engine reports as loaded ("Loaded image: ..." lines)."""
    source = Path(path)
    if not source.is_file():
        raise InvalidInput(f"There is no archive at {source}", hint="check the path")
    kind = compression(source)
    done = proc.run(
        ["docker", "load", "-i", str(source)],
        timeout=1800,
        what=f"docker load of {source.name} ({kind}) failed",
        hint="the file may be damaged or not an image archive: save it again"
        if kind == "tar"
        else f"the file may be damaged; an engine older than Docker 25 may not read {kind}: "
        f"decompress it first (e.g. `{kind} -d -k {source.name}`) and load the .tar",
    )
    return [line.split(": ", 1)[1] for line in done.output.splitlines() if line.startswith("Loaded image")]


@replayable(local=True)
def contents(path: str | Path) -> list[dict[str, Any]]:
    """The members of a saved archive: name, size and what each one is.

    Kinds are found the way `docker load` finds them, by following the archive's own
    references: index.json (an OCI image layout) names indexes and manifests, a manifest
    names its config and layers (with their media types: plain `tar` from the classic store,
    `tar.gz` from the containerd store, which saves layers as compressed as it keeps them),
    and manifest.json (Docker's older format) names the same config and layers again."""
    with tarfile.open(path) as archive:
        files = {member.name: member for member in archive.getmembers() if member.isfile()}
        kinds = _kinds(archive, files)
    return [{"member": name, "bytes": member.size, "kind": kinds.get(name, "other")} for name, member in files.items()]


_TOP_LEVEL = ("index.json", "oci-layout", "manifest.json", "repositories")
_INDEX_TYPES = ("application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json")
_ATTESTATION = "attestation-manifest"


def _kinds(archive: tarfile.TarFile, files: dict[str, tarfile.TarInfo]) -> dict[str, str]:
    kinds = {name: "layout" for name in _TOP_LEVEL if name in files}

    def blob(digest: str) -> str:
        return "blobs/" + digest.replace(":", "/", 1)

    def load(name: str) -> Any:
        """A member's JSON, or {} for one too big to be metadata or not JSON (bounded read)."""
        stream = archive.extractfile(files[name])
        if stream is None or files[name].size > MAX_JSON:
            return {}
        try:
            return json.loads(stream.read(MAX_JSON))
        except ValueError:
            return {}

    def walk(descriptor: dict[str, Any], attestation: bool = False) -> None:
        name = blob(str(descriptor.get("digest", "")))
        if name not in files or name in kinds:
            return  # a platform the engine did not have, or a blob reached twice
        document = load(name)
        if not isinstance(document, dict):
            return
        if descriptor.get("mediaType") in _INDEX_TYPES or "manifests" in document:
            kinds[name] = "image index"
            for child in document.get("manifests") or []:
                if isinstance(child, dict):
                    walk(child, (child.get("annotations") or {}).get("vnd.docker.reference.type") == _ATTESTATION)
            return
        kinds[name] = "attestation manifest" if attestation else "manifest"
        config_descriptor = document.get("config")
        config = blob(str(config_descriptor.get("digest", ""))) if isinstance(config_descriptor, dict) else ""
        if config in files:
            kinds[config] = "attestation config" if attestation else "image config"
        for layer in document.get("layers") or []:
            if not isinstance(layer, dict):
                continue
            layer_name = blob(str(layer.get("digest", "")))
            if layer_name in files:
                kinds[layer_name] = "attestation" if attestation else _layer_kind(str(layer.get("mediaType", "")))

    index = load("index.json") if "index.json" in files else {}
    for descriptor in index.get("manifests", []) if isinstance(index, dict) else []:
        if isinstance(descriptor, dict):
            walk(descriptor)
    entries = load("manifest.json") if "manifest.json" in files else []
    for entry in entries if isinstance(entries, list) else []:  # Docker's older format (before 25: the only one)
        if not isinstance(entry, dict):
            continue
        if str(entry.get("Config", "")) in files:
            kinds.setdefault(str(entry["Config"]), "image config")
        for layer in entry.get("Layers") or []:
            if isinstance(layer, str) and layer in files and layer not in kinds:
                kinds[layer] = _sniffed_layer_kind(archive, files[layer])
    for name in files:
        if name not in kinds and name.startswith("blobs/"):
            kinds[name] = "legacy layer metadata"  # the older format's per-layer JSON files
    return kinds


def _layer_kind(media_type: str) -> str:
    if media_type.endswith(("gzip", "tar.gz")):
        return "layer (tar.gz)"
    if media_type.endswith("zstd"):
        return "layer (tar.zst)"
    return "layer (tar)"


def _sniffed_layer_kind(archive: tarfile.TarFile, member: tarfile.TarInfo) -> str:
    stream = archive.extractfile(member)
    head = stream.read(4) if stream else b""
    if head.startswith(b"\x1f\x8b"):
        return "layer (tar.gz)"
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        return "layer (tar.zst)"
    return "layer (tar)"


@replayable(local=True)
def read_json(path: str | Path, member: str) -> Any:
    with tarfile.open(path) as archive:
        stream = archive.extractfile(member)
        if stream is None:
            raise InvalidInput(f"{member} is not a file in {path}")
        return json.load(stream)
