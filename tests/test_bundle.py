"""The classroom kit: a real save / remove / load round trip, and damaged kits refused."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from docker.errors import ImageNotFound

import helpers as wb
from helpers.bases import kit

pytestmark = pytest.mark.engine


@pytest.fixture(scope="module")
def saved_kit(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    app = wb.make_app("kit-demo", {"Dockerfile": "FROM busybox:1.37\nRUN echo kit > /kit.txt\n"})
    refs = [wb.build(app, tag=wb.image_name("kit-demo", tag), quiet=True, build_args={"V": tag}).ref for tag in ("a",)]
    path = tmp_path_factory.mktemp("kit") / "classroom.kit"
    done = subprocess.run(
        [sys.executable, "-m", "helpers", "bundle", "save", str(path), *refs, "busybox:1.37"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "100%" in done.stdout
    return path, [*refs, "busybox:1.37"]


def test_round_trip_gives_the_same_image_ids(saved_kit: tuple[Path, list[str]]) -> None:
    path, refs = saved_kit
    client = wb.client()
    app_ref = refs[0]
    app_id = client.images.get(app_ref).id
    client.images.remove(app_ref)
    with pytest.raises(ImageNotFound):
        client.images.get(app_id)
    done = subprocess.run(
        [sys.executable, "-m", "helpers", "bundle", "load", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert client.images.get(app_ref).id == app_id
    manifest = kit.read_manifest(path)
    assert {image["ref"] for image in manifest["images"]} == set(refs)


def test_truncated_kit_is_refused_before_loading(saved_kit: tuple[Path, list[str]], tmp_path: Path) -> None:
    path, _ = saved_kit
    truncated = tmp_path / "truncated.kit"
    truncated.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(kit.KitError) as caught:
        kit.load(truncated, say=lambda _: None)
    assert "damaged" in str(caught.value) and "nothing was loaded" in caught.value.hint


def test_corrupted_kit_fails_its_checksum(saved_kit: tuple[Path, list[str]], tmp_path: Path) -> None:
    path, _ = saved_kit
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0xFF
    corrupted = tmp_path / "corrupted.kit"
    corrupted.write_bytes(bytes(data))
    with pytest.raises(kit.KitError) as caught:
        kit.read_manifest(corrupted)
    assert "damaged" in str(caught.value)


def test_kit_from_another_architecture_is_refused(saved_kit: tuple[Path, list[str]], tmp_path: Path) -> None:
    path, _ = saved_kit
    foreign = tmp_path / "arm.kit"
    with tarfile.open(path) as source, tarfile.open(foreign, "w") as target:
        for member in source.getmembers():
            data = source.extractfile(member)
            assert data is not None
            if member.name == kit.MANIFEST_MEMBER:
                manifest = json.loads(data.read())
                for image in manifest["images"]:
                    image["architecture"] = "riscv64"
                raw = json.dumps(manifest).encode()
                member.size = len(raw)
                target.addfile(member, io.BytesIO(raw))
            else:
                target.addfile(member, data)
    with pytest.raises(kit.KitError) as caught:
        kit.load(foreign, say=lambda _: None)
    assert "riscv64" in str(caught.value)


def test_not_a_kit_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.kit"
    bogus.write_text("just some text")
    with pytest.raises(kit.KitError):
        kit.read_manifest(bogus)
