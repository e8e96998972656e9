"""docker load reads compressed archives as they are; the helpers never decompress first."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

import helpers as wb
from helpers.engine import saveload
from helpers.errors import InvalidInput


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"\x1f\x8b\x08", "gzip"),
        (b"BZh91AY", "bzip2"),
        (b"\xfd7zXZ\x00\x00", "xz"),
        (b"\x28\xb5\x2f\xfd\x00", "zstd"),
        (b"index.json\x00", "tar"),
        (b"", "tar"),
    ],
)
def test_compression_is_read_from_the_first_bytes(tmp_path: Path, head: bytes, kind: str) -> None:
    path = tmp_path / "archive"
    path.write_bytes(head)
    assert saveload.compression(path) == kind


def test_a_missing_archive_is_refused_plainly(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as caught:
        saveload.load(tmp_path / "nothing.tar.zst")
    assert "no archive" in str(caught.value)


@pytest.mark.engine
@pytest.mark.skipif(shutil.which("zstd") is None, reason="zstd is not installed")
def test_docker_load_reads_zstd_and_gzip_archives_directly(tmp_path: Path) -> None:
    app = wb.make_app("test-load", {"Dockerfile": "FROM busybox:1.37\nRUN echo loaded > /loaded\n"})
    built = wb.build(app, tag=wb.image_name("test-load", "1"), quiet=True)
    saved = saveload.save(built.ref, tmp_path / "image.tar")
    for method in ("zstd", "gzip"):
        archive = saveload.compress(saved, method)
        assert saveload.compression(archive.path) == method
        wb.client().images.remove(built.ref)
        assert saveload.load(archive.path) == [built.ref]
        assert wb.images.get(built.ref).id == built.image_id


@pytest.mark.engine
def test_a_damaged_compressed_archive_names_its_format(tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.tar.gz"
    damaged.write_bytes(gzip.compress(b"not a tar at all" * 100))
    with pytest.raises(wb.errors.CommandFailed) as caught:
        saveload.load(damaged)
    assert "(gzip)" in str(caught.value)
