"""The archive reader on hostile archives built here: every one ends in one workbook error naming the file, in
bounded time (a hang fails on the timeout) and bounded memory (measured with tracemalloc). No engine needed."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
import tarfile
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import zstandard

from helpers.analysis import archive, compare, layerfiles, secretscan
from helpers.analysis.archive import Bounded, TarEntry
from helpers.errors import ArchiveTruncated, InvalidInput, NotAnImageArchive

pytestmark = pytest.mark.timeout(120)

MIB = 1 << 20
GIB = 1 << 30
BLOCK = 512
END = bytes(2 * BLOCK)
LAYER = "layer1/layer.tar"
CONFIG = "config.json"
DAMAGED = "The image archive is damaged"
WRONG_SHAPE = "in the image archive is not what `docker save` writes"

# --- building archives byte by byte -------------------------------------------------------------------------------


def _padding(size: int) -> bytes:
    return bytes(-size % BLOCK)


def _header(name: str, size: int, kind: bytes = tarfile.REGTYPE) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.type = size, kind
    return info.tobuf(format=tarfile.PAX_FORMAT)  # sizes over 8 GiB go to a pax record, as docker writes them


def _member(name: str, data: bytes, kind: bytes = tarfile.REGTYPE) -> bytes:
    return _header(name, len(data), kind) + data + _padding(len(data))


def _pax(records: bytes, name: str = "etc/hosts", data: bytes = b"127.0.0.1 localhost\n") -> bytes:
    """A pax header with `records` as its text, then the member it describes."""
    return _member("PaxHeader/" + name, records, tarfile.XHDTYPE) + _member(name, data)


def _layer_tar(files: dict[str, bytes]) -> bytes:
    return b"".join(_member(name, data) for name, data in files.items()) + END


LAYER_TAR = _layer_tar({"hello.txt": b"hello\n"})


def _config(diff_ids: int = 1, history: Any = None) -> bytes:
    return json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "1" * 64] * diff_ids},
            "history": history if history is not None else [{"created_by": "COPY hello.txt / # buildkit"}],
        }
    ).encode()


def _manifest(layer: str = LAYER) -> bytes:
    return json.dumps([{"Config": CONFIG, "RepoTags": ["hostile:1"], "Layers": [layer]}]).encode()


def _image(
    *before: bytes, layer: bytes = LAYER_TAR, manifest: bytes | None = None, config: bytes | None = None
) -> bytes:
    """A legacy `docker save` archive: any `before` members, one layer, its config and manifest.json."""
    return b"".join(
        [
            *before,
            _member(LAYER, layer),
            _member(CONFIG, _config() if config is None else config),
            _member("manifest.json", _manifest() if manifest is None else manifest),
            END,
        ]
    )


def _write(tmp_path: Path, data: bytes, name: str = "hostile.tar") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _names(entries: Iterator[tuple[TarEntry, Bounded]]) -> list[tuple[str, int]]:
    return [(entry.name, entry.size) for entry, _ in entries]


def _refused(error: type[Exception], path: Path, read: Callable[[Path], Any] | None = None) -> Any:
    with pytest.raises(error) as caught:
        (read or (lambda p: archive.read_image(p, _names)))(path)
    assert caught.value.where == str(path), "the error names the file"
    assert caught.value.hint, "the error says what to try"
    return caught.value


def _zeros_compressed(compressor: Any, size: int, head: bytes = b"", tail: bytes = b"") -> bytes:
    """head + `size` zero bytes + tail through a streaming compressor, one MiB at a time."""
    parts = [compressor.compress(head)]
    zero = bytes(MIB)
    for _ in range(size // MIB):
        parts.append(compressor.compress(zero))
    parts += [compressor.compress(tail), compressor.flush()]
    return b"".join(parts)


def _zero_file_layer(size: int) -> tuple[bytes, bytes]:
    """The head and tail of an uncompressed layer tar holding one file of `size` zero bytes."""
    return _header("zeros.bin", size), _padding(size) + END


def _peak_python_bytes(run: Callable[[], Any]) -> tuple[Any, int]:
    tracemalloc.start()
    try:
        result = run()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# --- pax records ----------------------------------------------------------------------------------------------------


def _record(text: bytes) -> bytes:
    """One well-formed pax record: its length counts its own digits."""
    length = len(text) + 3
    while length != len(text) + 2 + len(str(length)):
        length = len(text) + 2 + len(str(length))
    return b"%d %s\n" % (length, text)


@pytest.mark.parametrize(
    ("records", "detail"),
    [
        (b"0 path=etc/x\n", "has a length (0) that does not fit its text"),
        (b"-12 path=etc/x\n", "does not start with its length"),
        (b"99999999 path=etc/x\n", "has a length (99999999) that does not fit its text"),
        (b"twelve path=etc/x\n", "does not start with its length"),
        (b"3 a\n", "has a length (3) that does not fit its text"),
        (_record(b"novalue"), "is not KEY=VALUE"),
        (_record(b"size=12x4567890"), "a pax size is not a byte count"),
        (_record(b"size=-40"), "a pax size is not a byte count"),
    ],
    ids=["length-0", "negative", "huge", "non-numeric", "shorter-than-its-key", "no-equals", "size-text", "size-neg"],
)
def test_hostile_pax_record_is_refused(tmp_path: Path, records: bytes, detail: str) -> None:
    path = _write(tmp_path, _image(_pax(records)))
    error = _refused(NotAnImageArchive, path)
    assert error.what == DAMAGED
    assert detail in error.detail


@pytest.mark.parametrize(
    "read",
    [layerfiles.analyze, secretscan.scan, lambda path: compare.compare(path, path)],
    ids=["layerfiles.analyze", "secretscan.scan", "compare.compare"],
)
def test_pax_length_zero_ends_every_analysis_with_one_error(tmp_path: Path, read: Callable[[Path], Any]) -> None:
    """The 2 KB archive that used to loop forever: each reader of archives refuses it."""
    path = _write(tmp_path, _member("oci-layout", b"{}") + _pax(b"0 path=x\n") + END)
    assert path.stat().st_size <= 4096
    error = _refused(NotAnImageArchive, path, read)
    assert error.what == DAMAGED
    assert "has a length (0)" in error.detail


def test_extended_headers_larger_than_the_limit_are_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, _image(_pax(_record(b"path=" + b"a" * (archive.MAX_PAX + 10)))))
    error = _refused(NotAnImageArchive, path)
    assert error.what == DAMAGED
    assert "extended headers of" in error.detail and "precede one member" in error.detail


# --- sizes over 8 GiB -----------------------------------------------------------------------------------------------


def _sparse_big_member(path: Path, size: int, *, complete: bool) -> None:
    """A member of `size` zero bytes (a pax size record; the header field says 0) before a normal image; sparse on
    disk. Without `complete` the file ends inside that member."""
    with path.open("wb") as file:
        file.write(_header("blobs/sha256/" + "b" * 64, size))
        file.seek(size if complete else size // 2, io.SEEK_CUR)
        if complete:
            file.write(_padding(size) + _image())
        else:
            file.truncate()


def test_pax_size_over_8_gib_is_applied_before_the_member_is_read(tmp_path: Path) -> None:
    path = tmp_path / "big.tar"
    size = 9 * GIB + 3
    _sparse_big_member(path, size, complete=True)
    image = archive.read_image(path, _names)
    assert image.archive_bytes >= size, "the member counts with its pax size, not the header's 0"
    assert [blob.result for blob in image.layers] == [[("hello.txt", 6)]], "the members after it are found"


def test_member_over_8_gib_cut_short_is_truncated(tmp_path: Path) -> None:
    path = tmp_path / "big.tar"
    _sparse_big_member(path, 9 * GIB, complete=False)
    error = _refused(ArchiveTruncated, path)
    assert error.what == "The image archive ends too early"
    assert "a member's data ends early" in error.detail


# --- compression bombs --------------------------------------------------------------------------------------------


def test_zstd_bomb_4_kb_to_128_mib_is_read_in_bounded_pieces(tmp_path: Path) -> None:
    head, tail = _zero_file_layer(128 * MIB)
    bomb = _zeros_compressed(zstandard.ZstdCompressor(level=19).compressobj(), 128 * MIB, head, tail)
    assert len(bomb) <= 8192, "a few KB that expand to 128 MiB"
    path = _write(tmp_path, _image(layer=bomb))
    image, peak = _peak_python_bytes(lambda: archive.read_image(path, _names))
    assert image.layers[0].result == [("zeros.bin", 128 * MIB)]
    assert image.layers[0].compression == "zstd"
    assert peak < 16 * MIB, f"the reader held {peak / MIB:.0f} MiB at once"


def test_zstd_bomb_past_the_ratio_limit_is_refused(tmp_path: Path) -> None:
    head, tail = _zero_file_layer(GIB)
    bomb = _zeros_compressed(zstandard.ZstdCompressor(level=3).compressobj(), GIB, head, tail)
    path = _write(tmp_path, _image(layer=bomb))
    error, peak = _peak_python_bytes(lambda: _refused(NotAnImageArchive, path))
    assert error.what == DAMAGED
    assert "it is a decompression bomb" in error.detail and f"over {archive.MAX_RATIO}:1" in error.detail
    assert peak < 16 * MIB


def test_whole_archive_zstd_bomb_is_read_in_bounded_pieces(tmp_path: Path) -> None:
    bomb = _zeros_compressed(zstandard.ZstdCompressor(level=19).compressobj(), 128 * MIB)
    path = _write(tmp_path, bomb, "hostile.tar.zst")
    error, peak = _peak_python_bytes(lambda: _refused(NotAnImageArchive, path))
    assert error.what == "This tar archive is not a saved image"
    assert "no manifest.json or index.json" in error.detail
    assert peak < 16 * MIB


def test_gzip_bomb_is_read_in_bounded_pieces(tmp_path: Path) -> None:
    head, tail = _zero_file_layer(64 * MIB)
    bomb = _zeros_compressed(_gzip_compressor(), 64 * MIB, head, tail)
    path = _write(tmp_path, _image(layer=bomb))
    image, peak = _peak_python_bytes(lambda: archive.read_image(path, _names))
    assert image.layers[0].result == [("zeros.bin", 64 * MIB)]
    assert peak < 16 * MIB


def _gzip_compressor() -> Any:
    return zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)


def _incompressible_layer() -> bytes:
    return _layer_tar({"noise.bin": random.Random(0).randbytes(256 * 1024)})


@pytest.mark.parametrize(
    "compress",
    [zstandard.ZstdCompressor().compress, gzip.compress],
    ids=["zstd", "gzip"],
)
def test_compressed_layer_cut_short_is_truncated(tmp_path: Path, compress: Callable[[bytes], bytes]) -> None:
    blob = compress(_incompressible_layer())
    path = _write(tmp_path, _image(layer=blob[: len(blob) // 2]))
    error = _refused(ArchiveTruncated, path)
    assert error.what == "The image archive ends too early"
    assert "the compressed data ends early" in error.detail


def test_damaged_zstd_layer_is_refused(tmp_path: Path) -> None:
    blob = bytearray(zstandard.ZstdCompressor().compress(_incompressible_layer()))
    blob[4] |= 0x08  # a reserved bit of the frame header descriptor
    path = _write(tmp_path, _image(layer=bytes(blob)))
    error = _refused(NotAnImageArchive, path)
    assert error.what == DAMAGED
    assert "the compressed data is damaged" in error.detail


# --- metadata -------------------------------------------------------------------------------------------------------


def test_two_manifests_are_refused(tmp_path: Path) -> None:
    other = json.dumps([{"Config": CONFIG, "RepoTags": ["other:1"], "Layers": []}]).encode()
    path = _write(tmp_path, _image(_member("manifest.json", other)))
    error = _refused(NotAnImageArchive, path)
    assert error.what == "The image archive holds manifest.json twice"


def test_two_images_in_one_manifest_need_a_choice(tmp_path: Path) -> None:
    entry = {"Config": CONFIG, "Layers": [LAYER]}
    two = json.dumps([{**entry, "RepoTags": ["a:1"]}, {**entry, "RepoTags": ["b:1"]}]).encode()
    path = _write(tmp_path, _image(manifest=two))
    with pytest.raises(InvalidInput) as caught:
        archive.read_image(path, _names)
    assert caught.value.what == "The archive holds several images"
    assert "pass image= one of ['a:1', 'b:1']" in caught.value.hint


def test_json_member_bomb_is_refused(tmp_path: Path) -> None:
    """Config-shaped members, each under the per-member limit, that together pass the total limit."""
    pad = "x" * (archive.MAX_METADATA - 1024)
    bombs = [
        _member(f"blobs/sha256/{n:064x}", json.dumps({"rootfs": {}, "pad": pad}).encode())
        for n in range(archive.MAX_METADATA_TOTAL // archive.MAX_METADATA + 1)
    ]
    path = _write(tmp_path, _image(*bombs))
    error, peak = _peak_python_bytes(lambda: _refused(NotAnImageArchive, path))
    assert error.what == "The image archive holds more metadata than a saved image has"
    assert f"the limit is {archive.MAX_METADATA_TOTAL:,}" in error.detail
    assert peak < archive.MAX_METADATA_TOTAL + 16 * MIB


def test_json_members_that_are_not_metadata_are_not_kept(tmp_path: Path) -> None:
    """Attestations, legacy per-layer JSON and oversized JSON pass by: the image still reads."""
    statement = json.dumps({"_type": "https://in-toto.io/Statement/v0.1", "predicate": "x" * MIB}).encode()
    path = _write(
        tmp_path,
        _image(
            *[_member(f"blobs/sha256/{n:064x}", statement) for n in range(20)],
            _member("layer1/json", b'{"id": "1"}'),
            _member("huge.json", b"[" + b"0," * (2 * MIB) + b"0]"),
        ),
    )
    assert [blob.result for blob in archive.read_image(path, _names).layers] == [[("hello.txt", 6)]]


def test_manifest_nested_past_the_parser_limit_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, _image(manifest=b"[" * 200_000 + b"]" * 200_000))
    error = _refused(NotAnImageArchive, path)
    assert error.what == "manifest.json is not valid JSON"


def test_manifest_too_large_to_be_metadata_is_named(tmp_path: Path) -> None:
    padded = json.dumps([{"Config": CONFIG, "Layers": [LAYER], "pad": "x" * (3 * MIB)}]).encode()
    path = _write(tmp_path, _image(manifest=padded))
    error = _refused(NotAnImageArchive, path)
    assert error.what == "This tar archive is not a saved image"
    assert "no manifest.json or index.json" in error.detail
    assert "too large to be image metadata: manifest.json" in error.detail


@pytest.mark.parametrize(
    ("manifest", "detail"),
    [
        (b'{"Config": "config.json"}', "the top level should be a list, not dict"),
        (b"[7]", "entry 1 should be an object, not int 7"),
        (b'[{"Config": 3, "Layers": []}]', "entry 1 Config should be text, not int 3"),
        (b'[{"Layers": ["layer1/layer.tar"]}]', "entry 1 Config should be text, not NoneType None"),
        (b'[{"Config": "config.json", "Layers": "layer1/layer.tar"}]', "entry 1 Layers should be a list, not str"),
        (b'[{"Config": "config.json", "Layers": [null]}]', "entry 1 Layers[0] should be text, not NoneType"),
        (b'[{"Config": "config.json", "RepoTags": [1], "Layers": []}]', "entry 1 RepoTags[0] should be text"),
    ],
)
def test_malformed_manifest_is_refused(tmp_path: Path, manifest: bytes, detail: str) -> None:
    path = _write(tmp_path, _image(manifest=manifest))
    error = _refused(NotAnImageArchive, path)
    assert error.what == "manifest.json " + WRONG_SHAPE
    assert detail in error.detail


@pytest.mark.parametrize(
    ("config", "detail"),
    [
        (b'{"rootfs": {"diff_ids": [1]}, "history": []}', "rootfs.diff_ids[0] should be text, not int 1"),
        (b'{"rootfs": "layers"}', "rootfs should be an object, not str"),
        (b'{"rootfs": {"diff_ids": ["sha256:1"]}, "history": [3]}', "history entry 1 should be an object"),
        (b'{"rootfs": {"diff_ids": ["sha256:1"]}, "history": {"a": 1}}', "history should be a list, not dict"),
    ],
)
def test_malformed_config_is_refused(tmp_path: Path, config: bytes, detail: str) -> None:
    path = _write(tmp_path, _image(config=config))
    error = _refused(NotAnImageArchive, path)
    assert error.what == f"{CONFIG} " + WRONG_SHAPE
    assert detail in error.detail


def _oci(index: Any) -> bytes:
    return _member("oci-layout", b'{"imageLayoutVersion": "1.0.0"}') + _member("index.json", json.dumps(index).encode())


@pytest.mark.parametrize(
    ("index", "error_class", "what", "detail"),
    [
        ([1, 2], NotAnImageArchive, "index.json " + WRONG_SHAPE, "the top level should be an object, not list"),
        ({"manifests": {}}, NotAnImageArchive, "index.json " + WRONG_SHAPE, "manifests should be a list, not dict"),
        ({"manifests": [{"digest": 5}]}, NotAnImageArchive, "index.json " + WRONG_SHAPE, "manifests[0].digest"),
        (
            {"manifests": [{"digest": "sha256:a", "platform": "linux"}]},
            NotAnImageArchive,
            "index.json " + WRONG_SHAPE,
            "manifests[0].platform should be an object, not str",
        ),
        ({"manifests": []}, NotAnImageArchive, "This tar archive is not a saved image", "index.json lists no image"),
        (
            {"manifests": [{"digest": "sha256:" + "e" * 64}]},
            NotAnImageArchive,
            "This tar archive is not a saved image",
            f"blobs/sha256/{'e' * 64} is missing",
        ),
    ],
)
def test_malformed_oci_index_is_refused(
    tmp_path: Path, index: Any, error_class: type[Exception], what: str, detail: str
) -> None:
    path = _write(tmp_path, _oci(index) + END)
    error = _refused(error_class, path)
    assert error.what == what
    assert detail in error.detail


def test_oci_manifest_with_a_wrong_config_descriptor_is_refused(tmp_path: Path) -> None:
    manifest = json.dumps({"layers": [{"digest": "sha256:" + "1" * 64}], "config": "sha256:x"}).encode()
    digest = hashlib.sha256(manifest).hexdigest()
    members = _member(f"blobs/sha256/{digest}", manifest) + _oci({"manifests": [{"digest": f"sha256:{digest}"}]})
    error = _refused(NotAnImageArchive, _write(tmp_path, members + END))
    assert error.what == f"blobs/sha256/{digest} " + WRONG_SHAPE
    assert "config[0] should be an object, not str" in error.detail


# --- tar headers ----------------------------------------------------------------------------------------------------


def _with_field(header: bytes, start: int, value: bytes) -> bytes:
    block = bytearray(header[:BLOCK])
    block[start : start + len(value)] = value
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\0 " % sum(block)
    return bytes(block)


@pytest.mark.parametrize(
    ("field", "detail"),
    [(b"-0000000001\0", "is not an octal number"), (b"0x12\0", "is not an octal number"), (b"\xff" * 12, "negative")],
    ids=["negative-octal", "hex", "negative-base-256"],
)
def test_hostile_size_field_is_refused(tmp_path: Path, field: bytes, detail: str) -> None:
    header = _with_field(tarfile.TarInfo("etc/hosts").tobuf(format=tarfile.USTAR_FORMAT), 124, field)
    path = _write(tmp_path, _image(_member("oci-layout", b"{}"), header))
    error = _refused(NotAnImageArchive, path)
    assert error.what == DAMAGED
    assert detail in error.detail


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"write_checksum": True},
        {"write_content_size": False},
        {"level": 19, "write_checksum": True, "write_content_size": False},
        {"level": -5},
    ],
    ids=["default", "checksum", "no-content-size", "level-19-streamed", "fast"],
)
def test_complete_zstd_layers_are_not_mistaken_for_cut_ones(tmp_path: Path, options: dict[str, Any]) -> None:
    """The frame follower that tells a cut zstd stream from a complete one agrees with zstd on real frames:
    several blocks, raw and compressed, with and without a checksum or a content size."""
    files = {"noise.bin": random.Random(1).randbytes(300 * 1024), "text.txt": b"layer " * 100_000}
    compressor = zstandard.ZstdCompressor(**options).compressobj()
    blob = compressor.compress(_layer_tar(files)) + compressor.flush()
    image = archive.read_image(_write(tmp_path, _image(layer=blob)), _reading_sizes)
    assert image.layers[0].result == [("noise.bin", 300 * 1024), ("text.txt", 600_000)]


def _reading_sizes(entries: Iterator[tuple[TarEntry, Bounded]]) -> list[tuple[str, int]]:
    """Each member's name and the number of bytes read from it."""
    found = []
    for entry, data in entries:
        read = 0
        while chunk := data.read(65536):
            read += len(chunk)
        found.append((entry.name, read))
    return found
