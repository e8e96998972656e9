"""The labels and names that mark what the workbook creates, per learner."""

from __future__ import annotations

import getpass
import os
import re

PREFIX = "org.dockerworkbook"
# Set on images that helpers build; the value is the learner.
IMAGE_LABEL = f"{PREFIX}.image"
# The reference an image was built as, so derived images (which inherit labels) are not ours.
REF_LABEL = f"{PREFIX}.ref"
# Set on containers, volumes and networks that helpers create; the value is the learner.
OBJECT_LABEL = f"{PREFIX}.object"
# Set on stand-in base images: the reference they stand in for, and what they hold.
STANDIN_LABEL = f"{PREFIX}.standin"
STANDIN_VERSIONS_LABEL = f"{PREFIX}.standin.versions"

LEARNER_ENV = "WORKBOOK_LEARNER"
_replayed_learner: str | None = None


def replaying_as(name: str | None) -> None:
    """While replaying, the learner a recording was made by (its names carry that namespace);
    None ends it. Kept in this process only: the environment is left as it is."""
    global _replayed_learner
    _replayed_learner = name


def learner() -> str:
    """The learner's name: $WORKBOOK_LEARNER, else the OS user, made safe for image names."""
    raw = _replayed_learner or os.environ.get(LEARNER_ENV) or _os_user()
    name = re.sub(r"[^a-z0-9]+", "-", raw.lower()).strip("-")
    return name or "learner"


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "learner"


def image_name(name: str, tag: str = "latest") -> str:
    """The learner-namespaced reference for a workbook image, e.g. `wb-ana/hello-python:1.0`."""
    return f"wb-{learner()}/{name}:{tag}"


def object_name(name: str) -> str:
    """A learner-namespaced name for a container, volume or network."""
    return f"wb-{learner()}-{name}"


def image_labels(ref: str) -> dict[str, str]:
    return {IMAGE_LABEL: learner(), REF_LABEL: ref}


def object_labels() -> dict[str, str]:
    return {OBJECT_LABEL: learner()}
