"""Platforms: the other one of amd64/arm64, several platforms in one build, `docker images --tree`."""

from __future__ import annotations

import pytest

import helpers as wb
from helpers.engine import platforms


def test_the_other_platform_is_the_other_of_amd64_and_arm64() -> None:
    assert platforms.other("linux/amd64") == "linux/arm64"
    assert platforms.other("linux/arm64") == "linux/amd64"
    assert platforms.other("linux/arm64/v8") == "linux/amd64"


@pytest.mark.engine
def test_the_other_platform_is_not_the_hosts() -> None:
    assert platforms.other() != wb.engine.native_platform()
    assert platforms.other() in platforms.PAIR


@pytest.fixture(scope="module")
def tiny() -> str:
    app = wb.make_app(
        "test-platforms", {"Dockerfile": "FROM scratch\nCOPY hello.txt /hello.txt\n", "hello.txt": "hi\n"}
    )
    return str(app)


@pytest.mark.engine
def test_both_platforms_in_one_build_per_store(tiny: str) -> None:
    both = [wb.engine.native_platform(), platforms.other()]
    result = platforms.build_all(tiny, "Dockerfile", wb.image_name("test-platforms", "both"), both)
    if wb.image_store() == wb.CONTAINERD:
        assert result["refused"] == ""
        kept = platforms.local_manifests(result["ref"])
        assert sorted(m["platform"] for m in kept if m["kind"] == "image") == sorted(both)
        assert [m for m in kept if m["kind"] == "attestation"]  # provenance, on by default
        assert sorted(platforms.tree(result["ref"])["platforms"]) == sorted(both)
    else:
        assert "does not currently support exporting manifest lists" in result["refused"]
        assert result["image_id"] == ""


@pytest.mark.engine
def test_no_attestation_when_asked(tiny: str) -> None:
    ref = wb.image_name("test-platforms", "plain")
    result = platforms.build_all(tiny, "Dockerfile", ref, [wb.engine.native_platform()], attestations=False)
    assert result["refused"] == ""
    assert [m["kind"] for m in platforms.local_manifests(ref)] == ["image"]


@pytest.mark.engine
def test_the_tree_of_a_single_platform_image(tiny: str) -> None:
    ref = wb.build(tiny, tag=wb.image_name("test-platforms", "one"), quiet=True).ref
    shown = platforms.tree(ref)
    assert ref in shown["text"] and "\x1b[" not in shown["text"] and "WARNING" not in shown["text"]
    expected = [wb.engine.native_platform()] if wb.image_store() == wb.CONTAINERD else []
    assert shown["platforms"] == expected
