"""The local registry: a login is required, pushes and pulls are real, faults are plain."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import helpers as wb
from helpers.engine.registry import LocalRegistry, LoginRefused, RegistryError
from helpers.labels import OBJECT_LABEL

pytestmark = pytest.mark.engine


@pytest.fixture(scope="module")
def image() -> str:
    return wb.build("hello-python", tag=wb.image_name("test-registry", "src"), quiet=True).ref


@pytest.fixture
def registry() -> Iterator[LocalRegistry]:
    with LocalRegistry() as running:
        yield running


def test_registry_requires_a_login(registry: LocalRegistry, image: str) -> None:
    assert registry._status() == 401
    with pytest.raises(RegistryError) as caught:
        registry.push(image, "wb/app", "1.0")
    assert "not logged in" in str(caught.value) and "docker login" in caught.value.hint


def test_wrong_password_is_refused(registry: LocalRegistry) -> None:
    with pytest.raises(LoginRefused) as caught:
        registry.login(password="not-the-password")
    assert "refused the login" in str(caught.value)


def test_push_then_pull_by_digest_gives_the_same_image(registry: LocalRegistry, image: str) -> None:
    registry.login()
    digest = registry.push(image, "wb/app", "1.0")
    assert digest.startswith("sha256:")
    assert registry.tags("wb/app") == ["1.0"]
    wb.client().images.remove(registry.ref("wb/app", "1.0"))
    assert registry.pull("wb/app", digest) == wb.images.get(image).id


def test_manifest_reads_what_the_tag_names_on_either_store(registry: LocalRegistry, image: str) -> None:
    registry.login()
    digest = registry.push(image, "wb/app", "1.0")
    local = wb.images.get(image)
    named = registry.manifest("wb/app", "1.0")
    pulled = registry.image_manifest("wb/app", "1.0")
    assert registry.manifest("wb/app", digest) == named
    assert len(pulled["layers"]) == len(local.attrs["RootFS"]["Layers"])
    if wb.image_store() == wb.CONTAINERD:  # the image as it is kept: an index with an attestation
        assert digest == local.id and named["mediaType"] == "application/vnd.oci.image.index.v1+json"
        kinds = [(m.get("annotations") or {}).get("vnd.docker.reference.type", "image") for m in named["manifests"]]
        assert sorted(kinds) == ["attestation-manifest", "image"]
        with pytest.raises(RegistryError) as caught:
            registry.image_manifest("wb/app", "1.0", platform="linux/s390x")
        assert "has no image for linux/s390x" in str(caught.value)
    else:  # a manifest written by the push, naming the config the image id hashes
        assert named == pulled and pulled["config"]["digest"] == local.id != digest


def test_registry_down_during_push_says_so(registry: LocalRegistry, image: str) -> None:
    registry.login()
    registry.container.stop(timeout=1)  # type: ignore[union-attr]
    with pytest.raises(RegistryError) as caught:
        registry.push(image, "wb/app", "down")
    assert "does not answer" in str(caught.value) or "failed" in str(caught.value)


def registry_containers() -> list[str]:
    mine = {"label": f"{OBJECT_LABEL}={wb.learner()}"}
    return [c.name for c in wb.client().containers.list(all=True, filters=mine) if "registry" in c.name]


def test_a_registry_that_does_not_start_in_time_leaves_nothing() -> None:
    with pytest.raises(RegistryError) as caught:
        LocalRegistry().start(timeout=0)
    assert "did not start" in str(caught.value)
    assert registry_containers() == []


def test_ctrl_c_while_the_registry_starts_leaves_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*_args: object, **_kwargs: object) -> int:
        raise KeyboardInterrupt  # Ctrl-C while waiting for the registry to answer

    monkeypatch.setattr(type(LocalRegistry()), "_status", interrupted)
    with pytest.raises(KeyboardInterrupt):
        LocalRegistry().start()
    assert registry_containers() == []


def test_stop_removes_the_tags_it_made_and_keeps_the_learners(registry: LocalRegistry, image: str) -> None:
    registry.login()
    registry.push(image, "wb/app", "pushed")
    learners = registry.ref("mine/app", "1")
    wb.client().images.get(image).tag(learners)  # `docker tag` by the learner
    try:
        registry.stop()
        names = {tag for found in wb.client().api.images() for tag in found.get("RepoTags") or []}
        assert learners in names
        assert not {n for n in names if n.startswith(f"{registry.host}/wb/app:")}, names
    finally:
        wb.client().images.remove(learners)


def test_pulls_by_tag_and_by_digest_leave_no_name_after_stop(image: str) -> None:
    """On the containerd store a pull by digest gives the image a name too (`HOST/NAME@sha256:...`)."""
    with LocalRegistry() as registry:
        registry.login()
        digest = registry.push(image, "wb/app", "1.0")
        wb.client().images.remove(registry.ref("wb/app", "1.0"))
        registry.pull("wb/app", "1.0")
        registry.pull("wb/app", digest)
        host = registry.host
    names = {tag for found in wb.client().api.images() for tag in found.get("RepoTags") or []}
    assert not {n for n in names if n.startswith(f"{host}/")}, names
