"""Remove what the workbook created, and nothing else.

Only objects carrying the workbook's labels for this learner are touched. Images must
also still carry the tag they were built as (derived images inherit labels, so a label
alone does not prove the workbook made them) or be untagged leftovers of a workbook build.
Stand-in bases are kept unless asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field

from docker.errors import APIError, NotFound
from docker.models.images import Image

from helpers.engine import daemon
from helpers.engine.images import existing
from helpers.labels import IMAGE_LABEL, OBJECT_LABEL, REF_LABEL, STANDIN_LABEL, learner
from helpers.replay import replayable

LOCAL_REGISTRY_PREFIXES = ("127.0.0.1:", "localhost:")


@dataclass
class Removed:
    containers: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"removed {len(self.containers)} containers, {len(self.networks)} networks, "
            f"{len(self.volumes)} volumes, {len(self.images)} images"
        )


@replayable
def cleanup(*, include_bases: bool = False, who: str | None = None) -> Removed:
    """Remove this learner's workbook containers, networks, volumes and images."""
    client = daemon.client()
    who = who or learner()
    mine = {"label": f"{OBJECT_LABEL}={who}"}
    removed = Removed()
    for container in client.containers.list(all=True, filters=mine):
        if (container.labels or {}).get(OBJECT_LABEL) == who:
            _quietly(lambda c=container: c.remove(force=True, v=True))
            removed.containers.append(container.name)
    for network in client.networks.list(filters=mine):
        _quietly(network.remove)
        removed.networks.append(network.name)
    for volume in client.volumes.list(filters=mine):
        _quietly(lambda v=volume: v.remove(force=True))
        removed.volumes.append(volume.name)
    for image in _workbook_images(who):
        ref = image.labels.get(REF_LABEL, "")
        # Untag only the workbook's names (its namespace wb-<learner>/ and its copies for local
        # registries): a tag the learner added elsewhere keeps the image alive.
        names = [tag for tag in image.tags if _workbook_tag(tag, who)]
        for name in names:
            _quietly(lambda t=name: client.images.remove(t))
        if not image.tags:
            _quietly(lambda i=image.id: client.images.remove(i))
        removed.images.append(ref if ref in image.tags else (names[0] if names else image.short_id))
    if include_bases:
        for image in existing(filters={"label": STANDIN_LABEL}):
            if image.labels.get(STANDIN_LABEL) in _base_names(image.tags):
                _quietly(lambda i=image: client.images.remove(i.id, force=True))
                removed.images.append(image.tags[0] if image.tags else image.short_id)
    return removed


def _workbook_images(who: str) -> list[Image]:
    images = existing(filters={"label": f"{IMAGE_LABEL}={who}"})
    ours = []
    for image in images:
        ref = (image.labels or {}).get(REF_LABEL, "")
        if not image.tags or ref in image.tags or any(tag.startswith(f"wb-{who}/") for tag in image.tags):
            ours.append(image)
    return ours


def _workbook_tag(tag: str, who: str) -> bool:
    return tag.startswith(f"wb-{who}/") or tag.startswith(LOCAL_REGISTRY_PREFIXES)


def _base_names(tags: list[str]) -> set[str]:
    return {tag.removeprefix("docker.io/library/") for tag in tags} | {tag.removesuffix(":latest") for tag in tags}


def _quietly(action: Callable[[], object]) -> None:
    with suppress(NotFound, APIError):  # gone already, or in use by something not ours
        action()
