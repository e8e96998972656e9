"""The local registry: a login is required, pushes and pulls are real, faults are plain."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import helpers as wb
from helpers.engine.registry import (
    HUB_ENV,
    HUB_SKIPPED,
    LocalRegistry,
    LoginRefused,
    RegistryError,
    docker_hub_push,
    remove_local,
)
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
    assert registry.status() == 401
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

    monkeypatch.setattr(type(LocalRegistry()), "status", interrupted)
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


def test_remove_local_removes_every_workbook_name_and_the_pull_brings_the_image_back(registry: LocalRegistry) -> None:
    app = wb.make_app("test-remove-local", {"Dockerfile": "FROM busybox:1.37\nRUN echo one > /one\n"})
    built = wb.build(app, tag=wb.image_name("test-remove-local", "1.0"), quiet=True)
    wb.images.get(built.ref).tag(wb.image_name("test-remove-local", "latest"))  # a second workbook name
    yours = "mine/remove-local:kept"
    registry.login()
    registry.push(built.ref, "wb/remove", "1.0")
    wb.images.get(built.ref).tag(yours)  # a name the learner gave it: never removed
    removed = remove_local(registry.ref("wb/remove", "1.0"))
    assert set(removed) == {built.ref, wb.image_name("test-remove-local", "latest"), registry.ref("wb/remove", "1.0")}
    assert wb.images.get(yours).id == built.image_id  # your name keeps the image
    wb.client().images.remove(yours)
    assert built.image_id not in {found["Id"] for found in wb.client().api.images()}
    report = registry.pull_report("wb/remove", "1.0")
    assert report["image_id"] == built.image_id
    assert len(report["layers"]) == len(registry.image_manifest("wb/remove", "1.0")["layers"])
    assert set(report["layers"].values()) <= {"downloaded", "already here"}


def test_remove_local_refuses_an_image_the_workbook_did_not_make(registry: LocalRegistry) -> None:
    client = wb.client()
    box = client.containers.create("busybox:1.37", labels={OBJECT_LABEL: wb.learner()})
    try:
        client.api.import_image(src=box.export(), repository="mine/unlabelled", tag="1", stream_src=True)
    finally:
        box.remove(force=True)
    try:
        with pytest.raises(RegistryError) as caught:
            remove_local("mine/unlabelled:1")
        assert "not an image the workbook made" in str(caught.value)
        assert wb.images.get("mine/unlabelled:1")
    finally:
        client.images.remove("mine/unlabelled:1")


def test_docker_hub_push_says_in_one_line_why_it_skips(monkeypatch: pytest.MonkeyPatch, image: str) -> None:
    for key in HUB_ENV:
        monkeypatch.delenv(key, raising=False)
    assert docker_hub_push(image, "hello-python")["skipped"] == HUB_SKIPPED[0]
    monkeypatch.setenv("DOCKERHUB_USER", "someone")
    monkeypatch.setenv("DOCKERHUB_TOKEN", "not-a-token")
    if wb.bases.registry_answers():
        pytest.skip("Docker Hub answers here: a push would need a real account")
    result = docker_hub_push(image, "hello-python")
    assert result["skipped"] == HUB_SKIPPED[1] and result["pushed"] == ""
