"""The classroom kit: a real save / remove / load round trip, and every kind of bad kit refused
before anything reaches the engine."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest
from cli_runner import run_cli
from docker.errors import APIError, ImageNotFound

import helpers as wb
from helpers.bases import kit
from helpers.engine import saveload
from helpers.errors import KitError

BUSYBOX = "busybox:1.37"
Edit = Callable[[dict[str, Any]], None]


def _quiet(_line: str) -> None:
    pass


def _build(name: str, dockerfile: str, tag: str, platform: str | None = None) -> tuple[str, str]:
    app = wb.make_app(name, {"Dockerfile": dockerfile, "f.txt": name})
    built = wb.build(app, tag=wb.image_name(name, tag), quiet=True, platform=platform)
    return built.ref, built.image_id


def _remove(*refs_or_ids: str) -> None:
    for ref in refs_or_ids:
        with suppress(ImageNotFound, APIError):
            wb.client().images.remove(ref, force=True)


def _gone(image_id: str) -> bool:
    try:
        wb.client().images.get(image_id)
    except ImageNotFound:
        return True
    return False


def _members(path: Path) -> list[tuple[tarfile.TarInfo, bytes]]:
    with tarfile.open(path) as source:
        return [(m, source.extractfile(m).read()) for m in source.getmembers()]  # type: ignore[union-attr]


def _write_kit(target: Path, members: list[tuple[str, bytes]]) -> Path:
    with tarfile.open(target, "w") as out:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))
    return target


def _edited(source: Path, target: Path, edit: Edit) -> Path:
    """A copy of a kit whose kit.json was changed by `edit` (images.tar left as it is)."""
    members = []
    for info, data in _members(source):
        if info.name == kit.MANIFEST_MEMBER:
            manifest = json.loads(data)
            edit(manifest)
            data = json.dumps(manifest).encode()
        members.append((info.name, data))
    return _write_kit(target, members)


def _entry(manifest: dict[str, Any], ref: str) -> dict[str, Any]:
    return next(i for i in manifest["images"] if i["ref"] == ref)


# -- a real kit ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def saved_kit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[str]]]:
    app = wb.make_app("kit-demo", {"Dockerfile": "FROM busybox:1.37\nRUN echo kit > /kit.txt\n"})
    refs = [wb.build(app, tag=wb.image_name("kit-demo", tag), quiet=True, build_args={"V": tag}).ref for tag in ("a",)]
    path = tmp_path_factory.mktemp("kit") / "classroom.kit"
    done = run_cli("bundle", "save", str(path), *refs, BUSYBOX, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "100%" in done.stdout
    yield path, [*refs, BUSYBOX]
    _remove(*refs)


@pytest.mark.engine
def test_round_trip_gives_the_same_image_ids(saved_kit: tuple[Path, list[str]]) -> None:
    path, refs = saved_kit
    client = wb.client()
    app_ref = refs[0]
    app_id = client.images.get(app_ref).id
    client.images.remove(app_ref)
    with pytest.raises(ImageNotFound):
        client.images.get(app_id)
    done = run_cli("bundle", "load", str(path), timeout=300)
    assert done.returncode == 0, done.stderr
    assert client.images.get(app_ref).id == app_id
    manifest = kit.read_manifest(path)
    assert {image["ref"] for image in manifest["images"]} == set(refs)


@pytest.mark.engine
def test_load_feeds_docker_the_verified_copy_not_the_file_again(
    saved_kit: tuple[Path, list[str]], tmp_path: Path
) -> None:
    """The kit file is emptied the moment verification ends: a load that read the file a
    second time would find nothing; loading from the private copy restores the image."""
    source, refs = saved_kit
    path = tmp_path / "read-once.kit"
    path.write_bytes(source.read_bytes())
    app_ref, client = refs[0], wb.client()
    app_id = client.images.get(app_ref).id
    client.images.remove(app_ref)
    assert _gone(app_id)
    seen: list[str] = []

    def say(line: str) -> None:
        seen.append(line)
        if line.startswith("Kit verified"):
            path.write_bytes(b"")  # the USB stick pulled out, or the file replaced

    loaded = kit.load(path, say=say)
    assert app_ref in loaded
    assert client.images.get(app_ref).id == app_id
    assert path.stat().st_size == 0
    assert any(line.startswith("  loading [####################] 100%") for line in seen)


@pytest.mark.engine
def test_truncated_kit_is_refused_before_loading(saved_kit: tuple[Path, list[str]], tmp_path: Path) -> None:
    path, _ = saved_kit
    truncated = tmp_path / "truncated.kit"
    truncated.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(KitError) as caught:
        kit.load(truncated, say=_quiet)
    assert "damaged" in str(caught.value) and "nothing was loaded" in caught.value.hint


@pytest.mark.engine
def test_corrupted_kit_fails_its_checksum(saved_kit: tuple[Path, list[str]], tmp_path: Path) -> None:
    path, _ = saved_kit
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0xFF
    corrupted = tmp_path / "corrupted.kit"
    corrupted.write_bytes(bytes(data))
    with pytest.raises(KitError) as caught:
        kit.read_manifest(corrupted)
    assert "SHA-256 checksum does not match" in str(caught.value)


@pytest.mark.engine
def test_kit_with_two_images_members_is_refused(saved_kit: tuple[Path, list[str]], tmp_path: Path) -> None:
    """A second images.tar (another image altogether) after the verified one."""
    path, _ = saved_kit
    other = tmp_path / "other.tar"
    saveload.save(BUSYBOX, other)
    members = [(info.name, data) for info, data in _members(path)]
    doubled = _write_kit(tmp_path / "doubled.kit", [*members, (kit.IMAGES_MEMBER, other.read_bytes())])
    with pytest.raises(KitError) as caught:
        kit.load(doubled, say=_quiet)
    assert "it holds images.tar twice" in str(caught.value)


@pytest.mark.engine
def test_ids_recorded_on_the_classic_store_verify_too(saved_kit: tuple[Path, list[str]], tmp_path: Path) -> None:
    """The classic store names an image by its config digest: a kit.json holding those ids
    matches the same images.tar, and a wrong config digest does not."""
    path, _ = saved_kit
    with tarfile.open(path) as outer:
        images = outer.extractfile(kit.IMAGES_MEMBER).read()  # type: ignore[union-attr]
    with tarfile.open(fileobj=io.BytesIO(images)) as inner:
        entries = json.loads(inner.extractfile("manifest.json").read())  # type: ignore[union-attr]
    config_of = {tag: "sha256:" + entry["Config"].rsplit("/", 1)[1] for entry in entries for tag in entry["RepoTags"]}

    def classic_ids(manifest: dict[str, Any]) -> None:
        for image in manifest["images"]:
            image["id"] = config_of[image["ref"]]

    assert kit.read_manifest(_edited(path, tmp_path / "classic.kit", classic_ids))["images"][0]["id"].startswith(
        "sha256:"
    )

    def wrong_config(manifest: dict[str, Any]) -> None:
        classic_ids(manifest)
        manifest["images"][0]["id"] = config_of[BUSYBOX]

    with pytest.raises(KitError) as caught:
        kit.read_manifest(_edited(path, tmp_path / "wrong.kit", wrong_config))
    assert "as another image than kit.json's id" in str(caught.value)


@pytest.mark.engine
def test_reading_a_damaged_kit_only_ever_raises_kit_error(saved_kit: tuple[Path, list[str]], tmp_path: Path) -> None:
    path, _ = saved_kit
    data = path.read_bytes()
    damaged = tmp_path / "damaged.kit"
    original = kit.read_manifest(path)
    with tarfile.open(path) as outer:
        info = outer.getmember(kit.MANIFEST_MEMBER)
    manifest_at, manifest_end = info.offset_data, info.offset_data + info.size
    for cut in (0, 1, 511, 512, 1024, len(data) // 2, manifest_at, manifest_at + 20, manifest_end - 1):
        damaged.write_bytes(data[:cut])
        with pytest.raises(KitError):
            kit.read_manifest(damaged)
    for offset in range(manifest_at, manifest_end, max(1, (manifest_end - manifest_at) // 40)):
        flipped = bytearray(data)
        flipped[offset] ^= 0x55
        damaged.write_bytes(bytes(flipped))
        try:
            changed = kit.read_manifest(damaged)
        except KitError:
            continue
        # Only the informational timestamp may change and still describe the same images.
        assert changed["created"] != original["created"]
        assert {**changed, "created": ""} == {**original, "created": ""}


# -- what images.tar holds must be what kit.json says ------------------------------------------


@pytest.fixture
def victim(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A kit holding wb-<learner>/kit-victim:1 as image A, while the engine's tag of that name
    now names image B and A is gone from the engine."""
    ref, a_id = _build("kit-victim", "FROM busybox:1.37\nLABEL kit.test=a\n", "1")
    path = tmp_path / "victim.kit"
    kit.save(path, [ref, BUSYBOX], say=_quiet)
    _, b_id = _build("kit-victim", "FROM busybox:1.37\nLABEL kit.test=b\n", "1")
    _remove(a_id)
    assert _gone(a_id) and wb.client().images.get(ref).id == b_id
    yield {"path": path, "ref": ref, "a": a_id, "b": b_id, "tmp": tmp_path}
    _remove(ref, a_id, b_id)


@pytest.mark.engine
def test_tag_in_images_tar_but_not_in_kit_json_is_refused_and_nothing_loaded(victim: dict[str, Any]) -> None:
    def unlisted(manifest: dict[str, Any]) -> None:
        manifest["images"] = [i for i in manifest["images"] if i["ref"] != victim["ref"]]

    bad = _edited(victim["path"], victim["tmp"] / "unlisted.kit", unlisted)
    with pytest.raises(KitError) as caught:
        kit.load(bad, say=_quiet)
    assert f"it holds docker.io/{victim['ref']}" in str(caught.value)
    assert "which kit.json does not list" in str(caught.value)
    assert wb.client().images.get(victim["ref"]).id == victim["b"]
    assert _gone(victim["a"])


@pytest.mark.engine
def test_image_id_differing_from_kit_json_is_refused_and_nothing_loaded(victim: dict[str, Any]) -> None:
    """kit.json claims the tag keeps the engine's image B; images.tar would move it to A."""

    def claims_b(manifest: dict[str, Any]) -> None:
        _entry(manifest, victim["ref"])["id"] = victim["b"]

    bad = _edited(victim["path"], victim["tmp"] / "other-id.kit", claims_b)
    with pytest.raises(KitError) as caught:
        kit.load(bad, say=_quiet)
    assert f"holds {victim['ref']} as another image than kit.json's id {victim['b'][:19]}" in str(caught.value)
    assert wb.client().images.get(victim["ref"]).id == victim["b"]
    assert _gone(victim["a"])


@pytest.mark.engine
def test_existing_tag_moves_only_when_the_user_agrees(victim: dict[str, Any]) -> None:
    with pytest.raises(KitError) as caught:
        kit.load(victim["path"], say=_quiet)
    text = str(caught.value)
    assert "would move tags that name other images on this engine; nothing was loaded" in text
    assert f"{victim['ref']}: here {victim['b'][:19]}" in text and "replace=True" in text
    assert wb.client().images.get(victim["ref"]).id == victim["b"]
    assert _gone(victim["a"])

    said: list[str] = []
    kit.load(victim["path"], say=said.append, replace=True)
    assert wb.client().images.get(victim["ref"]).id == victim["a"]
    assert any(line.startswith(f"  {victim['ref']} moves from {victim['b'][:19]}") for line in said)


# -- architecture, from the image configurations ----------------------------------------------


@pytest.fixture(scope="module")
def arm_kit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, str]]:
    """A kit holding a real arm64 image (FROM scratch + COPY: no emulation needed to build it)."""
    ref, image_id = _build("kit-arm", "FROM scratch\nCOPY f.txt /f.txt\n", "1", platform="linux/arm64")
    path = tmp_path_factory.mktemp("arm") / "arm.kit"
    kit.save(path, [ref], say=_quiet)
    _remove(ref)
    yield path, ref, image_id
    _remove(ref, image_id)


@pytest.mark.engine
def test_kit_claiming_amd64_whose_configs_say_arm64_is_refused(arm_kit: tuple[Path, str, str], tmp_path: Path) -> None:
    path, ref, image_id = arm_kit
    assert kit.read_manifest(path)["images"][0]["architecture"] == "arm64"

    def claims_amd64(manifest: dict[str, Any]) -> None:
        manifest["images"][0]["architecture"] = "amd64"

    with pytest.raises(KitError) as caught:
        kit.load(_edited(path, tmp_path / "claims-amd64.kit", claims_amd64), say=_quiet)
    assert f"kit.json says {ref} is amd64, but its image configuration says arm64" in str(caught.value)
    assert _gone(image_id)


@pytest.mark.engine
def test_kit_from_another_architecture_is_refused(arm_kit: tuple[Path, str, str]) -> None:
    path, _, image_id = arm_kit
    if wb.client().info()["Architecture"] == "aarch64":
        pytest.skip("this engine runs arm64: the arm64 kit is its own")
    with pytest.raises(KitError) as caught:
        kit.load(path, say=_quiet)
    assert "This kit holds arm64 images but this engine runs amd64" in str(caught.value)
    assert _gone(image_id)


# -- kit.json itself ----------------------------------------------------------------------------

_IMAGES = b"not inspected: kit.json is refused first"


def _manifest(**changes: Any) -> dict[str, Any]:
    manifest: dict[str, Any] = {
        "format": 1,
        "created": "2026-01-01T00:00:00Z",
        "sha256": hashlib.sha256(_IMAGES).hexdigest(),
        "bytes": len(_IMAGES),
        "images": [{"ref": BUSYBOX, "id": "sha256:" + "0" * 64, "architecture": "amd64", "size": 1}],
    }
    manifest.update(changes)
    return manifest


def _image(**changes: Any) -> list[dict[str, Any]]:
    return [{**_manifest()["images"][0], **changes}]


def _without(key: str) -> dict[str, Any]:
    manifest = _manifest()
    del manifest[key]
    return manifest


MALFORMED: list[tuple[str, bytes, str]] = [
    ("not-json", b"{'format': 1,", "its kit.json is not valid JSON"),
    ("a-list", b"[1, 2]", "its kit.json is a list, not an object"),
    ("deeply-nested", b"[" * 100_000, "its kit.json is not valid JSON"),
    ("format-text", json.dumps(_manifest(format="1")).encode(), "its kit.json field format is text, not a number"),
    ("format-bool", json.dumps(_manifest(format=True)).encode(), "its kit.json field format is true/false"),
    (
        "newer-format",
        json.dumps(_manifest(format=2)).encode(),
        "its kit.json has format 2; this workbook reads format 1",
    ),
    ("images-text", json.dumps(_manifest(images="busybox")).encode(), "its kit.json field images is text, not a list"),
    ("no-images", json.dumps(_manifest(images=[])).encode(), "its kit.json lists 0 images"),
    ("bytes-text", json.dumps(_manifest(bytes="12")).encode(), "its kit.json field bytes is text, not a number"),
    ("bad-sha", json.dumps(_manifest(sha256="abc")).encode(), "its kit.json field sha256 is not a SHA-256 checksum"),
    ("missing-sha", json.dumps(_without("sha256")).encode(), "its kit.json has no sha256"),
    ("missing-images", json.dumps(_without("images")).encode(), "its kit.json has no images"),
    ("extra-field", json.dumps(_manifest(run="rm -rf /")).encode(), "its kit.json has fields a kit never has: run"),
    ("image-not-object", json.dumps(_manifest(images=["busybox"])).encode(), "its kit.json images[0] is text"),
    ("ref-number", json.dumps(_manifest(images=_image(ref=7))).encode(), "images[0] field ref is a number, not text"),
    ("ref-invalid", json.dumps(_manifest(images=_image(ref="Bad Name"))).encode(), "images[0].ref 'Bad Name' is not"),
    ("ref-digest", json.dumps(_manifest(images=_image(ref="busybox@sha256:" + "1" * 64))).encode(), "is not an image"),
    ("id-invalid", json.dumps(_manifest(images=_image(id="b384bf2e"))).encode(), "images[0].id is not an image id"),
    ("arch-odd", json.dumps(_manifest(images=_image(architecture="../x"))).encode(), "is not an architecture"),
    ("image-missing", json.dumps(_manifest(images=[{"ref": BUSYBOX}])).encode(), "images[0] has no id, architecture"),
    ("twice", json.dumps(_manifest(images=_image() * 2)).encode(), "its kit.json lists busybox:1.37 twice"),
]


@pytest.mark.parametrize(
    ("raw", "message"), [(raw, message) for _, raw, message in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_malformed_kit_json_is_refused_with_a_kit_error(raw: bytes, message: str, tmp_path: Path) -> None:
    path = _write_kit(tmp_path / "bad.kit", [(kit.IMAGES_MEMBER, _IMAGES), (kit.MANIFEST_MEMBER, raw)])
    with pytest.raises(KitError) as caught:
        kit.read_manifest(path)
    assert message in str(caught.value)
    assert "nothing was loaded" in caught.value.hint


def test_a_well_formed_kit_json_gets_as_far_as_images_tar(tmp_path: Path) -> None:
    """The baseline of the cases above: its kit.json passes, its images.tar does not."""
    raw = json.dumps(_manifest()).encode()
    path = _write_kit(tmp_path / "ok.kit", [(kit.IMAGES_MEMBER, _IMAGES), (kit.MANIFEST_MEMBER, raw)])
    with pytest.raises(KitError) as caught:
        kit.read_manifest(path)
    assert "its images.tar is not a readable `docker save` archive" in str(caught.value)


def test_a_100_mb_kit_json_is_refused_without_being_read(tmp_path: Path) -> None:
    huge = tmp_path / "huge.kit"
    with tarfile.open(huge, "w") as out:
        info = tarfile.TarInfo(kit.MANIFEST_MEMBER)
        info.size = 100 << 20
        out.addfile(info, io.BytesIO(b" " * info.size))
    with pytest.raises(KitError) as caught:
        kit.read_manifest(huge)
    assert "its kit.json is too large (104,857,600 bytes; a kit manifest is at most 1,048,576)" in str(caught.value)


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ([(kit.MANIFEST_MEMBER, b"{}"), (kit.MANIFEST_MEMBER, b"{}")], "it holds kit.json twice"),
        ([("notes.txt", b"hello")], "it holds 'notes.txt', which a kit never holds"),
        ([(kit.IMAGES_MEMBER, _IMAGES)], "it has no kit manifest (kit.json)"),
    ],
    ids=["two-manifests", "unknown-member", "no-manifest"],
)
def test_kit_members_are_checked(members: list[tuple[str, bytes]], message: str, tmp_path: Path) -> None:
    with pytest.raises(KitError) as caught:
        kit.read_manifest(_write_kit(tmp_path / "members.kit", members))
    assert message in str(caught.value)


def test_not_a_kit_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.kit"
    bogus.write_text("just some text")
    with pytest.raises(KitError) as caught:
        kit.read_manifest(bogus)
    assert "damaged or not a kit" in str(caught.value)


@pytest.mark.parametrize(
    ("ref", "full"),
    [
        ("busybox:1.37", "docker.io/library/busybox:1.37"),
        ("busybox", "docker.io/library/busybox:latest"),
        ("wb-ana/hello:1.0", "docker.io/wb-ana/hello:1.0"),
        ("docker.io/library/busybox:1.37", "docker.io/library/busybox:1.37"),
        ("127.0.0.1:5000/team/app:v2", "127.0.0.1:5000/team/app:v2"),
        ("localhost/app:1", "localhost/app:1"),
        ("UPPER:1", None),
        ("a b:1", None),
        ("", None),
    ],
)
def test_references_compare_in_full(ref: str, full: str | None) -> None:
    assert kit.canonical(ref) == full


# -- plain save and load ------------------------------------------------------------------------


@pytest.mark.engine
def test_zstd_archive_loads_without_leaving_a_decompressed_copy(tmp_path: Path) -> None:
    archive = saveload.compress(saveload.save(BUSYBOX, tmp_path / "busybox.tar"), "zstd")
    archive_dir = tmp_path / "zst"
    archive_dir.mkdir()
    moved = archive.path.rename(archive_dir / archive.path.name)
    assert saveload.load(moved) == [BUSYBOX]
    assert sorted(p.name for p in archive_dir.iterdir()) == ["busybox.tar.zst"]
