"""The readers behind notebook 17 (build outputs), on real captured output: `docker buildx du` /
`prune --verbose`, `imagetools inspect --format '{{json .Provenance}}'` / `'{{json .SBOM}}'`,
`docker buildx bake --print`, and a local cache export's index. No engine needed."""

from __future__ import annotations

import gzip
import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest

from helpers.engine import attest, bake, buildcache, buildx_run, outputs
from helpers.errors import InvalidInput

FIXTURES = Path(__file__).parent / "fixtures" / "build-outputs"


def _text(name: str) -> str:
    return (FIXTURES / name).read_text()


def _json(name: str) -> object:
    return json.loads(_text(name))


# -- build cache records ------------------------------------------------------------------


def test_du_verbose_records() -> None:
    records = buildcache.parse_records(_text("du-verbose.txt"))
    assert list(records.id) == ["skoyvsoy4po2ifljckyf0kbtc", "iaxg33h249ei12f94qfdhv114"]
    assert all("fixture7127" in d for d in records.description)
    assert list(records.shared) == [True, True]
    assert list(records["size"]) == ["12.4kB", "24.74kB"]


def test_prune_verbose_records_ignore_the_total_line() -> None:
    records = buildcache.parse_records(_text("prune-verbose.txt"))
    assert len(records) == 2
    assert records.description.iloc[1] == 'mount / from exec /bin/sh -c echo "fixture7127" > /a'
    assert list(records.shared) == [False, False]


@pytest.mark.parametrize("text", ["", "Total:\t0B\n", "garbage\n\n:::\n", "ID:\n\nDescription: x\n"])
def test_records_of_odd_output_are_empty(text: str) -> None:
    assert buildcache.parse_records(text).empty


def test_records_are_bounded() -> None:
    text = "".join(f"ID: r{n}\nDescription: {'x' * 1000}\n\n" for n in range(buildcache.MAX_RECORDS + 50))
    records = buildcache.parse_records(text)
    assert len(records) == buildcache.MAX_RECORDS
    assert records.description.str.len().max() == 300


@pytest.mark.parametrize("pattern", ["wb17-3f9a1c2b7d4e", "wb17-3f9a1c2b7d4e|" + "a" * 64])
def test_patterns_the_workbook_prunes_by(pattern: str) -> None:
    assert buildcache.checked_pattern(pattern) == pattern


@pytest.mark.parametrize("pattern", ["", ".*", "abc", "token with space", "a,b", "tok\nen", "x" * 81, "valid1|"])
def test_patterns_that_could_match_others_records_are_refused(pattern: str) -> None:
    with pytest.raises(InvalidInput):
        buildcache.checked_pattern(pattern)


def _layer(content: bytes) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as archive:
        entry = tarfile.TarInfo("build-id")
        entry.size = len(content)
        archive.addfile(entry, io.BytesIO(content))
    return gzip.compress(raw.getvalue())


def test_new_cache_layers_are_those_holding_the_token(tmp_path: Path) -> None:
    """The real index and cache manifest of an export; small stand-in blobs under the real digests."""
    blobs = tmp_path / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    shutil.copy(FIXTURES / "cache-index.json", tmp_path / "index.json")
    manifest = json.loads(_text("cache-manifest.json"))
    digest = json.loads(_text("cache-index.json"))["manifests"][0]["digest"].split(":")[1]
    (blobs / digest).write_text(_text("cache-manifest.json"))
    layers = [layer["digest"].split(":")[1] for layer in manifest["layers"]]
    mine = {layers[1], layers[3]}
    for layer in layers:
        (blobs / layer).write_bytes(_layer(b"wb17-0123456789ab\n" if layer in mine else b"base layer\n"))
    assert buildcache.new_cache_layers(tmp_path, "wb17-0123456789ab") == sorted(mine)
    assert buildcache.new_cache_layers(tmp_path, "wb17-ffffffffffff") == []


def test_a_damaged_cache_folder_is_one_plain_error(tmp_path: Path) -> None:
    (tmp_path / "index.json").write_text('{"manifests": [{"digest": "sha256:../../etc/passwd"}]}')
    with pytest.raises(InvalidInput, match="not a sha256 digest"):
        buildcache.new_cache_layers(tmp_path, "wb17-0123456789ab")
    (tmp_path / "index.json").write_text("[" * 100_000)
    with pytest.raises(InvalidInput, match="not JSON"):
        buildcache.new_cache_layers(tmp_path, "wb17-0123456789ab")


def test_a_missing_cache_folder_raises_file_not_found(tmp_path: Path) -> None:
    """Replay mode answers from the recording when the folder is not on this machine."""
    with pytest.raises(FileNotFoundError):
        buildcache.new_cache_layers(tmp_path / "gone", "wb17-0123456789ab")


# -- attestations -------------------------------------------------------------------------


def test_provenance_facts_of_a_mode_max_build() -> None:
    facts = attest.provenance_facts(_json("imagetools-provenance.json"))
    assert facts["buildType"] == "https://mobyproject.org/buildkit@v1"
    assert facts["frontend"] == "dockerfile.v0"
    assert facts["build_args"] == {"GREETING": "hello-agentd"}
    assert facts["entryPoint"] == "Dockerfile"
    assert facts["steps_recorded"] == 3
    uris = [m["uri"] for m in facts["materials"]]
    assert "pkg:docker/busybox@1.37?platform=linux%2Famd64" in uris
    assert all(len(m["sha256"]) == 64 for m in facts["materials"])


def test_provenance_of_one_platform_in_a_map() -> None:
    document = {"linux/amd64": _json("imagetools-provenance.json")}
    assert attest.provenance_facts(document)["frontend"] == "dockerfile.v0"


@pytest.mark.parametrize("document", [None, [], "x", {}, {"SLSA": "x"}, {"a": 1, "b": 2}])
def test_not_a_provenance_is_one_plain_error(document: object) -> None:
    with pytest.raises(InvalidInput, match="not a provenance"):
        attest.provenance_facts(document)


def test_odd_fields_in_a_provenance_become_empty() -> None:
    facts = attest.provenance_facts({"SLSA": {"buildType": 5, "materials": "x", "invocation": {"parameters": []}}})
    assert facts == {
        "buildType": "",
        "frontend": "",
        "build_args": {},
        "materials": [],
        "entryPoint": "",
        "steps_recorded": 0,
    }


def test_spdx_packages_of_a_generated_sbom() -> None:
    packages = attest.spdx_packages(_json("imagetools-sbom.json"))
    busybox = packages[packages.name == "busybox"]
    assert busybox.version.iloc[0] == "1.37.0"
    assert busybox.purl.iloc[0].startswith("pkg:")
    assert list(packages.columns) == attest.PACKAGE_COLUMNS


@pytest.mark.parametrize("document", [None, {}, {"SPDX": []}, {"x": {"y": 1}}])
def test_not_an_sbom_is_one_plain_error(document: object) -> None:
    with pytest.raises(InvalidInput, match="not an SBOM"):
        attest.spdx_packages(document)


# -- bake -----------------------------------------------------------------------------------


def test_bake_plan_lists_every_app_variant() -> None:
    plan = bake.parse_plan("#1 [internal] load local bake definitions\n" + _text("bake-print.json"))
    assert len(plan) == 11
    row = plan.set_index("target").loc["go-app-scratch"]
    assert (row.context, row.dockerfile, row.tag) == ("go-app", "Dockerfile.scratch", "wb-learner/go-app:scratch")


def test_the_committed_bake_file_covers_every_dockerfile_in_apps() -> None:
    apps = Path(__file__).resolve().parent.parent / "apps"
    on_disk = {(p.parent.name, p.name) for p in apps.glob("*/Dockerfile*")}
    plan = bake.parse_plan(_text("bake-print.json"))
    assert set(zip(plan.context, plan.dockerfile, strict=True)) == on_disk


@pytest.mark.parametrize("text", ["", "not json", "{}", '{"target": []}', "[1]"])
def test_a_bake_print_without_targets_is_one_plain_error(text: str) -> None:
    with pytest.raises(InvalidInput):
        bake.parse_plan(text)


# -- flags and refusals ----------------------------------------------------------------------


@pytest.mark.parametrize("value", ["a,b", "x=y", "sp ace", 'q"', "", "n\nl"])
def test_exporter_values_that_would_split_the_flag_are_refused(value: str) -> None:
    with pytest.raises(InvalidInput):
        outputs._exporter({"type": "image", "name": value})


def test_exporter_options_are_joined() -> None:
    assert (
        outputs._exporter({"type": "image", "name": "127.0.0.1:5000/a/b:1", "push": "true"})
        == "type=image,name=127.0.0.1:5000/a/b:1,push=true"
    )


@pytest.mark.parametrize(
    ("line", "because"),
    [
        ("ERROR: failed to build: Cache export is not supported for the docker driver.", "cache exporter"),
        ("ERROR: failed to build: Attestation is not supported for the docker driver.", "attestation"),
        ("ERROR: failed to build: OCI exporter is not supported for the docker driver.", "exports only"),
    ],
)
def test_refusals_of_the_classic_store_are_named(line: str, because: str) -> None:
    ran = buildx_run.Ran(1, 0.1, ['#0 building with "default" instance using docker driver', line], {})
    error = buildx_run.failed(ran, "The build of x/Dockerfile failed", "x/Dockerfile")
    assert because in error.hint
    assert "the engine refused" in error.paragraph().splitlines()[0]


def test_metadata_files_are_read_with_limits(tmp_path: Path) -> None:
    path = tmp_path / "metadata.json"
    path.write_text('{"containerimage.digest": "sha256:' + "a" * 64 + '"}')
    assert buildx_run._read_metadata(path)["containerimage.digest"].startswith("sha256:")
    path.write_text("[1, 2]")
    assert buildx_run._read_metadata(path) == {}
    path.write_bytes(b" " * (buildx_run.MAX_METADATA + 2))
    assert buildx_run._read_metadata(path) == {}
