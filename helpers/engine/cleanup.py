"""Remove what the workbook created, and nothing else.

Containers, networks and volumes: only those carrying the workbook's label for this learner.
Images: only tags the ledger (helpers.engine.ledger) says the workbook created, and names in
the learner's own namespace `wb-<learner>/` on images the workbook built (a lesson may add a
second name there); an image itself only when the workbook built it and no other tag remains.
A tag the learner added, and images derived from workbook images (they inherit its labels),
are kept. Stand-in bases are kept unless asked for.

Orphans: a notebook kernel that was killed (or restarted) mid-cell cannot remove its containers;
`sweep_orphans()` (run by wb.start()) removes the containers of this learner's gone processes
on this host (see helpers.sessions).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from docker.errors import APIError, NotFound

from helpers import sessions
from helpers.engine import daemon, ledger
from helpers.engine.images import existing
from helpers.engine.run import remove_container
from helpers.errors import InvalidInput
from helpers.labels import FORM, OBJECT_LABEL, STANDIN_LABEL, learner, made_by
from helpers.replay import replayable


@dataclass
class Removed:
    containers: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # "what (why)", for what could not be removed

    def __str__(self) -> str:
        text = (
            f"removed {len(self.containers)} containers, {len(self.networks)} networks, "
            f"{len(self.volumes)} volumes, {len(self.images)} images"
        )
        if self.failed:
            text += f"; could not remove {len(self.failed)}: " + "; ".join(self.failed)
        return text


@replayable
def cleanup(*, include_bases: bool = False, who: str | None = None) -> Removed:
    """Remove this learner's workbook containers, networks, volumes and images."""
    client = daemon.client()
    who = _checked_learner(who)
    mine = {"label": f"{OBJECT_LABEL}={who}"}
    removed = Removed()
    for summary in client.api.containers(all=True, filters=mine):
        if (summary.get("Labels") or {}).get(OBJECT_LABEL) == who:
            name = _container_name(summary)
            _attempt(removed, removed.containers, name, lambda i=summary["Id"]: remove_container(i))
    for network in client.networks.list(filters=mine):
        if (network.attrs.get("Labels") or {}).get(OBJECT_LABEL) == who:
            _attempt(removed, removed.networks, network.name, network.remove)
    for volume in client.volumes.list(filters=mine):
        if (volume.attrs.get("Labels") or {}).get(OBJECT_LABEL) == who:
            _attempt(removed, removed.volumes, volume.name, lambda v=volume: v.remove(force=True))
    _remove_images(who, removed)
    if include_bases:
        for image in existing(filters={"label": STANDIN_LABEL}):
            if image.labels.get(STANDIN_LABEL) in _base_names(image.tags):
                name = image.tags[0] if image.tags else image.short_id
                _attempt(removed, removed.images, name, lambda i=image: client.images.remove(i.id, force=True))
    return removed


def remove_notebook_images(notebook: str, who: str | None = None) -> Removed:
    """Remove the image tags this learner's runs of `notebook` made (the ledger says which), and
    each image left with no tag; nothing else."""
    removed = Removed()
    _remove_images(_checked_learner(who), removed, notebook)
    return removed


def _remove_images(who: str, removed: Removed, notebook: str | None = None) -> None:
    """Untag what the ledger recorded (and wb-<who>/ names on ledger images); remove an image the
    workbook built once no tag is left on it. With `notebook`, only what that notebook made."""
    client = daemon.client()
    made = [e for e in ledger.entries(who) if notebook is None or e.notebook == notebook]
    tags_of = {str(i["Id"]): list(i.get("RepoTags") or []) for i in client.api.images()}  # one call: no race
    recorded = {(e.image_id, e.tag) for e in made}
    done: list[ledger.Entry] = [e for e in made if e.image_id not in tags_of]  # gone already
    for image_id in dict.fromkeys(e.image_id for e in made if e.image_id in tags_of):
        tags = [t for t in tags_of[image_id] if t != "<none>:<none>"]
        namespace = f"wb-{who}/" if notebook is None else None  # a notebook's reset: its own tags only
        ours = [t for t in tags if (image_id, t) in recorded or (namespace and t.startswith(namespace))]
        untagged = [t for t in ours if _attempt(removed, None, t, lambda t=t: client.api.remove_image(t))]
        done += [ledger.Entry(image_id, t) for t in untagged if (image_id, t) in recorded]
        if set(tags) - set(untagged):
            continue  # a name the learner gave it (or one that could not be removed) keeps it
        if untagged or _attempt(removed, None, image_id[:19], lambda i=image_id: _remove_image_if_present(i)):
            removed.images.append(untagged[0] if untagged else image_id[:19])
            done += [e for e in made if e.image_id == image_id]
    ledger.forget(done, who)


def _remove_image_if_present(image_id: str) -> None:
    """Remove an untagged image by id (never forced: an image in use stays)."""
    client = daemon.client()
    try:
        client.api.remove_image(image_id)
    except NotFound:
        return


def sweep_orphans(say: Callable[[str], object] = print, who: str | None = None) -> list[str]:
    """Remove this learner's workbook containers whose process is gone (a killed or restarted
    kernel) on this host; say what was removed. Containers of live processes, of other hosts
    or of other learners are never touched. Returns the names removed."""
    client = daemon.client()
    who = _checked_learner(who)
    found = client.api.containers(all=True, filters={"label": f"{OBJECT_LABEL}={who}"})
    swept: list[str] = []
    for summary in found:
        labels = summary.get("Labels") or {}
        process = made_by(labels)
        if labels.get(OBJECT_LABEL) != who or process is None or not sessions.gone(process):
            continue
        name = _container_name(summary)
        try:
            remove_container(str(summary["Id"]))
        except APIError as exc:
            say(f"Could not remove {name}, left by a notebook kernel that is gone: {exc.explanation or exc}")
            continue
        swept.append(name)
    if swept:
        say(f"Removed {len(swept)} container(s) left by a notebook kernel that is gone: {', '.join(swept)}")
    return swept


def _checked_learner(who: str | None) -> str:
    who = who or learner()
    if not FORM.fullmatch(who):
        raise InvalidInput(f"{who[:80]!r} is not a workbook learner name", hint="pass who= what wb.learner() gives")
    return who


def _container_name(summary: dict[str, object]) -> str:
    names = summary.get("Names") or []
    return str(names[0]).lstrip("/") if isinstance(names, list) and names else str(summary["Id"])[:12]


def _base_names(tags: list[str]) -> set[str]:
    return {tag.removeprefix("docker.io/library/") for tag in tags} | {tag.removesuffix(":latest") for tag in tags}


def _attempt(removed: Removed, into: list[str] | None, name: str, action: Callable[[], object]) -> bool:
    """Run one removal: on success note `name` in `into`; gone already counts as done, not as
    removed; any other refusal (in use, a conflict) goes to `removed.failed`."""
    try:
        action()
    except NotFound:
        return into is None  # a tag or image gone meanwhile: nothing left to remove
    except APIError as exc:
        removed.failed.append(f"{name} ({str(exc.explanation or exc)[:200]})")
        return False
    if into is not None:
        into.append(name)
    return True
