"""Read an image archive as a stream: from the engine (`docker save`) or from a saved file.

Both layouts are understood: the legacy one (manifest.json, <id>/layer.tar, <config>.json) and the OCI one
Docker 25+ writes (index.json, oci-layout, blobs/sha256/..., plus manifest.json). Nothing is extracted and the
archive is never held in memory: each layer blob is handed to a visitor as it streams past, keyed by its member
name; small JSON members that can be image metadata (a manifest, an index, a config) are kept; the layer order
is resolved once the manifest and config have arrived.

Every input is bounded: each pax record must advance, decompression yields at most CHUNK bytes per call and at
most MAX_RATIO times its input in total, metadata is capped per member and in total, and every JSON shape is
checked before use, so a hostile archive raises one workbook error instead of hanging or filling memory.
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
MAX_METADATA = 2 << 20  # the most of one JSON member parsed here (parsed JSON can take 20x its text in memory)
MAX_METADATA_TOTAL = 16 << 20  # the most JSON text kept from one archive
MAX_PAX = 1 << 20  # the most extended-header text (pax, GNU long names) before one member
MAX_RATIO = 4096  # gzip cannot exceed ~1032:1; zstd reaches 32768:1 only on runs of identical bytes
INFLATE_FLOOR = 256 << 20  # output allowed before MAX_RATIO applies, so that small archives of zeros still read
READ_SIZE = 1 << 16
NAMES_SHOWN = 6
TOP_LEVEL = frozenset({"manifest.json", "index.json"})
LEGACY_LAYER = "layer.tar"  # a legacy archive links a repeated layer's layer.tar to its first copy
HEADER_ONLY = frozenset(b"123456")  # hard link, symlink, char, block, dir, fifo: no data follows
ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.zst", ".tzst")
GZIP_MAGIC, ZSTD_MAGIC = b"\x1f\x8b", b"\x28\xb5\x2f\xfd"
EMPTY_HINT = (
    "it was built FROM scratch with only metadata (LABEL, ENV, ...): there are no files to analyse; "
    "add a COPY, or start FROM a base image"
)
SAVE_HINT = "save the image again (`docker save -o image.tar REF` or wb.saveload.save) and check the disk is not full"


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
    """Gzip (zlib) or zstd decompression of a parent stream: at most CHUNK bytes per call, and at most MAX_RATIO
    times the compressed bytes in total (past INFLATE_FLOOR), so that a small bomb cannot fill memory or run on."""

    def __init__(self, parent: Stream, kind: str) -> None:
        super().__init__()
        self._parent = parent
        self._kind = kind
        self._out = b""
        self._pos = 0
        self._done = False
        self.consumed = 0
        self.produced = 0
        self._frame = _ZstdFrame()
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
        return zstandard.ZstdDecompressor().stream_reader(_Source(self), read_size=READ_SIZE)

    def _take(self, n: int) -> bytes:
        data = self._parent.read(n)
        self.consumed += len(data)
        return data

    def _fill(self) -> bool:
        while self._pos >= len(self._out) and not self._done:
            self._out, self._pos = self._inflate(), 0
            self.produced += len(self._out)
            if self.produced > INFLATE_FLOOR and self.produced > MAX_RATIO * self.consumed:
                raise _NotTar(
                    f"{self._kind} data of {self.consumed:,} bytes expands to more than {self.produced:,} bytes "
                    f"(over {MAX_RATIO}:1), which no saved image does: it is a decompression bomb"
                )
        return self._pos < len(self._out)

    def _inflate(self) -> bytes:
        if self._kind == "zstd":
            return self._inflate_zstd()
        if self._d.eof:
            rest = self._d.unused_data or self._take(READ_SIZE)
            if rest[:2] != GZIP_MAGIC:
                self._done = True  # the last member ended; trailing padding is ignored
                return b""
            self._d = self._decompressor()  # a multi-member gzip file: the next member follows
            return self._gunzip(rest)
        return self._gunzip(self._d.unconsumed_tail or self._take(READ_SIZE))

    def _gunzip(self, data: bytes) -> bytes:
        if not data:
            if self._d.eof:
                self._done = True
                return b""
            raise _Truncated("the compressed data ends early")
        try:
            return self._d.decompress(data, CHUNK)
        except zlib.error as exc:
            raise _NotTar(f"the compressed data is damaged: {exc}") from None

    def _inflate_zstd(self) -> bytes:
        try:
            data = self._d.read(CHUNK)
        except (_Truncated, _NotTar):
            raise
        except Exception as exc:  # zstd.ZstdError: the bytes are not what the frame header says
            raise _NotTar(f"the compressed data is damaged: {exc}") from None
        if not data:
            if not self._frame.complete:
                raise _Truncated("the compressed data ends early")
            self._done = True  # the frame ended; what follows is ignored
        return data

    def _raw_read(self, n: int) -> bytes:
        if not self._fill():
            return b""
        data = self._out[self._pos : self._pos + n]
        self._pos += len(data)
        return data


class _Source:
    """What the zstd reader pulls compressed bytes from: the parent stream, watched by a frame follower."""

    def __init__(self, inflated: Inflated) -> None:
        self._inflated = inflated

    def read(self, n: int) -> bytes:
        data = self._inflated._take(min(n, READ_SIZE))
        self._inflated._frame.feed(data)
        return data


class _ZstdFrame:
    """Follows the block headers of one zstd frame as its bytes pass (RFC 8878), to tell a frame that ended
    from one that was cut short: the zstd reader returns nothing in both cases."""

    def __init__(self) -> None:
        self.state = "header"  # -> "block" -> "last" -> "done"; "foreign" when it is not a zstd frame
        self._buf = b""
        self._skip = 0
        self._checksum = 0

    @property
    def complete(self) -> bool:
        return self.state in ("done", "foreign")  # a foreign (e.g. skippable) frame is left to the decoder

    def feed(self, data: bytes) -> None:
        pos = 0
        while self.state not in ("done", "foreign"):
            step = min(self._skip, len(data) - pos)
            self._skip -= step
            pos += step
            if self._skip:
                return
            if self.state == "last":
                self.state = "done"
                return
            want = 5 if self.state == "header" else 3
            take = min(want - len(self._buf), len(data) - pos)
            self._buf += data[pos : pos + take]
            pos += take
            if len(self._buf) < want:
                return
            head, self._buf = self._buf, b""
            if self.state == "header":
                self._header(head)
            else:
                self._block(int.from_bytes(head, "little"))

    def _header(self, head: bytes) -> None:
        if head[:4] != ZSTD_MAGIC:
            self.state = "foreign"
            return
        descriptor = head[4]
        single_segment = descriptor >> 5 & 1
        window = 0 if single_segment else 1
        self._skip = window + (0, 1, 2, 4)[descriptor & 3] + (single_segment, 2, 4, 8)[descriptor >> 6]
        self._checksum = 4 if descriptor & 4 else 0
        self.state = "block"

    def _block(self, header: int) -> None:
        kind, size = header >> 1 & 3, header >> 3
        self._skip = 1 if kind == 1 else size  # an RLE block stores one byte
        if header & 1:
            self._skip += self._checksum
            self.state = "last"


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


OCTAL = frozenset(b"01234567")


def _number(field: bytes) -> int:
    if field[:1] and field[0] & 0x80:  # base-256, for sizes over 8 GiB; 0xff starts a negative number
        if field[0] == 0xFF:
            raise _NotTar("a header field is negative")
        return int.from_bytes(bytes([field[0] & 0x7F]) + field[1:], "big")
    text = field.split(b"\0", 1)[0].strip(b" ")
    if not OCTAL.issuperset(text):
        raise _NotTar("a header field is not an octal number")
    return int(text, 8) if text else 0


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
    """The records "LENGTH KEY=VALUE\\n" of a pax header; each LENGTH covers its whole record, so every record
    moves forward by at least the length of "N k=\\n"."""
    records: dict[str, str] = {}
    pos = 0
    while pos < len(data) and data[pos] != 0:
        space = data.find(b" ", pos, pos + 20)
        digits = data[pos:space]
        if space < 0 or not digits.isdigit():
            raise _NotTar(f"a pax record at byte {pos} does not start with its length")
        end = pos + int(digits)
        if end < space + 4 or end > len(data) or data[end - 1] != 0x0A:
            raise _NotTar(f"a pax record at byte {pos} has a length ({int(digits)}) that does not fit its text")
        key, equals, value = data[space + 1 : end - 1].partition(b"=")
        if not equals or not key:
            raise _NotTar(f"a pax record at byte {pos} is not KEY=VALUE")
        records[key.decode("utf-8", "backslashreplace")] = value.decode("utf-8", "backslashreplace")
        pos = end
    return records


class TarReader:
    """Iterates a tar stream: each member with a reader over its data; unread data is skipped on the next step.
    `ended` tells whether the end-of-archive marker was seen."""

    def __init__(self, stream: Stream) -> None:
        self.stream = stream
        self.ended = False

    def __iter__(self) -> Iterator[tuple[TarEntry, Bounded]]:
        pending: dict[str, str] = {}
        extended = 0  # bytes of extended headers before the next member
        while True:
            block = self.stream.read(BLOCK)
            if not block or block == ZERO_BLOCK:
                self.ended = bool(block)
                return
            if len(block) < BLOCK:
                raise _Truncated("a tar header is cut short")
            entry = _parse_header(block)
            if entry.type in "xgLK":
                extended += entry.size
                if extended > MAX_PAX:
                    raise _NotTar(f"extended headers of {extended:,} bytes precede one member (at most {MAX_PAX:,})")
                data = Bounded(self.stream, entry.size)
                _extended(entry, data, pending)
            else:
                _apply(entry, pending)  # before the data is bounded: a pax size replaces the header's
                pending, extended = {}, 0
                data = Bounded(self.stream, 0 if ord(entry.type) in HEADER_ONLY else entry.size)
                yield entry, data
            data.drain()
            padding = -data.size % BLOCK
            if self.stream.skip(padding) < padding:
                raise _Truncated("the tar padding is cut short")


def iter_tar(stream: Stream) -> Iterator[tuple[TarEntry, Bounded]]:
    """Each member of the tar `stream` with a reader over its data."""
    return iter(TarReader(stream))


def _extended(entry: TarEntry, data: Bounded, pending: dict[str, str]) -> None:
    body = data.read(entry.size)
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
        size = pending["size"]
        if not (size.isascii() and size.isdigit() and len(size) <= 19):
            raise _NotTar(f"a pax size is not a byte count: {size[:40]!r}")
        entry.size = int(size)


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
    where: str
    jsons: dict[str, bytes] = field(default_factory=dict)  # metadata members, as text
    json_bytes: int = 0
    oversized: list[str] = field(default_factory=list)  # JSON-looking members too large to be metadata
    aliases: dict[str, str] = field(default_factory=dict)
    layers: dict[str, tuple[T, int, str]] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)  # the first few member names, for messages
    members: int = 0
    is_tar: bool = False  # its first block is a tar header
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
                hint="save one first: `docker save -o image.tar REF` or wb.saveload.save(REF, path)",
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
    scan: _Scan[T] = _Scan(where)
    try:
        _scan(decompressed(stream), scan, visit)
        return _assemble(scan, image, ref)
    except _Truncated as exc:
        raise ArchiveTruncated(
            "The image archive ends too early", where=where, detail=str(exc), hint=SAVE_HINT
        ) from None
    except _NotTar as exc:
        what = "is damaged" if scan.is_tar else "is not a tar archive"
        raise NotAnImageArchive(
            f"The image archive {what}", where=where, detail=str(exc), hint="pass a file written by `docker save`"
        ) from None


def _scan(stream: Stream, scan: _Scan[T], visit: LayerVisitor[T]) -> None:
    head = stream.peek(BLOCK)
    if not head:
        raise _NotTar("the file is empty")
    if not looks_like_tar(head):
        raise _NotTar("its first bytes are not a tar header")
    scan.is_tar = True
    reader = TarReader(stream)
    for entry, data in reader:
        name = posixpath.normpath(entry.name).lstrip("/")
        scan.members += 1
        if len(scan.names) < NAMES_SHOWN:
            scan.names.append(name)
        scan.total += entry.size
        if entry.type == "2" and name.endswith(LEGACY_LAYER):
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
    elif head.lstrip()[:1] in (b"{", b"["):
        _keep_metadata(name, data, scan)
        return
    else:
        return
    scan.layers[name] = (visit(iter_tar(layer)), data.size, compression)


def _keep_metadata(name: str, data: Bounded, scan: _Scan[Any]) -> None:
    """Keep a JSON member only if it can be image metadata: manifest.json, index.json, or an object shaped like
    an image config, manifest or index. Attestations, legacy per-layer JSON and anything large are passed by."""
    if data.size > MAX_METADATA:
        if len(scan.oversized) < NAMES_SHOWN:
            scan.oversized.append(name)
        return
    text = data.read(data.size)
    if name not in TOP_LEVEL and not _looks_like_metadata(text):
        return
    if name in scan.jsons:
        _refuse(scan, f"The image archive holds {name} twice", "a saved image has one of each member")
    scan.json_bytes += len(text)
    if scan.json_bytes > MAX_METADATA_TOTAL:
        _refuse(
            scan,
            "The image archive holds more metadata than a saved image has",
            f"{scan.json_bytes:,} bytes of manifests and configs by {name}; the limit is {MAX_METADATA_TOTAL:,}",
        )
    scan.jsons[name] = text


def _looks_like_metadata(text: bytes) -> bool:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return False
    return isinstance(value, dict) and any(key in value for key in ("rootfs", "manifests", "layers"))


def _refuse(scan: _Scan[Any], what: str, detail: str) -> NoReturn:
    raise NotAnImageArchive(what, where=scan.where, detail=detail, hint=SAVE_HINT)


def _assemble(scan: _Scan[T], wanted: str | None, ref: str) -> ImageArchive[T]:
    if "manifest.json" in scan.jsons:
        tag, config_name, layer_names = _docker_manifest(scan, wanted)
        layout = "oci" if "index.json" in scan.jsons else "docker"
    elif "index.json" in scan.jsons:
        tag, config_name, layer_names = _oci_index(scan, wanted)
        layout = "oci"
    else:
        _missing(scan, "no manifest.json or index.json")
    config = _object(_json(scan, config_name), config_name, "the image config", scan)
    rootfs = _object(config.get("rootfs") or {}, config_name, "rootfs", scan)
    diff_ids = _strings(rootfs.get("diff_ids") or [], config_name, "rootfs.diff_ids", scan)
    if not layer_names:
        raise EmptyImage("The image has no filesystem layer", where=scan.where, hint=EMPTY_HINT)
    if len(diff_ids) != len(layer_names):
        raise NotAnImageArchive(
            "The image config and manifest disagree on the number of layers",
            where=scan.where,
            detail=f"{len(diff_ids)} diff ids, {len(layer_names)} layers",
        )
    history = _history(config, config_name, len(layer_names), scan)
    layers = [
        _layer(number, name, diff_id, step, scan)
        for number, (name, diff_id, step) in enumerate(zip(layer_names, diff_ids, history, strict=True), 1)
    ]
    image_id = "sha256:" + config_name.rsplit("/", 1)[-1].removesuffix(".json")
    return ImageArchive(scan.where, ref or tag, image_id, layout, config, layers, scan.total)


def _layer(number: int, name: str, diff_id: str, step: dict[str, Any], scan: _Scan[T]) -> LayerBlob[T]:
    resolved = name
    for _ in range(8):  # legacy archives link a repeated layer to its first copy
        resolved = scan.aliases.get(resolved, resolved)
    if resolved not in scan.layers:
        _missing(scan, f"layer {number} ({name}) is not in the archive")
    result, size, compression = scan.layers[resolved]
    created_by = str(step.get("created_by", ""))
    instruction = instruction_text(created_by, str(step.get("comment", ""))) if step else "(missing)"
    return LayerBlob(number, diff_id, resolved, size, compression, created_by, instruction, result)


def _history(config: dict[str, Any], name: str, count: int, scan: _Scan[Any]) -> list[dict[str, Any]]:
    """The history entry behind each layer: the next one not flagged empty_layer (as dive pairs them)."""
    history = _list(config.get("history") or [], name, "history", scan)
    steps = [_object(step, name, f"history entry {n}", scan) for n, step in enumerate(history, 1)]
    steps = [step for step in steps if not step.get("empty_layer")]
    return (steps + [{}] * count)[:count]


def _missing(scan: _Scan[Any], what: str) -> NoReturn:
    if not scan.ended:
        raise _Truncated(f"the archive stopped before its end marker; {what}")
    names = ", ".join(scan.names) + (" ..." if scan.members > len(scan.names) else "")
    large = f"; too large to be image metadata: {', '.join(scan.oversized)}" if scan.oversized else ""
    raise NotAnImageArchive(
        "This tar archive is not a saved image",
        where=scan.where,
        detail=f"{what}; it holds: {names or 'nothing'}{large}",
        hint="pass a file written by `docker save -o image.tar REF` (or an OCI layout tar)",
    )


def _json(scan: _Scan[Any], name: str) -> Any:
    if name not in scan.jsons:
        _missing(scan, f"{name} is missing")
    try:
        return json.loads(scan.jsons[name])
    except (ValueError, RecursionError):
        raise NotAnImageArchive(f"{name} is not valid JSON", where=scan.where, hint=SAVE_HINT) from None


# --- shapes: what `docker save` writes, checked before use ------------------------------------------------------


def _wrong(scan: _Scan[Any], member: str, what: str, expected: str, value: Any) -> NoReturn:
    _refuse(
        scan,
        f"{member} in the image archive is not what `docker save` writes",
        f"{what} should be {expected}, not {type(value).__name__} {str(value)[:60]}",
    )


def _object(value: Any, member: str, what: str, scan: _Scan[Any]) -> dict[str, Any]:
    if not isinstance(value, dict):
        _wrong(scan, member, what, "an object", value)
    return value


def _list(value: Any, member: str, what: str, scan: _Scan[Any]) -> list[Any]:
    if not isinstance(value, list):
        _wrong(scan, member, what, "a list", value)
    return value


def _text_field(value: Any, member: str, what: str, scan: _Scan[Any]) -> str:
    if not isinstance(value, str):
        _wrong(scan, member, what, "text", value)
    return value


def _strings(value: Any, member: str, what: str, scan: _Scan[Any]) -> list[str]:
    return [_text_field(item, member, f"{what}[{n}]", scan) for n, item in enumerate(_list(value, member, what, scan))]


def _docker_manifest(scan: _Scan[Any], wanted: str | None) -> tuple[str, str, list[str]]:
    member = "manifest.json"
    entries = _list(_json(scan, member), member, "the top level", scan)
    for n, entry in enumerate(entries, 1):
        _object(entry, member, f"entry {n}", scan)
        _strings(entry.get("RepoTags") or [], member, f"entry {n} RepoTags", scan)
        _text_field(entry.get("Config"), member, f"entry {n} Config", scan)
        _strings(entry.get("Layers") or [], member, f"entry {n} Layers", scan)
    tags = [tag for entry in entries for tag in entry.get("RepoTags") or []]
    if wanted:
        entries = [entry for entry in entries if _short(wanted) in map(_short, entry.get("RepoTags") or [])]
        if not entries:
            raise NoSuchImage(f"The archive holds no image tagged {wanted}", where=scan.where, hint=f"its tags: {tags}")
    elif len(entries) > 1:
        raise InvalidInput("The archive holds several images", where=scan.where, hint=f"pass image= one of {tags}")
    elif not entries:
        _missing(scan, "manifest.json lists no image")
    entry = entries[0]
    return next(iter(entry.get("RepoTags") or []), ""), entry["Config"], list(entry.get("Layers") or [])


def _short(ref: str) -> str:
    return ref.removeprefix("docker.io/").removeprefix("library/")


def _oci_index(scan: _Scan[Any], wanted: str | None) -> tuple[str, str, list[str]]:
    member = "index.json"
    node = _object(_json(scan, member), member, "the top level", scan)
    ref = ""
    for _ in range(4):  # index -> (nested index ->) manifest
        if "manifests" not in node:
            break
        descriptors = _descriptors(node["manifests"], member, "manifests", scan)
        if not descriptors:
            _missing(scan, f"{member} lists no image")
        descriptor = _pick(descriptors, wanted)
        ref = ref or str(descriptor["annotations"].get("io.containerd.image.name", ""))
        member = _blob(descriptor["digest"])
        node = _object(_json(scan, member), member, "the top level", scan)
    layers = [_blob(layer["digest"]) for layer in _descriptors(node.get("layers") or [], member, "layers", scan)]
    config = _descriptors([node.get("config")], member, "config", scan)[0]
    return ref, _blob(config["digest"]), layers


def _descriptors(value: Any, member: str, what: str, scan: _Scan[Any]) -> list[dict[str, Any]]:
    """OCI descriptors, each with a text digest; annotations and platform default to empty objects."""
    checked = []
    for n, item in enumerate(_list(value, member, what, scan)):
        descriptor = dict(_object(item, member, f"{what}[{n}]", scan))
        _text_field(descriptor.get("digest"), member, f"{what}[{n}].digest", scan)
        for key in ("annotations", "platform"):
            descriptor[key] = _object(descriptor.get(key) or {}, member, f"{what}[{n}].{key}", scan)
        checked.append(descriptor)
    return checked


def _pick(descriptors: list[dict[str, Any]], wanted: str | None) -> dict[str, Any]:
    def score(d: dict[str, Any]) -> tuple[bool, bool, bool]:
        names = d["annotations"].values()
        platform = d["platform"]
        return (
            bool(wanted) and any(_short(str(name)) == _short(wanted or "") for name in names),
            platform.get("architecture") != "unknown",
            platform.get("architecture") in (None, "amd64"),
        )

    return max(descriptors, key=score)


def _blob(digest: str) -> str:
    algorithm, _, hex_digest = digest.partition(":")
    return f"blobs/{algorithm}/{hex_digest}"


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
]
