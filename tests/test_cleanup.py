"""Cleanup removes what the workbook made for this learner, and nothing else."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from docker.errors import NotFound

import helpers as wb
from helpers.labels import OBJECT_LABEL

pytestmark = pytest.mark.engine


@pytest.fixture(autouse=True)
def own_learner(monkeypatch: pytest.MonkeyPatch) -> None:
    """A learner of its own, so this cleanup leaves the other tests' and notebooks' images alone."""
    monkeypatch.setenv("WORKBOOK_LEARNER", "cleanup-test")


@pytest.fixture
def foreign_objects() -> Iterator[dict[str, str]]:
    """Objects a learner made by hand, one derived from a workbook image (inherited labels)."""
    client = wb.client()
    base = wb.build("hello-python", tag=wb.image_name("test-cleanup", "base"), quiet=True)
    derived, _ = client.images.build(
        fileobj=io.BytesIO(f"FROM {base.ref}\nENV MINE=1\n".encode()), tag="learner-own/derived:1", rm=True
    )
    container = client.containers.run("busybox:1.37", ["sleep", "300"], detach=True, name="learner-own-box")
    volume = client.volumes.create("learner-own-volume")
    network = client.networks.create("learner-own-net")
    made = {"image": derived.id, "container": container.id, "volume": volume.name, "network": network.id}
    yield made
    container.remove(force=True)
    volume.remove(force=True)
    network.remove()
    client.images.remove(derived.id, force=True)


def test_cleanup_keeps_foreign_objects_and_removes_ours(foreign_objects: dict[str, str]) -> None:
    client = wb.client()
    mine_volume = client.volumes.create(wb.labels.object_name("test-vol"), labels={OBJECT_LABEL: wb.learner()})
    mine_box = client.containers.create("busybox:1.37", ["true"], labels={OBJECT_LABEL: wb.learner()})
    other_learner = client.containers.create("busybox:1.37", ["true"], labels={OBJECT_LABEL: "someone-else"})
    try:
        removed = wb.cleanup()
        assert mine_box.name in removed.containers and mine_volume.name in removed.volumes
        assert wb.image_name("test-cleanup", "base") in removed.images
        client.images.get(foreign_objects["image"])
        assert client.containers.get(foreign_objects["container"]).status == "running"
        client.volumes.get(foreign_objects["volume"])
        client.networks.get(foreign_objects["network"])
        client.containers.get(other_learner.id)
        for base in wb.bases.present_refs() - {"scratch"}:
            client.images.get(wb.catalog.normalize(base))
        with pytest.raises(NotFound):
            client.containers.get(mine_box.id)
    finally:
        other_learner.remove(force=True)


def test_cleanup_removes_every_name_in_the_workbook_namespace_and_keeps_the_learners() -> None:
    """A lesson may add a second name (`docker tag`) in the learner's namespace; a name the
    learner gave the same image elsewhere keeps it alive."""
    client = wb.client()
    first = wb.build("hello-python", tag=wb.image_name("test-cleanup", "one"), quiet=True)
    client.images.get(first.ref).tag(wb.image_name("test-cleanup", "one-v1"))
    kept = wb.build("hello-python", tag=wb.image_name("test-cleanup", "kept"), quiet=True)
    client.images.get(kept.ref).tag("learner-own/kept:1")
    try:
        wb.cleanup()
        names = {tag for image in client.api.images() for tag in image.get("RepoTags") or []}
        assert not {t for t in names if t.startswith(f"wb-{wb.learner()}/")}, names
        assert "learner-own/kept:1" in names
    finally:
        client.images.remove("learner-own/kept:1", force=True)
