"""Images, their history and their layers as pandas DataFrames."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd
from docker.errors import ImageNotFound
from docker.models.images import Image

from helpers.engine import daemon
from helpers.errors import NoSuchImage
from helpers.labels import STANDIN_LABEL
from helpers.replay import replayable


@replayable
def get(ref: str) -> Image:
    try:
        return daemon.client().images.get(ref)
    except ImageNotFound:
        raise NoSuchImage(
            f"The image {ref} is not on this engine",
            hint="build it first (helpers.build), or for a base run `python -m helpers bases`",
        ) from None


@replayable
def size_mb(ref: str) -> float:
    return unpacked_bytes(get(ref)) / 1e6


def unpacked_bytes(image: Image) -> int:
    """The image's size unpacked on disk, the same quantity on both image stores.

    The classic store's `Size` is that size. The containerd store's `Size` counts the
    compressed layers it holds (what a pull downloads); its unpacked size per platform is in
    the manifest summaries (API 1.48+), read here for the engine's own platform."""
    manifest = _platform_manifest(image)
    unpacked = manifest_unpacked_bytes(manifest) if manifest else None
    return unpacked if isinstance(unpacked, int) else int(image.attrs["Size"])


def manifest_unpacked_bytes(manifest: dict[str, Any]) -> int | None:
    """The unpacked size in one of the containerd store's manifest summaries (None if absent)."""
    unpacked = ((manifest.get("ImageData") or {}).get("Size") or {}).get("Unpacked")
    return unpacked if isinstance(unpacked, int) else None


@replayable
def platform_digest(image: Image | str, platform: str | None = None) -> str:
    """The digest that names one platform's image content, stable for the same content on both stores.

    Classic store: the image id, which is the digest of the image's config. containerd store:
    the digest of the platform's manifest (which names the config and layers by digest); the
    image id there is the digest of an index that can also hold attestations, so it changes
    whenever an attestation does (e.g. the provenance a rebuild from cache records)."""
    if isinstance(image, str):
        image = get(image)
    manifest = _platform_manifest(image, platform)
    return str(manifest["ID"]) if manifest else str(image.id)


def _platform_manifest(image: Image, platform: str | None = None) -> dict[str, Any] | None:
    """The containerd store's summary of the image's manifest for `platform` (default: the
    engine's own); None on the classic store, which keeps no manifests."""
    if "Descriptor" not in image.attrs:
        return None
    api = image.client.api if image.client is not None else daemon.client().api
    response = api._get(api._url("/images/{0}/json", image.id), params={"manifests": "1"})
    listed = api._result(response, json=True).get("Manifests") or []
    manifests = [m for m in listed if m.get("Kind") == "image" and m.get("Available")]
    wanted = (platform or daemon.native_platform()).split("/")[1]
    for manifest in manifests:
        if ((manifest.get("ImageData") or {}).get("Platform") or {}).get("architecture") == wanted:
            return dict(manifest)
    return dict(manifests[0]) if manifests else None


@replayable
def table(refs: Iterable[str]) -> pd.DataFrame:
    """One row per image: reference, short id, size, layer count, stand-in or not."""
    rows = []
    for ref in refs:
        image = get(ref)
        rows.append(
            {
                "image": ref,
                "id": image.short_id.removeprefix("sha256:"),
                "size_mb": round(unpacked_bytes(image) / 1e6, 1),
                "layers": len(image.attrs["RootFS"].get("Layers", [])),
                # The label is inherited by images built on a stand-in: only the base itself is one.
                "stand-in": (image.labels or {}).get(STANDIN_LABEL) in {ref, *image.tags},
            }
        )
    return pd.DataFrame(rows)


@replayable
def history(ref: str) -> pd.DataFrame:
    """`docker history` as a table, oldest step first: instruction, size in MB and bytes."""
    rows = daemon.client().api.history(get(ref).id)
    records = []
    for row in reversed(rows):
        records.append(
            {
                "instruction": instruction_text(str(row.get("CreatedBy", "")), str(row.get("Comment", ""))),
                "size_mb": round(row.get("Size", 0) / 1e6, 3),
                "size_bytes": int(row.get("Size", 0)),
            }
        )
    frame = pd.DataFrame(records)
    frame.insert(0, "step", range(1, len(frame) + 1))
    return frame


def instruction_text(created_by: str, comment: str = "") -> str:
    """The Dockerfile instruction behind a history entry, as a learner would have written it."""
    text = " ".join(created_by.split())
    if not text:
        return "(root filesystem imported)" if comment.startswith("Imported") else "(unknown)"
    text = text.removesuffix(" # buildkit")
    if text.startswith("|"):  # classic builder with build args: "|1 NAME=value /bin/sh -c ..."
        text = text.split(" /bin/sh -c ", 1)[-1]
        return "RUN " + text
    if text.startswith("/bin/sh -c #(nop) "):
        return text.removeprefix("/bin/sh -c #(nop) ")
    if text.startswith("/bin/sh -c "):
        return "RUN " + text.removeprefix("/bin/sh -c ")
    if text.startswith("RUN /bin/sh -c "):
        return "RUN " + text.removeprefix("RUN /bin/sh -c ")
    return text


@replayable
def layers(ref: str) -> pd.DataFrame:
    """The filesystem layers (diff ids) with the instruction that made each and its size.

    Metadata steps (ENV, CMD, EXPOSE, ...) make no layer; RUN, COPY and ADD make one each,
    and WORKDIR makes one when BuildKit had to create the folder."""
    image = get(ref)
    diff_ids = list(image.attrs["RootFS"].get("Layers", []))
    makers = _layer_steps(history(ref), len(diff_ids))
    return pd.DataFrame(
        {
            "layer": range(1, len(diff_ids) + 1),
            "diff_id": [d.removeprefix("sha256:")[:12] for d in diff_ids],
            "instruction": list(makers.instruction),
            "size_mb": list(makers.size_mb),
        }
    )


_METADATA = (
    "ENV",
    "CMD",
    "ENTRYPOINT",
    "EXPOSE",
    "LABEL",
    "USER",
    "ARG",
    "HEALTHCHECK",
    "STOPSIGNAL",
    "VOLUME",
    "SHELL",
    "ONBUILD",
    "MAINTAINER",
)


def _layer_steps(steps: pd.DataFrame, count: int) -> pd.DataFrame:
    words = steps.instruction.str.split(" ").str[0].str.upper()
    strict = steps[~words.isin((*_METADATA, "WORKDIR"))]
    if len(strict) == count:
        return strict
    with_workdir = steps[~words.isin(_METADATA)]
    if len(with_workdir) == count:
        return with_workdir
    # Unusual histories (squashed, committed): the last `count` steps that wrote bytes.
    sized = steps[steps.size_bytes > 0].tail(count)
    return sized if len(sized) == count else steps.tail(count)


@replayable
def config(ref: str) -> dict[str, Any]:
    """What `docker inspect` says matters to a learner: command, env, user, ports, ..."""
    attrs = get(ref).attrs
    cfg = attrs.get("Config") or {}
    return {
        "Entrypoint": cfg.get("Entrypoint"),
        "Cmd": cfg.get("Cmd"),
        "WorkingDir": cfg.get("WorkingDir") or "",
        "User": cfg.get("User") or "",
        "Env": cfg.get("Env") or [],
        "ExposedPorts": sorted((cfg.get("ExposedPorts") or {}).keys()),
        "Labels": cfg.get("Labels") or {},
        "Healthcheck": cfg.get("Healthcheck"),
        "Volumes": sorted((cfg.get("Volumes") or {}).keys()),
        "Architecture": attrs.get("Architecture"),
        "Os": attrs.get("Os"),
    }


@replayable
def config_table(ref: str) -> pd.DataFrame:
    return pd.DataFrame([{"field": key, "value": value} for key, value in config(ref).items() if key != "Labels"])


def existing(*, filters: dict[str, Any] | None = None, all: bool = False) -> list[Image]:
    """`client.images.list()` without its race: the SDK lists, then inspects each image, and an
    image that another kernel or learner removes in between fails the whole call with a 404.
    Images that vanish meanwhile are left out instead."""
    client = daemon.client()
    found = []
    for summary in client.api.images(all=all, filters=filters):
        try:
            found.append(client.images.get(summary["Id"]))
        except ImageNotFound:
            continue
    return found
