"""Read an image archive as a stream: from the engine (`docker save`) or from a saved file.

Both layouts are understood: the legacy one (manifest.json, <id>/layer.tar, <config>.json) and the OCI one
Docker 25+ writes (index.json, oci-layout, blobs/sha256/..., plus manifest.json). Nothing is extracted and the
archive is never held in memory: each layer blob is handed to a visitor as it streams past, keyed by its member
name; small JSON members are kept; the layer order is resolved once the manifest and config have arrived.
"""

from __future__ import annotations

import json
import posixpath
import zlib
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Generic, NoReturn, TypeVar

from docker.errors import APIError

from helpers.engine import daemon
from helpers.engine.images import get as get_image
from helpers.engine.images import instruction_text
from helpers.errors import (
    ArchiveMissing,
    ArchiveTruncated,
    EmptyImage,
    ExportFailed,
    InvalidInput,
    NoSuchImage,
    NotAnImageArchive,
)

T = TypeVar("T")

BLOCK = 512
ZERO_BLOCK = bytes(BLOCK)
CHUNK = 1 << 20
MAX_JSON = 32 << 20  # configs and manifests are small; anything bigger is not metadata
HEADER_ONLY = frozenset(b"123456")  # hard link, symlink, char, block, dir, fifo: no data follows
ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.zst", ".tzst")
GZIP_MAGIC, ZSTD_MAGIC = b"\x1f\x8b", b"\x28\xb5\x2f\xfd"
EMPTY_HINT = (
    "it was built FROM scratch with only metadata (LABEL, ENV, ...): there are no files to analyse; "
    "add a COPY, or start FROM a base image"
)
SAVE_HINT = (
    "save the image again (`docker save -o image.tar REF` or helpers.archive.save) and check the disk is not full"
)


class _Truncated(Exception):
    pass


class _NotTar(Exception):
    pass


# --- byte streams -----------------------------------------------------------------------------------------------


class Stream:
    """A forward-only byte source with exact reads, cheap skips and a small push-back buffer."""

    def __init__(self) -> None:
        self._head = b""

    def _raw_read(self, n: int) -> bytes:
        raise NotImplementedError

    def _raw_skip(self, n: int) -> int:
        done = 0
        while done < n:
            data = self._raw_read(min(n - done, CHUNK))
            if not data:
                break
            done += len(data)
        return done

    def read(self, n: int) -> bytes:
        """Exactly n bytes, fewer only at the end of the stream."""
        parts: list[bytes] = []
        if self._head:
            parts.append(self._head[:n])
            self._head = self._head[n:]
            n -= len(parts[0])
        while n > 0:
            data = self._raw_read(n)
            if not data:
                break
            parts.append(data)
            n -= len(data)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def skip(self, n: int) -> int:
        taken = min(n, len(self._head))
        self._head = self._head[taken:]
        return taken + (self._raw_skip(n - taken) if n > taken else 0)

    def peek(self, n: int) -> bytes:
        data = self.read(n)
        self._head = data + self._head
        return data


class ChunkStream(Stream):
    """Bytes from an iterator of chunks, e.g. the engine's `docker save` response."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        super().__init__()
        self._chunks = chunks
        self._buf = b""
        self._pos = 0
        self.received = 0

    def _next(self) -> bool:
        while self._pos >= len(self._buf):
            try:
                chunk = next(self._chunks, b"")
            except Exception as exc:  # the engine stopped sending (connection reset, daemon restart)
                raise _Truncated(f"the engine stopped sending: {exc}") from None
            if not chunk:
                return False
            self._buf, self._pos = chunk, 0
            self.received += len(chunk)
        return True

    def _raw_read(self, n: int) -> bytes:
        if not self._next():
            return b""
        data = self._buf[self._pos : self._pos + n]
        self._pos += len(data)
        return data

    def _raw_skip(self, n: int) -> int:
        done = 0
        while done < n and self._next():
            step = min(n - done, len(self._buf) - self._pos)
            self._pos += step
            done += step
        return done


class FileStream(Stream):
    """Bytes from a binary file; skips seek when the file allows it."""

    def __init__(self, file: BinaryIO) -> None:
        super().__init__()
        self._file = file
        try:
            self._size: int | None = Path(file.name).stat().st_size if file.seekable() else None
        except (OSError, AttributeError, TypeError):
            self._size = None

    def _raw_read(self, n: int) -> bytes:
        return self._file.read(n)

    def _raw_skip(self, n: int) -> int:
        if self._size is None:
            return super()._raw_skip(n)
        step = max(0, min(n, self._size - self._file.tell()))
        self._file.seek(step, 1)
        return step


class Bounded(Stream):
    """The data of one tar member: at most `size` bytes of its parent; ending early means truncation."""

    def __init__(self, parent: Stream, size: int) -> None:
        super().__init__()
        self._parent = parent
        self.size = size
        self.remaining = size

    def _raw_read(self, n: int) -> bytes:
        n = min(n, self.remaining)
        if n <= 0:
            return b""
        data = self._parent.read(n)
        if len(data) < n:
            raise _Truncated("a member's data ends early")
        self.remaining -= n
        return data

    def _raw_skip(self, n: int) -> int:
        n = min(n, self.remaining)
        if self._parent.skip(n) < n:
            raise _Truncated("a member's data ends early")
        self.remaining -= n
        return n

    def drain(self) -> None:
        self.skip(len(self._head) + self.remaining)


class Inflated(Stream):
    """Gzip (zlib) or zstd decompression of a parent stream, in bounded pieces."""

    def __init__(self, parent: Stream, kind: str) -> None:
        super().__init__()
        self._parent = parent
        self._kind = kind
        self._out = b""
        self._pos = 0
        self._done = False
        self._d = self._decompressor()

    def _decompressor(self) -> Any:
        if self._kind == "gzip":
            return zlib.decompressobj(zlib.MAX_WBITS | 16)
        try:
            import zstandard  # in requirements.txt; optional for the helpers package itself
        except ImportError:
            raise InvalidInput(
                "This archive is zstd-compressed and the zstandard module is not installed",
                hint="decompress it first (`zstd -d image.tar.zst`) or `pip install zstandard`",
            ) from None
        return zstandard.ZstdDecompressor().decompressobj()

    def _fill(self) -> bool:
        while self._pos >= len(self._out) and not self._done:
            self._out, self._pos = self._inflate(), 0
        return self._pos < len(self._out)

    def _inflate(self) -> bytes:
        if getattr(self._d, "eof", False):
            rest = self._d.unused_data or self._parent.read(1 << 16)
            if self._kind != "gzip" or rest[:2] != GZIP_MAGIC:
                self._done = True  # the last frame ended; trailing padding is ignored
                return b""
            self._d = self._decompressor()  # a multi-member gzip file: the next member follows
            return self._feed(rest)
        return self._feed(getattr(self._d, "unconsumed_tail", b"") or self._parent.read(1 << 16))

    def _feed(self, data: bytes) -> bytes:
        if not data:
            if getattr(self._d, "eof", self._kind == "zstd"):
                self._done = True
                return b""
            raise _Truncated("the compressed data ends early")
        try:
            return self._d.decompress(data, CHUNK) if self._kind == "gzip" else self._d.decompress(data)
        except Exception as exc:  # zlib.error / zstd.ZstdError: the bytes are not what the header says
            raise _NotTar(f"the compressed data is damaged: {exc}") from None

    def _raw_read(self, n: int) -> bytes:
        if not self._fill():
            return b""
        data = self._out[self._pos : self._pos + n]
        self._pos += len(data)
        return data


def decompressed(stream: Stream) -> Stream:
    """The stream itself, or a decompressing view when it starts with a gzip or zstd magic number."""
    magic = stream.peek(4)
    if magic.startswith(GZIP_MAGIC):
        return Inflated(stream, "gzip")
    if magic.startswith(ZSTD_MAGIC):
        return Inflated(stream, "zstd")
    return stream


# --- tar ----------------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class TarEntry:
    name: str
    type: str  # the tar typeflag: "0" file, "1" hard link, "2" symlink, "5" directory, ...
    size: int
    linkname: str
    mode: int


def _number(field: bytes) -> int:
    if field[:1] and field[0] & 0x80:  # base-256, for sizes over 8 GiB
        return int.from_bytes(field[1:], "big")
    text = field.split(b"\0", 1)[0].strip()
    try:
        return int(text, 8) if text else 0
    except ValueError:
        raise _NotTar("a header field is not a number") from None


def _text(field: bytes) -> str:
    return field.split(b"\0", 1)[0].decode("utf-8", "backslashreplace")


def looks_like_tar(block: bytes) -> bool:
    """A valid tar header (checksum verified), or the all-zero block of an empty tar."""
    if len(block) < BLOCK:
        return False
    if block[:BLOCK] == ZERO_BLOCK:
        return True
    try:
        stored = _number(block[148:156])
    except _NotTar:
        return False
    return stored == sum(block[:148]) + 256 + sum(block[156:BLOCK])


def _parse_header(block: bytes) -> TarEntry:
    if not looks_like_tar(block):
        raise _NotTar("a tar header is damaged (its checksum does not match)")
    name = _text(block[0:100])
    if block[257:263] == b"ustar\x00" and block[345] != 0:
        name = _text(block[345:500]) + "/" + name
    flag = chr(block[156]) if block[156] else "0"
    return TarEntry(name, flag, _number(block[124:136]), _text(block[157:257]), _number(block[100:108]))


def _pax(data: bytes) -> dict[str, str]:
    records: dict[str, str] = {}
    pos = 0
    try:
        while pos < len(data) and data[pos] != 0:
            space = data.index(b" ", pos)
            length = int(data[pos:space])
            key, _, value = data[space + 1 : pos + length - 1].partition(b"=")
            records[key.decode()] = value.decode("utf-8", "backslashreplace")
            pos += length
    except ValueError:
        raise _NotTar("a pax header is damaged") from None
    return records


class TarReader:
    """Iterates a tar stream: each member with a reader over its data; unread data is skipped on the next step.
    `ended` tells whether the end-of-archive marker was seen."""

    def __init__(self, stream: Stream) -> None:
        self.stream = stream
        self.ended = False

    def __iter__(self) -> Iterator[tuple[TarEntry, Bounded]]:
        pending: dict[str, str] = {}
        while True:
            block = self.stream.read(BLOCK)
            if not block or block == ZERO_BLOCK:
                self.ended = bool(block)
                return
            if len(block) < BLOCK:
                raise _Truncated("a tar header is cut short")
            entry = _parse_header(block)
            data = Bounded(self.stream, 0 if ord(entry.type) in HEADER_ONLY else entry.size)
            if entry.type in "xgLK":
                _extended(entry, data, pending)
            else:
                _apply(entry, pending)
                pending = {}
                yield entry, data
            data.drain()
            padding = -data.size % BLOCK
            if self.stream.skip(padding) < padding:
                raise _Truncated("the tar padding is cut short")


def iter_tar(stream: Stream) -> Iterator[tuple[TarEntry, Bounded]]:
    """Each member of the tar `stream` with a reader over its data."""
    return iter(TarReader(stream))


def _extended(entry: TarEntry, data: Bounded, pending: dict[str, str]) -> None:
    body = data.read(min(entry.size, MAX_JSON))
    if entry.type == "x":
        pending.update(_pax(body))
    elif entry.type == "L":
        pending["path"] = _text(body)
    elif entry.type == "K":
        pending["linkpath"] = _text(body)


def _apply(entry: TarEntry, pending: dict[str, str]) -> None:
    if "path" in pending:
        entry.name = pending["path"]
    if "linkpath" in pending:
        entry.linkname = pending["linkpath"]
    if "size" in pending:
        entry.size = int(pending["size"])


# --- image archives -------------------------------------------------------------------------------------------

LayerVisitor = Callable[[Iterator[tuple[TarEntry, Bounded]]], T]


@dataclass
class LayerBlob(Generic[T]):
    """One filesystem layer: where it sits, what made it, and what the visitor found in it."""

    number: int  # 1 = the bottom layer
    diff_id: str
    blob: str  # its member name in the archive
    blob_bytes: int  # as stored (compressed or not)
    compression: str  # "none", "gzip" or "zstd"
    created_by: str
    instruction: str
    result: T = field(repr=False)


@dataclass
class ImageArchive(Generic[T]):
    source: str  # "engine <ref>" or the file path
    ref: str
    image_id: str
    layout: str  # "oci" (index.json, Docker 25+) or "docker" (manifest.json only)
    config: dict[str, Any] = field(repr=False)
    layers: list[LayerBlob[T]]
    archive_bytes: int


@dataclass
class _Scan(Generic[T]):
    jsons: dict[str, bytes] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    layers: dict[str, tuple[T, int, str]] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)
    ended: bool = False
    total: int = 0


def is_archive_path(source: str | Path) -> bool:
    """A Path, an existing file, or a name ending in an archive suffix; anything else is an image reference."""
    if isinstance(source, Path):
        return True
    return Path(source).is_file() or source.lower().endswith(ARCHIVE_SUFFIXES)


def read_image(source: str | Path, visit: LayerVisitor[T], *, image: str | None = None) -> ImageArchive[T]:
    """Stream the image `source` (an engine reference or an archive path) and run `visit` over every layer.

    `visit` receives an iterator of (TarEntry, data reader) and returns a per-layer result (never the bytes).
    `image` picks one image from an archive file that holds several (a tag such as "busybox:1.37")."""
    if is_archive_path(source):
        path = Path(source)
        if not path.is_file():
            raise ArchiveMissing(
                f"There is no image archive at {path}",
                where=str(path.resolve()),
                hint="save one first: `docker save -o image.tar REF` or helpers.archive.save(REF, path)",
            )
        with path.open("rb") as file:
            return _read(FileStream(file), str(path), visit, image=image)
    ref = str(source)
    chunks = _engine_chunks(ref)
    try:
        return _read(ChunkStream(chunks), f"engine image {ref}", visit, ref=ref)
    finally:
        chunks.close()


def _engine_chunks(ref: str) -> Generator[bytes, None, None]:
    """The engine's export of `ref` as chunks, its first one already fetched so that refusals surface here."""
    _check_engine_image(ref)
    chunks = daemon.client().api.get_image(ref, chunk_size=CHUNK)
    try:
        first = next(chunks, b"")
    except APIError as exc:
        raise ExportFailed(
            f"The engine would not export the image {ref}",
            where=f"engine {daemon.docker_host()}",
            detail=str(exc.explanation or exc),
            hint="check `docker save REF > /dev/null` in a terminal; the engine log may say more",
        ) from None
    return _prepend(first, chunks)


def _prepend(first: bytes, rest: Generator[bytes, None, None]) -> Generator[bytes, None, None]:
    try:
        yield first
        yield from rest
    finally:
        rest.close()


def _check_engine_image(ref: str) -> None:
    layers = get_image(ref).attrs.get("RootFS", {}).get("Layers") or []
    if not layers:
        raise EmptyImage(
            f"The image {ref} has no filesystem layer",
            where=f"engine {daemon.docker_host()}",
            hint=EMPTY_HINT,
        )


def _read(
    stream: Stream, where: str, visit: LayerVisitor[T], *, image: str | None = None, ref: str = ""
) -> ImageArchive[T]:
    scan: _Scan[T] = _Scan()
    try:
        _scan(decompressed(stream), scan, visit)
        return _assemble(scan, where, image, ref)
    except _Truncated as exc:
        raise ArchiveTruncated(
            "The image archive ends too early", where=where, detail=str(exc), hint=SAVE_HINT
        ) from None
    except _NotTar as exc:
        what = "is damaged" if scan.names else "is not a tar archive"
        raise NotAnImageArchive(
            f"The image archive {what}", where=where, detail=str(exc), hint="pass a file written by `docker save`"
        ) from None


def _scan(stream: Stream, scan: _Scan[T], visit: LayerVisitor[T]) -> None:
    head = stream.peek(BLOCK)
    if not head:
        raise _NotTar("the file is empty")
    if not looks_like_tar(head):
        raise _NotTar("its first bytes are not a tar header")
    reader = TarReader(stream)
    for entry, data in reader:
        name = posixpath.normpath(entry.name).lstrip("/")
        scan.names.append(name)
        scan.total += entry.size
        if entry.type == "2":
            scan.aliases[name] = posixpath.normpath(posixpath.join(posixpath.dirname(name), entry.linkname))
        elif entry.type in "07":
            _member(name, data, scan, visit)
    scan.ended = reader.ended


def _member(name: str, data: Bounded, scan: _Scan[T], visit: LayerVisitor[T]) -> None:
    head = data.peek(BLOCK)
    if head[:2] == GZIP_MAGIC or head[:4] == ZSTD_MAGIC:
        compression, layer = ("gzip" if head[:2] == GZIP_MAGIC else "zstd"), decompressed(data)
        if not looks_like_tar(layer.peek(BLOCK)):
            return
    elif len(head) == BLOCK and looks_like_tar(head):
        compression, layer = "none", data
    elif head.lstrip()[:1] in (b"{", b"[") and data.size <= MAX_JSON:
        scan.jsons[name] = data.read(data.size)
        return
    else:
        return
    scan.layers[name] = (visit(iter_tar(layer)), data.size, compression)


def _assemble(scan: _Scan[T], where: str, wanted: str | None, ref: str) -> ImageArchive[T]:
    if "manifest.json" in scan.jsons:
        tag, config_name, layer_names = _docker_manifest(scan, where, wanted)
        layout = "oci" if "index.json" in scan.jsons else "docker"
    elif "index.json" in scan.jsons:
        tag, config_name, layer_names = _oci_index(scan, where, wanted)
        layout = "oci"
    else:
        _missing(scan, where, "no manifest.json or index.json")
    config = _json(scan, config_name, where)
    diff_ids = list((config.get("rootfs") or {}).get("diff_ids") or [])
    if not layer_names:
        raise EmptyImage("The image has no filesystem layer", where=where, hint=EMPTY_HINT)
    if len(diff_ids) != len(layer_names):
        raise NotAnImageArchive(
            "The image config and manifest disagree on the number of layers",
            where=where,
            detail=f"{len(diff_ids)} diff ids, {len(layer_names)} layers",
        )
    history = _history(config, len(layer_names))
    layers = [
        _layer(number, name, diff_id, step, scan, where)
        for number, (name, diff_id, step) in enumerate(zip(layer_names, diff_ids, history, strict=True), 1)
    ]
    image_id = "sha256:" + config_name.rsplit("/", 1)[-1].removesuffix(".json")
    return ImageArchive(where, ref or tag, image_id, layout, config, layers, scan.total)


def _layer(number: int, name: str, diff_id: str, step: dict[str, Any], scan: _Scan[T], where: str) -> LayerBlob[T]:
    resolved = name
    for _ in range(8):  # legacy archives link a repeated layer to its first copy
        resolved = scan.aliases.get(resolved, resolved)
    if resolved not in scan.layers:
        _missing(scan, where, f"layer {number} ({name}) is not in the archive")
    result, size, compression = scan.layers[resolved]
    created_by = str(step.get("created_by", ""))
    instruction = instruction_text(created_by, str(step.get("comment", ""))) if step else "(missing)"
    return LayerBlob(number, diff_id, resolved, size, compression, created_by, instruction, result)


def _history(config: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """The history entry behind each layer: the next one not flagged empty_layer (as dive pairs them)."""
    steps = [step for step in config.get("history") or [] if not step.get("empty_layer")]
    return (steps + [{}] * count)[:count]


def _missing(scan: _Scan[Any], where: str, what: str) -> NoReturn:
    if not scan.ended:
        raise _Truncated(f"the archive stopped before its end marker; {what}")
    names = ", ".join(scan.names[:6]) + (" ..." if len(scan.names) > 6 else "")
    raise NotAnImageArchive(
        "This tar archive is not a saved image",
        where=where,
        detail=f"{what}; it holds: {names or 'nothing'}",
        hint="pass a file written by `docker save -o image.tar REF` (or an OCI layout tar)",
    )


def _json(scan: _Scan[Any], name: str, where: str) -> Any:
    if name not in scan.jsons:
        _missing(scan, where, f"{name} is missing")
    try:
        return json.loads(scan.jsons[name])
    except ValueError:
        raise NotAnImageArchive(f"{name} is not valid JSON", where=where, hint=SAVE_HINT) from None


def _docker_manifest(scan: _Scan[Any], where: str, wanted: str | None) -> tuple[str, str, list[str]]:
    entries = _json(scan, "manifest.json", where)
    tags = [tag for entry in entries for tag in entry.get("RepoTags") or []]
    if wanted:
        entries = [entry for entry in entries if _short(wanted) in map(_short, entry.get("RepoTags") or [])]
        if not entries:
            raise NoSuchImage(f"The archive holds no image tagged {wanted}", where=where, hint=f"its tags: {tags}")
    elif len(entries) > 1:
        raise InvalidInput("The archive holds several images", where=where, hint=f"pass image= one of {tags}")
    elif not entries:
        _missing(scan, where, "manifest.json lists no image")
    entry = entries[0]
    return next(iter(entry.get("RepoTags") or []), ""), entry["Config"], list(entry.get("Layers") or [])


def _short(ref: str) -> str:
    return ref.removeprefix("docker.io/").removeprefix("library/")


def _oci_index(scan: _Scan[Any], where: str, wanted: str | None) -> tuple[str, str, list[str]]:
    node = _json(scan, "index.json", where)
    ref = ""
    for _ in range(4):  # index -> (nested index ->) manifest
        if "manifests" not in node:
            break
        descriptor = _pick(node["manifests"], wanted)
        ref = ref or (descriptor.get("annotations") or {}).get("io.containerd.image.name", "")
        node = _json(scan, _blob(descriptor["digest"]), where)
    layers = [_blob(layer["digest"]) for layer in node.get("layers") or []]
    return ref, _blob(node["config"]["digest"]), layers


def _pick(descriptors: list[dict[str, Any]], wanted: str | None) -> dict[str, Any]:
    def score(d: dict[str, Any]) -> tuple[bool, bool, bool]:
        names = (d.get("annotations") or {}).values()
        platform = d.get("platform") or {}
        return (
            bool(wanted) and any(_short(str(name)) == _short(wanted or "") for name in names),
            platform.get("architecture") != "unknown",
            platform.get("architecture") in (None, "amd64"),
        )

    return max(descriptors, key=score)


def _blob(digest: str) -> str:
    algorithm, _, hex_digest = digest.partition(":")
    return f"blobs/{algorithm}/{hex_digest}"


def save(ref: str, path: str | Path) -> Path:
    """Write the engine image `ref` to an archive file, streamed (what `docker save -o path ref` does)."""
    target = Path(path)
    chunks = _engine_chunks(ref)
    try:
        with target.open("wb") as file:
            for chunk in chunks:
                file.write(chunk)
    finally:
        chunks.close()
    return target


__all__ = [
    "ArchiveTruncated",
    "EmptyImage",
    "ExportFailed",
    "ImageArchive",
    "LayerBlob",
    "NotAnImageArchive",
    "TarEntry",
    "is_archive_path",
    "iter_tar",
    "read_image",
    "save",
]
