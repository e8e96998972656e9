"""Where a build's result goes besides the local image store: a registry (with a chosen layer
compression, reproducible timestamps, attestations), a cache folder, and back.

    build          docker buildx build with --output / --cache-to / --cache-from / --provenance / --attest
    pull_seconds   how long pulling an image from a registry takes
    bake, plan     docker buildx bake (helpers.engine.bake)
    provenance, sbom_packages, provenance_facts, spdx_packages   attestations (helpers.engine.attest)
    cache_records, prune_cache, new_cache_layers                 build cache (helpers.engine.buildcache)

On the classic image store the engine's docker driver refuses cache export, attestations and
OCI archives: those builds raise BuildFailed whose first line names the refusal.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import docker.errors

from helpers.engine import buildx_run, daemon, images, ledger
from helpers.engine.attest import provenance, provenance_facts, sbom_packages, spdx_packages
from helpers.engine.bake import bake, plan
from helpers.engine.build import BuildResult, default_tag
from helpers.engine.buildcache import cache_records, new_cache_layers, prune_cache
from helpers.errors import InvalidInput
from helpers.labels import image_labels
from helpers.paths import app_dir
from helpers.replay import replayable

# An exporter option value: no comma, equals sign, quote or whitespace (they would split the flag).
_OPTION = re.compile(r"[A-Za-z0-9._:/@+-]{1,300}")
_PROVENANCE = ("min", "max", "false")
KEEP_LOG_LINES = 120  # of a build log kept in the result (and in recordings)


@replayable
def build(
    app: str | Path,
    dockerfile: str = "Dockerfile",
    *,
    tag: str | None = None,
    output: Mapping[str, str] | None = None,
    cache_to: str | Path | None = None,
    cache_from: str | Path | None = None,
    provenance: str | None = None,
    sbom_generator: str | None = None,
    build_args: Mapping[str, str] | None = None,
    no_cache: bool = False,
    registry: Any = None,
    quiet: bool = True,
    timeout: float = 1800,
) -> BuildResult:
    """Build `dockerfile` in `app` with BuildKit and send the result where `output` says.

    output: exporter options, e.g. {"type": "image", "name": REF, "push": "true",
    "compression": "zstd"}; None loads the image into the engine as `tag`. cache_to /
    cache_from: a local cache folder (`type=local`, mode=max). provenance: "min", "max" or
    "false"; sbom_generator: an image reference following BuildKit's SBOM generator protocol.
    registry: a wb.registry.LocalRegistry the build pushes to or pulls a generator from.
    The result's image_id is the digest BuildKit reports (pushed builds: what the registry stores).
    """
    context = app_dir(app)
    dockerfile_path = context / dockerfile
    if not dockerfile_path.is_file():
        raise InvalidInput(f"There is no {dockerfile} in {context.name}", where=str(dockerfile_path))
    ref = tag or default_tag(context, dockerfile)
    if provenance is not None and provenance not in _PROVENANCE:
        raise InvalidInput(f"provenance={provenance!r} is not one of {', '.join(_PROVENANCE)}")
    args = ["build", "-f", str(dockerfile_path)]
    args += [part for key, value in image_labels(ref).items() for part in ("--label", f"{key}={value}")]
    args += [part for key, value in (build_args or {}).items() for part in ("--build-arg", f"{key}={value}")]
    if output is None:
        args += ["--load", "-t", ref]
    else:
        args += ["--output", _exporter(output)]
    if cache_to is not None:
        args += ["--cache-to", f"type=local,dest={_folder(cache_to)},mode=max"]
    if cache_from is not None:
        args += ["--cache-from", f"type=local,src={_folder(cache_from)}"]
    if provenance is not None:
        args.append("--provenance=false" if provenance == "false" else f"--provenance=mode={provenance}")
    if sbom_generator is not None:
        args.append(f"--attest=type=sbom,generator={_value(sbom_generator)}")
    if no_cache:
        args.append("--no-cache")
    args.append(str(context))
    daemon.client()  # fail early and plainly when no engine answers
    env = registry.cli_env() if registry is not None else None
    try:
        ran = buildx_run.run(
            args, title=f"building {ref} from {context.name}/{dockerfile}", env=env, quiet=quiet, timeout=timeout
        )
    finally:
        if env is not None:
            shutil.rmtree(env["DOCKER_CONFIG"], ignore_errors=True)
    if ran.exit_code != 0:
        raise buildx_run.failed(
            ran, f"The build of {context.name}/{dockerfile} failed", f"{context.name}/{dockerfile}", dockerfile_path
        )
    image_id, size, platform_id = str(ran.metadata.get("containerimage.digest", "")), 0, ""
    if output is None:
        image = images.get(ref)
        ledger.record(str(image.id), ref)  # cleanup removes it later
        image_id, size, platform_id = str(image.id), images.unpacked_bytes(image), images.platform_digest(image)
    elif output.get("type") == "image" and output.get("name"):
        _record_local(output["name"])  # a copy the engine's store kept under the pushed name (classic store: always)
    lines = ran.lines
    return BuildResult(
        ref, image_id, size, ran.seconds, ran.steps, "\n".join(lines[-KEEP_LOG_LINES:]), "buildkit", platform_id
    )


def _record_local(names: str) -> None:
    client = daemon.client()
    for name in names.split(","):
        try:
            ledger.record(str(client.images.get(name).id), name)
        except docker.errors.ImageNotFound:
            continue  # this store did not keep one


def _exporter(options: Mapping[str, str]) -> str:
    if "type" not in options:
        raise InvalidInput("An output needs a type", hint='e.g. {"type": "image", "name": REF, "push": "true"}')
    return ",".join(f"{_value(key)}={_value(value)}" for key, value in options.items())


def _value(text: str) -> str:
    if not _OPTION.fullmatch(str(text)):
        raise InvalidInput(
            f"{str(text)[:80]!r} cannot be an exporter option or image reference",
            hint="use letters, digits and . _ : / @ + - only (no comma, space or quote)",
        )
    return str(text)


def _folder(path: str | Path) -> str:
    folder = Path(path).resolve()
    _value(str(folder))
    return str(folder)


@replayable
def pull_seconds(registry: Any, name: str, tag: str) -> dict[str, Any]:
    """Pull NAME:TAG from `registry` and time it. A local copy under that name (the classic store
    keeps one of what it pushes) is removed first, so the pull fetches the image again."""
    reference = registry.ref(name, tag)
    with contextlib.suppress(docker.errors.ImageNotFound):  # none: the containerd store with store=false
        daemon.client().images.remove(reference)
    started = time.monotonic()
    image_id = registry.pull(name, tag)
    return {"image": f"{name}:{tag}", "seconds": round(time.monotonic() - started, 2), "image_id": image_id}


__all__ = [
    "bake",
    "build",
    "cache_records",
    "new_cache_layers",
    "plan",
    "provenance",
    "provenance_facts",
    "prune_cache",
    "pull_seconds",
    "sbom_packages",
    "spdx_packages",
]
