"""Real builds through helpers.build: results, cache flags, and clear failures."""

from __future__ import annotations

from pathlib import Path

import pytest

import helpers as wb

pytestmark = pytest.mark.engine
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize("builder", ["buildkit", "classic"])
def test_build_runs_and_second_build_is_cached(builder: str) -> None:
    tag = wb.image_name("test-hello", builder)
    first = wb.build("hello-python", tag=tag, builder=builder, no_cache=True, quiet=True)
    assert first.ref == tag and first.size_mb > 10
    assert not all(step.cached for step in first.steps)
    second = wb.build("hello-python", tag=tag, builder=builder, quiet=True)
    assert second.platform_id == first.platform_id, "the same image content on both stores"
    # BuildKit on the containerd store adds a provenance attestation that records each build, so
    # the image id (the digest of the index holding both) changes; elsewhere the id stays.
    attested = builder == "buildkit" and wb.image_store() == wb.CONTAINERD
    assert (second.image_id == first.image_id) != attested
    assert all(step.cached for step in second.steps), second.steps_table()
    out = wb.run_once(tag)
    assert out.exit_code == 0 and "Hello from Docker!" in out.output
    labels = wb.images.get(tag).labels
    assert labels["org.dockerworkbook.ref"] == tag


def test_shared_mb_counts_the_base_an_app_is_built_on() -> None:
    tag = wb.image_name("test-hello", "shared")
    wb.build("hello-python", tag=tag, quiet=True)
    base = wb.catalog.PYTHON_SLIM
    shared = wb.images.shared_mb([tag, base])
    assert shared[tag] >= 0.999 * wb.images.size_mb(base), "the app shares every byte of its base"
    assert shared[base] >= 0.999 * wb.images.size_mb(base)
    with pytest.raises(wb.errors.NoSuchImage):
        wb.images.shared_mb([wb.image_name("test-hello", "never-built")])


@pytest.mark.parametrize("builder", ["buildkit", "classic"])
def test_failing_run_names_step_line_and_exit_code(builder: str) -> None:
    with pytest.raises(wb.errors.BuildFailed) as caught:
        wb.build(
            FIXTURES / "broken",
            "Dockerfile.run-fails",
            builder=builder,
            quiet=True,
            tag=wb.image_name("test-broken", builder),
        )
    error = caught.value
    assert error.exit_code == 3
    assert error.line == 2
    assert "exit 3" in error.step
    assert "about to fail" in error.log_tail
    assert "line 2" in str(error) and "What to try" in str(error)


def test_copy_of_missing_file_says_so() -> None:
    with pytest.raises(wb.errors.BuildFailed) as caught:
        wb.build(FIXTURES / "broken", "Dockerfile.copy-missing", quiet=True, tag=wb.image_name("test-broken", "copy"))
    assert "no-such-file.txt" in str(caught.value)
    assert ".dockerignore" in caught.value.hint


def test_syntax_error_shows_the_line() -> None:
    with pytest.raises(wb.errors.BuildFailed) as caught:
        wb.build(FIXTURES / "broken", "Dockerfile.syntax", quiet=True, tag=wb.image_name("test-broken", "syntax"))
    assert caught.value.line == 2
    assert "syntax" in caught.value.hint


def test_missing_base_offline_points_to_bases() -> None:
    if "alpine:3.23" in wb.bases.present_refs():
        pytest.skip("alpine is present on this engine")
    with pytest.raises(wb.errors.BuildFailed) as caught:
        wb.build(FIXTURES / "broken", "Dockerfile.base-missing", quiet=True, tag=wb.image_name("test-broken", "base"))
    assert "helpers bases" in caught.value.hint


def test_missing_dockerfile_lists_the_ones_there() -> None:
    with pytest.raises(wb.errors.InvalidInput) as caught:
        wb.build("hello-python", "Dockerfile.nope")
    assert "Dockerfile" in caught.value.hint


def test_unknown_app_lists_known_apps() -> None:
    with pytest.raises(wb.errors.InvalidInput) as caught:
        wb.build("no-such-app")
    assert "hello-python" in caught.value.hint


@pytest.mark.parametrize("dockerfile", ["Dockerfile.pip", "Dockerfile.npm"])
def test_builds_reach_package_registries(dockerfile: str) -> None:
    result = wb.build(
        FIXTURES / "registry-clients",
        dockerfile,
        no_cache=True,
        quiet=True,
        tag=wb.image_name("test-registry-client", dockerfile.split(".")[-1]),
    )
    assert result.size_mb > 0
