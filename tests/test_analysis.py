"""Image analysis: exact per-layer figures and dive's efficiency, from the engine and from archive files (with and
without an engine), the explorer widget, image comparison, the secret scan, and one clear error per bad input.

Synthetic archives (written here with tarfile) need no engine; tests marked `engine` build real images."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import helpers as wb
from helpers.analysis import archive, compare, explorer, layerfiles, secretscan
from helpers.engine import daemon, proc, saveload

FIXTURES = Path(__file__).parent / "fixtures" / "analysis"
MIB = 1048576

# --- synthetic archives -------------------------------------------------------------------------------------------

Member = tuple[str, bytes | None]  # None: a directory

# Layer 1 adds 2100 bytes; layer 2 changes /etc/conf (250), deletes the folder /srv/old (1000 bytes in 2 files) and
# adds /tmp/scratch (50); layer 3 deletes /tmp/scratch, makes /etc opaque (hiding /etc/conf) and adds /etc/new (70).
# /bin has no header of its own: dive adds such parents bare.
SYNTHETIC: list[list[Member]] = [
    [
        ("etc/", None),
        ("etc/conf", b"c" * 100),
        ("srv/", None),
        ("srv/old/", None),
        ("srv/old/a", b"a" * 400),
        ("srv/old/b", b"b" * 600),
        ("bin/tool", b"t" * 1000),
    ],
    [
        ("etc/", None),
        ("etc/conf", b"C" * 250),
        ("srv/", None),
        ("srv/.wh.old", b""),
        ("tmp/", None),
        ("tmp/scratch", b"s" * 50),
    ],
    [("tmp/", None), ("tmp/.wh.scratch", b""), ("etc/", None), ("etc/.wh..wh..opq", b""), ("etc/new", b"n" * 70)],
]
# dive by hand: leaf paths (smallest, cumulative): /etc/conf (100, 350), /srv/old/a (400, 400), /srv/old/b (600, 600),
# /bin/tool (1000, 1000), /srv/old deleted folder (1000, 1000), /tmp/scratch (0, 50: a deleted file counts 0),
# /etc/new (70, 70). Inefficient: /etc/conf and /tmp/scratch.
SYNTHETIC_SCORE = 3170 / 3470
SYNTHETIC_WASTED = 350 + 50


def _tar(members: list[Member]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, content in members:
            info = tarfile.TarInfo(name.rstrip("/"))
            if content is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _config(layer_tars: list[bytes]) -> bytes:
    history = [{"created_by": "ENV A=1", "empty_layer": True}]
    history += [{"created_by": f"RUN /bin/sh -c step {n} # buildkit"} for n in range(1, len(layer_tars) + 1)]
    rootfs = {"type": "layers", "diff_ids": [_digest(t) for t in layer_tars]}
    return json.dumps({"architecture": "amd64", "os": "linux", "rootfs": rootfs, "history": history}).encode()


def _write(path: Path, members: list[tuple[str, bytes]], symlinks: dict[str, str] | None = None) -> Path:
    with tarfile.open(path, "w") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in (symlinks or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    return path


def oci_archive(
    path: Path, layer_members: list[list[Member]], *, docker_manifest: bool = True, gz: bool = False
) -> Path:
    """Docker 25+'s layout: layer blobs first (as `docker save` streams them), the JSON last."""
    tars = [_tar(members) for members in layer_members]
    blobs = [gzip.compress(t, mtime=0) if gz else t for t in tars]
    config = _config(tars)
    media = "application/vnd.oci.image.layer.v1.tar" + ("+gzip" if gz else "")
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "config": {"digest": _digest(config), "size": len(config)},
            "layers": [{"mediaType": media, "digest": _digest(b), "size": len(b)} for b in blobs],
        }
    ).encode()
    index = {
        "schemaVersion": 2,
        "manifests": [{"digest": _digest(manifest), "annotations": {"io.containerd.image.name": "synthetic:1"}}],
    }
    members = [(_blob(b), b) for b in blobs] + [(_blob(config), config), (_blob(manifest), manifest)]
    members += [("index.json", json.dumps(index).encode()), ("oci-layout", b'{"imageLayoutVersion": "1.0.0"}')]
    if docker_manifest:
        entry = {"Config": _blob(config), "RepoTags": ["synthetic:1"], "Layers": [_blob(b) for b in blobs]}
        members.append(("manifest.json", json.dumps([entry]).encode()))
    return _write(path, members)


def legacy_archive(path: Path, layer_members: list[list[Member]], *, extra_image: bool = False) -> Path:
    """The pre-25 layout, JSON first; the last layer is reached through a symlink, as docker writes repeats."""
    tars = [_tar(members) for members in layer_members]
    config = _config(tars)
    config_name = _digest(config).removeprefix("sha256:") + ".json"
    members = [(config_name, config)] + [(f"layer{n}/layer.tar", t) for n, t in enumerate(tars[:-1])]
    members.append(("real/layer.tar", tars[-1]))
    paths = [f"layer{n}/layer.tar" for n in range(len(tars) - 1)] + ["alias/layer.tar"]
    entries = [{"Config": config_name, "RepoTags": ["legacy:1"], "Layers": paths}]
    if extra_image:
        entries.append({"Config": config_name, "RepoTags": ["other:2"], "Layers": paths})
    members.append(("manifest.json", json.dumps(entries).encode()))
    return _write(path, members, symlinks={"alias/layer.tar": "../real/layer.tar"})


def _blob(data: bytes) -> str:
    return "blobs/sha256/" + _digest(data).removeprefix("sha256:")


def assert_synthetic(analysis: layerfiles.ImageAnalysis) -> None:
    table = layerfiles.table(analysis)
    assert list(table.size_bytes) == [2100, 300, 70]
    assert list(table.added) == [4, 1, 1] and list(table.added_bytes) == [2100, 50, 70]
    assert list(table.changed) == [0, 1, 0] and list(table.changed_bytes) == [0, 250, 0]
    assert list(table.deleted) == [0, 1, 2] and list(table.deleted_bytes) == [0, 1000, 50 + 250]
    assert list(table.instruction) == ["RUN step 1", "RUN step 2", "RUN step 3"]
    assert analysis.efficiency == SYNTHETIC_SCORE
    assert analysis.wasted_bytes == SYNTHETIC_WASTED
    assert analysis.size_bytes == 2470 and analysis.user_size_bytes == 370
    assert analysis.wasted_user_percent == pytest.approx(100 * 400 / 370)
    waste = layerfiles.inefficiencies_table(analysis)
    assert list(waste.path) == ["/etc/conf", "/tmp/scratch"]
    assert list(waste.wasted_bytes) == [350, 50] and list(waste.layers) == ["1, 2", "2, 3"]


# --- no engine needed ---------------------------------------------------------------------------------------------


def test_oci_archive_exact_figures(tmp_path: Path) -> None:
    analysis = layerfiles.analyze(oci_archive(tmp_path / "image.tar", SYNTHETIC))
    assert analysis.layout == "oci" and analysis.ref == "synthetic:1"
    assert_synthetic(analysis)
    deleted = layerfiles.files_table(analysis, 3, change="deleted")
    assert deleted.to_dict("records") == [
        {"path": "/tmp/scratch", "change": "deleted", "kind": "whiteout", "size_bytes": 50},
        {"path": "/etc", "change": "deleted", "kind": "opaque", "size_bytes": 250},
    ]


def test_pure_oci_layout_without_manifest_json(tmp_path: Path) -> None:
    assert_synthetic(layerfiles.analyze(oci_archive(tmp_path / "image.tar", SYNTHETIC, docker_manifest=False)))


def test_legacy_layout_with_symlinked_layer(tmp_path: Path) -> None:
    analysis = layerfiles.analyze(legacy_archive(tmp_path / "image.tar", SYNTHETIC))
    assert analysis.layout == "docker" and analysis.layers[2].diff_id == _digest(_tar(SYNTHETIC[2]))
    assert_synthetic(analysis)


def test_gzip_archive_and_gzip_layers(tmp_path: Path) -> None:
    plain = oci_archive(tmp_path / "image.tar", SYNTHETIC, gz=True)
    packed = tmp_path / "image.tar.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert_synthetic(layerfiles.analyze(packed))


def test_zstd_archive(tmp_path: Path) -> None:
    zstandard = pytest.importorskip("zstandard")
    plain = oci_archive(tmp_path / "image.tar", SYNTHETIC)
    packed = tmp_path / "image.tar.zst"
    packed.write_bytes(zstandard.ZstdCompressor().compress(plain.read_bytes()))
    assert_synthetic(layerfiles.analyze(packed))


def test_long_and_non_ascii_names_survive() -> None:
    name = "usr/share/" + "deep/" * 30 + "fïle.txt"
    entries = list(archive.iter_tar(archive.FileStream(io.BytesIO(_tar([(name, b"x" * 7)])))))
    assert [(entry.name, entry.size) for entry, _ in entries] == [(name, 7)]


def test_path_history_and_tables(tmp_path: Path) -> None:
    analysis = layerfiles.analyze(oci_archive(tmp_path / "image.tar", SYNTHETIC))
    history = layerfiles.path_history(analysis, "/etc/conf")
    assert history[["layer", "change", "size_bytes"]].values.tolist() == [[1, "added", 100], [2, "changed", 250]]
    everything = layerfiles.files_table(analysis)
    assert set(everything.layer) == {1, 2, 3} and "/srv/old/a" in set(everything.path)
    summary = dict(layerfiles.summary_table(analysis).values.tolist())
    assert summary["wasted bytes"] == 400
    assert layerfiles.chart(analysis).axes


def test_explorer_shows_a_layer_and_where_a_path_lives(tmp_path: Path) -> None:
    analysis = layerfiles.analyze(oci_archive(tmp_path / "image.tar", SYNTHETIC))
    widget = explorer.show(analysis)
    assert widget.layer.value == 3 and "/etc/new" in widget.files.value and "opaque" in widget.files.value
    widget.layer.value = 2
    assert "/srv/old" in widget.files.value and "/etc/conf" in widget.files.value
    widget.change.value = "deleted"
    assert "/srv/old" in widget.files.value and "/etc/conf" not in widget.files.value
    widget.layer.value, widget.change.value, widget.depth.value = 1, "all", 1
    assert "/srv" in widget.folders.value and "/bin" in widget.folders.value
    widget.path.value = "/tmp/scratch"
    assert "added" in widget.history.value and "deleted" in widget.history.value


def test_compare_synthetic_images(tmp_path: Path) -> None:
    first = layerfiles.analyze(oci_archive(tmp_path / "a.tar", SYNTHETIC))
    second = layerfiles.analyze(oci_archive(tmp_path / "b.tar", [*SYNTHETIC[:2], [("other", b"o" * 9)]]))
    table = compare.compare(first, second)
    assert list(table.shared) == [True, True, False, False]
    assert table.difference_bytes.tolist() == [0, 0, -70, 9]
    totals = compare.summary(first, second).set_index("figure")
    assert totals.loc["shared bytes", "difference (b - a)"] == 0
    assert totals.loc["size (bytes)", "difference (b - a)"] == 9 - 70


def test_secret_scan_of_an_archive(tmp_path: Path) -> None:
    key = "AKIA" + uuid.uuid4().hex[:16].upper()
    members: list[list[Member]] = [
        [("root/", None), ("root/creds", f"aws={key}\ndb_password=Sw0rdfish!\n".encode())],
        [("root/.wh.creds", b"")],
    ]
    found = secretscan.scan(oci_archive(tmp_path / "image.tar", members), literal="Sw0rdfish")
    assert set(found.rule) == {"AWS access key id", "password or API key", "the given literal"}
    assert set(found.layer) == {1} and set(found.path) == {"/root/creds"}
    assert set(found.status) == {"deleted in layer 2, still stored in layer 1"}
    assert not any(key in text or "Sw0rdfish" in text for text in found.match)


# --- bad input: one clear error each ----------------------------------------------------------------------------


def _raises(kind: type[wb.errors.WorkbookError], source: Path | str, **kwargs: str) -> wb.errors.WorkbookError:
    with pytest.raises(kind) as caught:
        layerfiles.analyze(source, **kwargs)
    text = str(caught.value)
    assert "Traceback" not in text and "What to try" in text
    return caught.value


def test_truncated_archive(tmp_path: Path) -> None:
    whole = oci_archive(tmp_path / "image.tar", SYNTHETIC).read_bytes()
    inside_manifest = whole.rindex(b'"Config"')
    before_index = whole.rindex(b"index.json")  # a cut at a member boundary: the rest is simply missing
    assert before_index % 512 == 0
    for cut in (700, len(whole) // 3, before_index, inside_manifest):
        (tmp_path / "cut.tar").write_bytes(whole[:cut])
        error = _raises(archive.ArchiveTruncated, tmp_path / "cut.tar")
        assert "ends too early" in str(error) and "cut.tar" in error.where


def test_tar_that_is_not_an_image(tmp_path: Path) -> None:
    path = _write(tmp_path / "notes.tar", [("notes.txt", b"hello\n"), ("data.json", b'{"a": 1}')])
    error = _raises(archive.NotAnImageArchive, path)
    assert "not a saved image" in str(error) and "notes.txt" in error.detail


def test_file_that_is_not_a_tar(tmp_path: Path) -> None:
    (tmp_path / "image.tar").write_text("just some text, long enough to fill a block " * 20)
    assert "not a tar archive" in str(_raises(archive.NotAnImageArchive, tmp_path / "image.tar"))
    (tmp_path / "empty.tar").write_bytes(b"")
    _raises(archive.NotAnImageArchive, tmp_path / "empty.tar")


def test_damaged_layer_header(tmp_path: Path) -> None:
    data = bytearray(oci_archive(tmp_path / "image.tar", SYNTHETIC).read_bytes())
    inner = data.index(b"srv/old/a")  # a header inside the first layer blob
    data[inner + 148 : inner + 156] = b"99999999"  # its checksum field
    (tmp_path / "bad.tar").write_bytes(bytes(data))
    assert "damaged" in str(_raises(archive.NotAnImageArchive, tmp_path / "bad.tar"))


def test_missing_archive_file(tmp_path: Path) -> None:
    _raises(wb.errors.InvalidInput, tmp_path / "nowhere.tar")


def test_empty_image_archive(tmp_path: Path) -> None:
    config = _config([])
    entry = {"Config": "config.json", "RepoTags": ["empty:1"], "Layers": []}
    path = _write(tmp_path / "empty.tar", [("config.json", config), ("manifest.json", json.dumps([entry]).encode())])
    assert "no filesystem layer" in str(_raises(archive.EmptyImage, path))


def test_archive_with_several_images_needs_a_choice(tmp_path: Path) -> None:
    path = legacy_archive(tmp_path / "two.tar", SYNTHETIC, extra_image=True)
    assert "other:2" in _raises(wb.errors.InvalidInput, path).hint
    assert_synthetic(layerfiles.analyze(path, image="legacy:1"))
    _raises(wb.errors.NoSuchImage, path, image="nope:1")


# --- real images on the engine ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def waste(engine_ready: bool) -> Iterator[str]:
    if not engine_ready:
        pytest.skip("no Docker engine answers")
    tag = wb.image_name("test-analysis", "waste")
    wb.build(FIXTURES, "Dockerfile.waste", tag=tag, quiet=True)
    yield tag


@pytest.fixture(scope="module")
def waste_archive(waste: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return saveload.save(waste, tmp_path_factory.mktemp("analysis") / "waste.tar").path


def _busybox_layer(saved: Path) -> tuple[int, int]:
    """Bytes and non-directory entries of the busybox layer, read with Python's own tarfile (independently)."""
    with tarfile.open(saved) as outer:
        manifest = json.load(outer.extractfile("manifest.json"))  # type: ignore[arg-type]
        with tarfile.open(fileobj=outer.extractfile(manifest[0]["Layers"][0])) as layer:
            members = [m for m in layer.getmembers() if m.name not in (".", "./")]
    return sum(m.size for m in members), sum(1 for m in members if not m.isdir())


def assert_waste(analysis: layerfiles.ImageAnalysis, base_bytes: int, base_files: int) -> None:
    table = layerfiles.table(analysis)
    assert [layer.instruction for layer in analysis.layers][1:] == [
        "WORKDIR /app",
        "RUN mkdir -p /data && head -c 1048576 /dev/zero > /data/big.bin",
        "RUN head -c 1000 /dev/zero > /app/notes.txt",
        "RUN rm /data/big.bin",
        "RUN head -c 3000 /dev/zero > /app/notes.txt",
        "RUN mkdir -p /cache/sub && head -c 5000 /dev/zero > /cache/sub/a.bin && head -c 7000 /dev/zero > /cache/b.bin",
        "RUN rm -rf /cache",
    ]
    assert table.size_bytes.tolist() == [base_bytes, 0, MIB, 1000, 0, 3000, 12000, 0]
    assert table.added.tolist() == [base_files, 0, 1, 1, 0, 0, 2, 0]
    assert table.added_bytes.tolist() == [base_bytes, 0, MIB, 1000, 0, 0, 12000, 0]
    assert table.changed.tolist() == [0, 0, 0, 0, 0, 1, 0, 0]
    assert table.changed_bytes.tolist() == [0, 0, 0, 0, 0, 3000, 0, 0]
    assert table.deleted.tolist() == [0, 0, 0, 0, 1, 0, 0, 1]
    assert table.deleted_bytes.tolist() == [0, 0, 0, 0, MIB, 0, 0, 12000]
    # dive: big.bin (smallest 0: a deleted file counts 0, cumulative 1 MiB), notes.txt (1000, 1000 + 3000), the
    # deleted folder /cache (12000, 12000: seen once), its two files (5000 and 7000, once each).
    assert analysis.efficiency == (base_bytes + 0 + 1000 + 12000 + 5000 + 7000) / (
        base_bytes + MIB + 4000 + 12000 + 5000 + 7000
    )
    assert analysis.wasted_bytes == MIB + 4000
    assert analysis.user_size_bytes == MIB + 1000 + 3000 + 12000
    waste = layerfiles.inefficiencies_table(analysis)
    assert waste[["path", "count", "wasted_bytes"]].values.tolist() == [
        ["/data/big.bin", 2, MIB],
        ["/app/notes.txt", 2, 4000],
    ]


@pytest.mark.engine
def test_waste_from_the_engine_stream(waste: str, waste_archive: Path) -> None:
    analysis = layerfiles.analyze(waste)
    assert analysis.source == f"engine image {waste}" and analysis.layout == "oci"
    assert_waste(analysis, *_busybox_layer(waste_archive))


@pytest.mark.engine
def test_waste_from_archives_saved_by_api_and_cli(waste: str, waste_archive: Path, tmp_path: Path) -> None:
    from_api = layerfiles.analyze(waste_archive)
    assert_waste(from_api, *_busybox_layer(waste_archive))
    if shutil.which("docker"):
        proc.run(["docker", "save", "-o", str(tmp_path / "cli.tar"), waste])
        from_cli = layerfiles.analyze(tmp_path / "cli.tar")
        assert layerfiles.table(from_cli).equals(layerfiles.table(from_api))
        assert from_cli.efficiency == from_api.efficiency


@pytest.mark.engine
def test_archive_works_with_the_engine_unreachable(
    waste: str, waste_archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:9")
    monkeypatch.setattr(daemon, "_client", None)
    daemon._context_host.cache_clear()
    assert not wb.engine.available()
    assert_waste(layerfiles.analyze(waste_archive), *_busybox_layer(waste_archive))
    assert secretscan.scan(waste_archive, literal="not-in-this-image").empty  # scanning needs no engine either
    with pytest.raises(wb.errors.EngineUnavailable):
        layerfiles.analyze(waste)


@pytest.mark.engine
def test_truncated_engine_archive(waste_archive: Path, tmp_path: Path) -> None:
    data = waste_archive.read_bytes()
    (tmp_path / "half.tar").write_bytes(data[: len(data) // 2])
    _raises(archive.ArchiveTruncated, tmp_path / "half.tar")


@pytest.mark.engine
def test_missing_image() -> None:
    error = _raises(wb.errors.NoSuchImage, wb.image_name("test-analysis", "never-built"))
    assert "never-built" in str(error)


@pytest.mark.engine
def test_empty_image_on_the_engine() -> None:
    tag = wb.image_name("test-analysis", "empty")
    wb.build(FIXTURES, "Dockerfile.empty", tag=tag, quiet=True)
    _raises(archive.EmptyImage, tag)


@pytest.mark.engine
def test_compare_shares_cached_layers(waste: str) -> None:
    branch = wb.image_name("test-analysis", "branch")
    wb.build(FIXTURES, "Dockerfile.branch", tag=branch, quiet=True)
    table = compare.compare(waste, branch)
    shared = table[table.shared]
    assert shared.layer_a.tolist() == [1, 2, 3] and shared.layer_b.tolist() == [1, 2, 3]
    only_b = table[table.layer_a.isna()]
    assert only_b.size_b_bytes.tolist() == [2048] and only_b.instruction.str.contains("other.bin").all()


@pytest.mark.engine
def test_copied_then_deleted_secret_stays_in_its_layer(tmp_path: Path) -> None:
    context, literal, key = _secret_context(tmp_path)
    tag = wb.image_name("test-analysis", "secret-copy")
    wb.build(context, "Dockerfile.secret-copy", tag=tag, build_args={"API_KEY_VALUE": key}, quiet=True)
    found = secretscan.scan(tag, literal=literal)
    in_layers = found[found.layer.notna()]
    assert set(in_layers.layer) == {2} and set(in_layers.path) == {"/root/credentials.txt"}
    assert {"AWS access key id", "GitHub token", "private key", "password or API key", "the given literal"} <= set(
        in_layers.rule
    )
    assert set(in_layers.status) == {"deleted in layer 3, still stored in layer 2"}
    in_config = found[found.layer.isna()]
    assert "config Env SERVICE_API_KEY" in set(in_config.path)
    assert not any(secret in text for text in found.match for secret in (literal, key))


@pytest.mark.engine
def test_secret_mount_leaves_it_in_no_layer(tmp_path: Path) -> None:
    context, literal, _ = _secret_context(tmp_path)
    tag = wb.image_name("test-analysis", "secret-mount")
    wb.build(
        context, "Dockerfile.secret-mount", tag=tag, secrets={"credentials": context / "credentials.txt"}, quiet=True
    )
    assert "/root/credentials.size" in set(layerfiles.files_table(layerfiles.analyze(tag), 2).path)
    assert secretscan.scan(tag, literal=literal).empty


def _secret_context(tmp_path: Path) -> tuple[Path, str, str]:
    """A build context with fake credentials made now, so that nothing secret-like is ever committed."""
    context = tmp_path / "context"
    context.mkdir()
    for name in ("Dockerfile.secret-copy", "Dockerfile.secret-mount"):
        shutil.copy(FIXTURES / name, context / name)
    literal = f"workbook-{uuid.uuid4().hex}"
    fake = uuid.uuid4().hex + uuid.uuid4().hex
    lines = [
        f"aws_access_key_id = AKIA{fake[:16].upper()}",
        f"github = ghp_{fake[:36]}",
        "-----BEGIN OPENSSH PRIVATE KEY-----",
        fake,
        "-----END OPENSSH PRIVATE KEY-----",
        f"db_password={fake[:12]}",
        literal,
    ]
    (context / "credentials.txt").write_text("\n".join(lines) + "\n")
    return context, literal, fake[-20:]


# --- base-image rows in history and layer tables, the build context matcher, an image's inventory ----------------


def test_collapse_base_keeps_numbers_and_sums_sizes() -> None:
    from helpers.engine import images

    rows = [
        {"CreatedBy": "", "Comment": "Imported from -", "Size": 1000},
        {"CreatedBy": "/bin/sh -c #(nop)  ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt", "Size": 0},
        {"CreatedBy": "/bin/sh -c #(nop)  LABEL org.dockerworkbook.standin=python:3.13-slim-trixie", "Size": 0},
        {"CreatedBy": "WORKDIR /app", "Size": 8},
        {"CreatedBy": "COPY app.py . # buildkit", "Size": 12},
    ]
    frame = images.history_frame(rows)
    assert images.same_start(rows, rows[:3]) and not images.same_start(rows, rows[1:3])
    assert not images.same_start(rows[:2], rows) and not images.same_start(rows, [])
    shown = images.collapse_base(frame, "python:3.13-slim-trixie", 3, unit="steps", number="step")
    assert shown.step.tolist() == [1, 4, 5]
    assert shown.instruction.tolist() == [
        "FROM python:3.13-slim-trixie (base, 3 steps)",
        "WORKDIR /app",
        "COPY app.py .",
    ]
    assert shown.size_bytes.tolist() == [1000, 8, 12] and not shown.instruction.str.contains("standin").any()
    assert images.collapse_base(frame, "x", 9, unit="steps", number="step").equals(frame)  # does not fit: unchanged
    one = images.collapse_base(frame, "debian:trixie-slim", 1, unit="steps", number="step")
    assert one.instruction.tolist()[0] == "FROM debian:trixie-slim" and len(one) == len(frame)


@pytest.mark.engine
def test_history_and_layers_show_the_base_as_one_row(waste: str) -> None:
    everything = wb.images.history(waste, everything=True)
    base_steps = len(wb.images.history("busybox:1.37", everything=True))
    assert everything.instruction.str.contains("org.dockerworkbook.standin").any()
    shown = wb.images.history(waste)
    assert shown.instruction.iloc[0] == f"FROM busybox:1.37 (base, {base_steps} steps)"
    assert not shown.instruction.str.contains("org.dockerworkbook").any()
    assert shown.step.tolist() == [1, *everything.step.iloc[base_steps:]]
    assert shown.size_bytes.sum() == everything.size_bytes.sum()
    layers_shown, layers_all = wb.images.layers(waste), wb.images.layers(waste, everything=True)
    assert layers_shown.instruction.iloc[0] == "FROM busybox:1.37"  # busybox has one layer
    assert layers_shown.instruction.tolist()[1:] == layers_all.instruction.tolist()[1:]


def test_build_context_matcher_follows_dockerignore_rules() -> None:
    files = ["server.js", "server.log", "logs/a.log", "keep.log", "node_modules/x/index.js", ".env", ".dockerignore"]
    assert wb.buildcontext.sent(files) == sorted(files)
    assert wb.buildcontext.sent(files, "# logs\n*.log\nnode_modules\n.env\n.dockerignore\n") == [
        "logs/a.log",  # `*` stays within one level
        "server.js",
    ]
    assert wb.buildcontext.sent(files, "**/*.log\n!keep.log\n*\n!server.js\n") == ["server.js"]  # last match wins
    assert wb.buildcontext.sent(files, "*.log\n!keep.log\n") == [f for f in sorted(files) if f != "server.log"]
    assert wb.buildcontext.excluded(
        ".dockerignore", ".dockerignore"
    )  # BuildKit honours it; the SDK's re-include dropped
    assert wb.buildcontext.patterns("  a  \n\n# c\n!b\n") == ["a", "!b"]


def test_build_context_walk_is_bounded(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f.txt").write_text("12345")
    (tmp_path / "link").symlink_to("d")
    assert wb.buildcontext.walk(tmp_path) == {"d/f.txt": 5, "link": 1}
    with pytest.raises(wb.errors.InvalidInput):
        wb.buildcontext.walk(tmp_path, max_files=1)
    with pytest.raises(wb.errors.InvalidInput):
        wb.buildcontext.walk(tmp_path / "missing")


def test_dpkg_status_packages_are_counted() -> None:
    status = "Package: a\nVersion: 1\n\nPackage: b\nDescription: Package: not a stanza\n"
    assert wb.inventory.count_packages(status) == 2
    assert wb.inventory.packages("unused", {"var/lib/dpkg/status.d/a": 1, "var/lib/dpkg/status.d/b": 2}) == 2
    assert wb.inventory.packages("unused", {"bin/busybox": 1}) == 0


@pytest.mark.engine
def test_inventory_of_real_bases(engine_ready: bool) -> None:
    if not engine_ready:
        pytest.skip("no Docker engine answers")
    busybox = wb.inventory.inventory("busybox:1.37")
    assert busybox["shell"] and busybox["packages"] == 0 and not busybox["package manager"]
    debian = wb.inventory.inventory("debian:trixie-slim")
    assert debian["packages"] > 50 and debian["package manager"] and debian["glibc"]
    with pytest.raises(wb.errors.NoSuchImage):
        wb.inventory.inventory(wb.image_name("no-such-image", "1"))
