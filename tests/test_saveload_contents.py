"""saveload.contents() on hostile archives: bounded reads, no crash, nothing executed."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from helpers.engine import saveload


def _archive(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


SELF = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("case", "members"),
    [
        # an index that names itself: walked once, not forever
        (
            "self-referencing index",
            {
                "index.json": json.dumps({"manifests": [{"digest": SELF}]}).encode(),
                f"blobs/sha256/{'a' * 64}": json.dumps({"manifests": [{"digest": SELF}]}).encode(),
            },
        ),
        # wrong JSON shapes where objects are expected
        ("index.json is a list", {"index.json": b"[1, 2]", "manifest.json": b'{"not": "a list"}'}),
        ("entries of the wrong type", {"manifest.json": b'[7, {"Config": 3, "Layers": [null, 5]}]'}),
        (
            "a manifest with a string config",
            {
                "index.json": json.dumps({"manifests": [{"digest": SELF}]}).encode(),
                f"blobs/sha256/{'a' * 64}": b'{"config": "x", "layers": [1]}',
            },
        ),
        ("not JSON at all", {"index.json": b"{{{", "manifest.json": b"\xff\xfe"}),
    ],
)
def test_hostile_archive_contents_are_listed_without_error(
    tmp_path: Path, case: str, members: dict[str, bytes]
) -> None:
    rows = saveload.contents(_archive(tmp_path / "hostile.tar", members))
    assert {row["member"] for row in rows} == set(members), case
    assert all(isinstance(row["kind"], str) for row in rows)
