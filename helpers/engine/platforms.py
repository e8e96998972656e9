"""Platforms: which ones this engine runs (its own, plus those QEMU emulates), the other one of
amd64/arm64, building several in one call, and what the engine keeps per platform."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

from helpers.engine import daemon, ledger, proc
from helpers.labels import image_labels
from helpers.replay import replayable

BINFMT = Path("/proc/sys/fs/binfmt_misc")
QEMU_TO_PLATFORM = {
    "qemu-aarch64": "linux/arm64",
    "qemu-arm": "linux/arm/v7",
    "qemu-riscv64": "linux/riscv64",
    "qemu-ppc64le": "linux/ppc64le",
    "qemu-s390x": "linux/s390x",
    "qemu-x86_64": "linux/amd64",
    "qemu-i386": "linux/386",
}


@replayable
def emulated() -> list[str]:
    """Platforms whose binaries the kernel hands to QEMU (local engines only)."""
    if daemon.info().remote or not BINFMT.is_dir():
        return []
    found = []
    for entry, platform in QEMU_TO_PLATFORM.items():
        path = BINFMT / entry
        if path.exists() and path.read_text().startswith("enabled"):
            found.append(platform)
    return found


@replayable
def runnable() -> list[str]:
    native = daemon.native_platform()
    return [native] + [p for p in emulated() if p != native]


PAIR = ("linux/amd64", "linux/arm64")


def other(platform: str | None = None) -> str:
    """The other one of linux/amd64 and linux/arm64 than `platform` (default: the host's platform)."""
    native = platform or daemon.native_platform()
    return PAIR[1] if native.split("/")[:2] == PAIR[0].split("/") else PAIR[0]


@replayable
def build_all(
    app: str | Path,
    dockerfile: str,
    tag: str,
    platforms: list[str],
    *,
    attestations: bool = True,
    timeout: float = 1200,
) -> dict[str, Any]:
    """`docker buildx build --platform A,B --load` (add `--provenance=false --sbom=false` when
    `attestations` is False): one build, one local image holding every platform.

    Returns {"ref", "image_id", "refused"}: "refused" is "" when the engine stored the image,
    else the line in which it refused (the classic store's `docker` exporter cannot store an
    image index, so it refuses several platforms in one `--load`)."""
    from helpers.paths import app_dir

    context = app_dir(app)
    with tempfile.TemporaryDirectory(prefix="workbook-build-") as tmp:
        iidfile = Path(tmp) / "iid"
        command = ["docker", "buildx", "build", "--progress=plain", "--load", "--iidfile", str(iidfile)]
        command += ["--platform", ",".join(platforms), "-f", str(context / dockerfile), "-t", tag]
        command += [part for key, value in image_labels(tag).items() for part in ("--label", f"{key}={value}")]
        if not attestations:
            command += ["--provenance=false", "--sbom=false"]
        done = proc.run([*command, str(context)], timeout=timeout, check=False)
        if done.exit_code != 0 or not iidfile.is_file():
            errors = [line for line in done.output.splitlines() if line.startswith("ERROR")]
            return {"ref": tag, "image_id": "", "refused": (errors or [proc.tail(done.output, 1)])[-1]}
        image_id = iidfile.read_text().strip()
    ledger.record(image_id, tag)
    return {"ref": tag, "image_id": image_id, "refused": ""}


@replayable
def local_manifests(ref: str) -> list[dict[str, Any]]:
    """What the engine keeps of the image `ref` per platform, one row per manifest:
    platform, kind ("image" or "attestation"), whether its content is here, and its digest.

    The containerd store lists the manifests of the image's index (API 1.47+). The classic
    store keeps no manifests: one row, the image's own platform, with the image id."""
    client = daemon.client()
    attrs = client.api.inspect_image(ref)
    if "Descriptor" not in attrs:
        return [
            {
                "platform": f"{attrs['Os']}/{attrs['Architecture']}",
                "kind": "image",
                "available": True,
                "digest": attrs["Id"],
            }
        ]
    response = client.api._get(client.api._url("/images/{0}/json", ref), params={"manifests": "1"})
    rows = []
    for manifest in client.api._result(response, json=True).get("Manifests") or []:
        kind = str(manifest.get("Kind", ""))
        if kind == "image":
            found = (manifest.get("ImageData") or {}).get("Platform") or {}
            platform = "/".join(filter(None, (found.get("os"), found.get("architecture"), found.get("variant"))))
        else:
            platform = "unknown/unknown"
        rows.append(
            {
                "platform": platform,
                "kind": kind,
                "available": bool(manifest.get("Available")),
                "digest": str((manifest.get("Descriptor") or {}).get("digest", manifest.get("ID", ""))),
            }
        )
    return rows


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_BRANCH = re.compile(r"^\s*[├└]─\s+(\S+)")


@replayable
def tree(ref: str) -> dict[str, Any]:
    """`docker images --tree REF` (Docker 28; the CLI marks it experimental): its text, without
    colours or the experimental warning, and the platforms it lists under the image."""
    done = proc.run(
        ["docker", "images", "--tree", "--", ref],
        timeout=60,
        what="docker images --tree failed",
        hint="it needs a Docker 28 or newer command-line client",
    )
    lines = [_ANSI.sub("", line).rstrip() for line in done.output.splitlines()]
    lines = [line for line in lines if line and not line.startswith("WARNING")]
    platforms = [found.group(1) for line in lines if (found := _BRANCH.match(line))]
    return {"text": "\n".join(lines), "platforms": platforms}
