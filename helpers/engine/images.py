"""Images, their history and their layers as pandas DataFrames."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd
from docker.errors import APIError, ImageNotFound
from docker.models.images import Image

from helpers.engine import daemon, ledger, proc
from helpers.errors import NoSuchImage, WorkbookError
from helpers.labels import STANDIN_LABEL, image_labels, object_labels
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


@replayable
def shared_mb(refs: Iterable[str]) -> dict[str, float]:
    """For each image, the MB it shares with other images (SHARED SIZE in `docker system df -v`).

    The engine counts every image at once; when one vanishes while it counts (another learner's
    build or cleanup at that moment), it answers 404, so the count is asked again, 3 times at most."""
    ids = {ref: get(ref).id for ref in refs}
    for attempt in range(3):
        try:
            usage = {str(image["Id"]): image for image in daemon.client().df()["Images"]}
            break
        except APIError as exc:
            if exc.status_code != 404 or attempt == 2:
                raise WorkbookError(
                    "The engine could not count its disk usage",
                    where="docker system df",
                    detail=str(exc.explanation or exc),
                    hint="images were being removed at that moment: run the cell again",
                ) from exc
    missing = [ref for ref, image_id in ids.items() if image_id not in usage]
    if missing:
        vanished = ", ".join(missing)
        raise NoSuchImage(f"{vanished} vanished while the engine counted its disk usage", hint="build it again")
    return {ref: int(usage[image_id].get("SharedSize") or 0) / 1e6 for ref, image_id in ids.items()}


def unpacked_bytes(image: Image) -> int:
    """The image's size unpacked on disk, the same quantity on both image stores.

    The classic store's `Size` is that size. The containerd store's `Size` counts the
    compressed layers it holds (what a pull downloads); its unpacked size per platform is in
    the manifest summaries (API 1.48+), read here for the engine's own platform."""
    return _unpacked_or_size(image, _platform_manifest(image))


def _unpacked_or_size(image: Image, manifest: dict[str, Any] | None) -> int:
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
    return _pick(_manifest_summaries(image), platform)


def size_and_digest(image: Image, platform: str | None = None) -> tuple[int, str]:
    """unpacked_bytes(image) and platform_digest(image, platform), from one read of the
    manifest summaries (the engine answers that read slowly: about 0.1 s)."""
    summaries = _manifest_summaries(image)
    native = _pick(summaries, None)
    chosen = native if platform is None else _pick(summaries, platform)
    return _unpacked_or_size(image, native), str(chosen["ID"]) if chosen else str(image.id)


def _manifest_summaries(image: Image) -> list[dict[str, Any]] | None:
    """The containerd store's available image manifests of `image`; None on the classic store."""
    if "Descriptor" not in image.attrs:
        return None
    api = image.client.api if image.client is not None else daemon.client().api
    try:
        response = api._get(api._url("/images/{0}/json", image.id), params={"manifests": "1"})
        listed = api._result(response, json=True).get("Manifests") or []
    except APIError:  # removed meanwhile, or an engine that keeps no manifest summaries
        return None
    return [m for m in listed if m.get("Kind") == "image" and m.get("Available")]


def _pick(manifests: list[dict[str, Any]] | None, platform: str | None) -> dict[str, Any] | None:
    if manifests is None:
        return None
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
def history(ref: str, *, everything: bool = False) -> pd.DataFrame:
    """`docker history` as a table, oldest step first: step number, instruction, size in MB and bytes.

    The steps the image inherited from a workbook base image (the `FROM` line) come first, as ONE
    row `FROM <base> (base, N steps)` with their summed size: they say nothing about
    your Dockerfile, and the stand-in bases made here hold a few steps of their own (certificates,
    labels) that the real images do not. `everything=True` lists every step, as `docker history` does."""
    image = get(ref)
    frame = history_frame(list(reversed(daemon.client().api.history(image.id))))
    inherited = None if everything else _inherited(image)
    if inherited is None:
        return frame
    base_ref, base_steps, _ = inherited
    return collapse_base(frame, base_ref, len(base_steps), unit="steps", number="step")


def history_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The table for history rows as the engine gives them (oldest first)."""
    records = [
        {
            "instruction": instruction_text(str(row.get("CreatedBy", "")), str(row.get("Comment", ""))),
            "size_mb": round((row.get("Size") or 0) / 1e6, 3),
            "size_bytes": int(row.get("Size") or 0),
        }
        for row in rows
    ]
    frame = pd.DataFrame(records, columns=["instruction", "size_mb", "size_bytes"])
    frame.insert(0, "step", range(1, len(frame) + 1))
    return frame


def collapse_base(frame: pd.DataFrame, base_ref: str, count: int, *, unit: str, number: str) -> pd.DataFrame:
    """The first `count` rows (what the base image holds) as one row `FROM base_ref`, numbered 1,
    with their summed size; the other rows keep their numbers. Unchanged if count does not fit."""
    if not 0 < count <= len(frame):
        return frame
    head = frame.iloc[:count]
    row: dict[str, Any] = {column: "" for column in frame.columns}
    row[number] = 1
    row["instruction"] = f"FROM {base_ref} (base, {count} {unit})" if count > 1 else f"FROM {base_ref}"
    if "size_bytes" in frame:
        row["size_bytes"] = int(head.size_bytes.sum())
    row["size_mb"] = round(float(head.size_mb.sum()), 3)
    if "diff_id" in frame:
        row["diff_id"] = f"({count} layers)" if count > 1 else str(head.diff_id.iloc[0])
    return pd.concat([pd.DataFrame([row], columns=frame.columns), frame.iloc[count:]], ignore_index=True)


def _inherited(image: Image) -> tuple[str, list[dict[str, Any]], list[str]] | None:
    """(base reference, its history rows, its layer diff ids) when `image` is built on a workbook
    base (its inherited stand-in label names it) whose history and layers start this image's."""
    base_ref = str((image.labels or {}).get(STANDIN_LABEL) or "")
    if not base_ref:
        return None
    client = daemon.client()
    try:
        base = client.images.get(base_ref)
        base_steps = list(reversed(client.api.history(base.id)))
        own_steps = list(reversed(client.api.history(image.id)))
    except APIError:
        return None
    base_layers = list(base.attrs["RootFS"].get("Layers") or [])
    own_layers = list(image.attrs["RootFS"].get("Layers") or [])
    if not same_start(own_steps, base_steps) or own_layers[: len(base_layers)] != base_layers:
        return None
    return base_ref, base_steps, base_layers


def same_start(rows: list[dict[str, Any]], base_rows: list[dict[str, Any]]) -> bool:
    """True when the history `rows` begin with exactly the `base_rows` (same commands, same sizes)."""
    if not base_rows or len(base_rows) > len(rows):
        return False
    return all(
        (row.get("CreatedBy"), row.get("Size")) == (base.get("CreatedBy"), base.get("Size"))
        for row, base in zip(rows, base_rows, strict=False)
    )


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
def layers(ref: str, *, everything: bool = False) -> pd.DataFrame:
    """The filesystem layers (diff ids) with the instruction that made each and its size.

    Metadata steps (ENV, CMD, EXPOSE, ...) make no layer; RUN, COPY and ADD make one each,
    and WORKDIR makes one when BuildKit had to create the folder. The base image's layers come
    first as ONE row `FROM <base> (base, N layers)`, as in history();
    `everything=True` lists every layer."""
    image = get(ref)
    diff_ids = list(image.attrs["RootFS"].get("Layers", []))
    makers = _layer_steps(history(ref, everything=True), len(diff_ids))
    frame = pd.DataFrame(
        {
            "layer": range(1, len(diff_ids) + 1),
            "diff_id": [d.removeprefix("sha256:")[:12] for d in diff_ids],
            "instruction": list(makers.instruction),
            "size_mb": list(makers.size_mb),
        }
    )
    inherited = None if everything else _inherited(image)
    if inherited is None:
        return frame
    base_ref, _, base_layers = inherited
    return collapse_base(frame, base_ref, len(base_layers), unit="layers", number="layer")


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


# Set by the workbook's stand-in bases so that pip and npm trust this network's certificates; the real
# images have no such variables. config() leaves them out unless everything=True.
PLUMBING_ENV = ("PIP_CERT", "NODE_EXTRA_CA_CERTS")


@replayable
def config(ref: str, *, everything: bool = False) -> dict[str, Any]:
    """What `docker inspect` says matters to a learner: command, env, user, ports, ...

    `Env` leaves out the variables a stand-in base sets only for this network's certificates
    (PLUMBING_ENV), when the image is built on a stand-in; `everything=True` keeps them."""
    image = get(ref)
    attrs = image.attrs
    cfg = attrs.get("Config") or {}
    env = list(cfg.get("Env") or [])
    if not everything and (image.labels or {}).get(STANDIN_LABEL):
        env = [item for item in env if item.split("=", 1)[0] not in PLUMBING_ENV]
    return {
        "Entrypoint": cfg.get("Entrypoint"),
        "Cmd": cfg.get("Cmd"),
        "WorkingDir": cfg.get("WorkingDir") or "",
        "User": cfg.get("User") or "",
        "Env": env,
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


@replayable
def inspect_table(ref: str) -> pd.DataFrame:
    """`docker image inspect` as a learner reads it: id, tags, creation time, stored size and
    layer count first, then the configuration fields (`config_table`)."""
    attrs = get(ref).attrs
    head = [
        {"field": "Id", "value": str(attrs["Id"])[:19] + "..."},
        {"field": "RepoTags", "value": attrs.get("RepoTags") or []},
        {"field": "Created", "value": attrs.get("Created", "")},
        {"field": "Size (bytes, as stored)", "value": attrs.get("Size", 0)},
        {"field": "RootFS.Layers", "value": f"{len(attrs['RootFS'].get('Layers', []))} layers"},
    ]
    return pd.concat([pd.DataFrame(head), config_table(ref)], ignore_index=True)


@replayable
def squash(app: str | Path, *, tag: str, dockerfile: str = "Dockerfile") -> dict[str, Any]:
    """Try `docker build --squash` the two ways it can be asked for, and say what happened.

    "classic": the classic builder (`DOCKER_BUILDKIT=0 docker build --squash`) through the
    engine's API: it builds one squashed layer on an engine in experimental mode, and any other
    engine refuses with HTTP 400 ("refused" holds the engine's message). "buildkit": the
    warning `docker buildx build --squash` prints; BuildKit ignores the flag and stores nothing
    here (`--output type=cacheonly`)."""
    from helpers.paths import app_dir

    context = app_dir(app)
    client = daemon.client()
    experimental = bool(client.info().get("ExperimentalBuild"))
    built, refused = "", ""
    try:
        for chunk in client.api.build(
            path=str(context),
            dockerfile=dockerfile,
            tag=tag,
            squash=True,
            rm=True,
            forcerm=True,
            labels=image_labels(tag),
            decode=True,
        ):
            built = str((chunk.get("aux") or {}).get("ID", built))
            refused = str(chunk.get("error", refused))
    except APIError as exc:
        refused = str(exc.explanation or exc)
    if built and not refused:
        ledger.record(built, tag)
    done = proc.run(
        [
            "docker",
            "buildx",
            "build",
            "--squash",
            "--output",
            "type=cacheonly",
            "-f",
            str(context / dockerfile),
            str(context),
        ],
        timeout=600,
        check=False,
    )
    warning = next((line for line in done.output.splitlines() if "squash" in line.lower()), "")
    return {
        "experimental": experimental,
        "built": built if not refused else "",
        "refused": refused,
        "buildkit": warning,
    }


@replayable
def export_import(ref: str, tag: str, changes: Iterable[str] = ()) -> str:
    """`docker create` + `docker export | docker import --change ...`: the container's whole
    filesystem as an image of ONE layer, named wb-LEARNER/<repository of ref>:tag. The image
    configuration does not travel: only what `changes` (Dockerfile lines: CMD, ENV, ...) restate,
    plus the workbook's labels. Returns the new reference."""
    client = daemon.client()
    repository = ref.rsplit(":", 1)[0] if ":" in ref.rsplit("/", 1)[-1] else ref
    new_ref = f"{repository}:{tag}"
    labels = [f'LABEL {key}="{value}"' for key, value in image_labels(new_ref).items()]
    box = client.containers.create(ref, labels=object_labels())
    try:
        client.api.import_image(
            src=box.export(), repository=repository, tag=tag, changes=[*labels, *changes], stream_src=True
        )
    finally:
        box.remove(force=True)
    ledger.record(str(client.images.get(new_ref).id), new_ref)
    return new_ref
