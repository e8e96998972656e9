"""What an image holds, counted the way a reviewer would: its files, its installed packages, and a few telling
paths (a shell, a package manager, a C compiler, glibc, CA certificates). Files come from probe.image_files
(a `docker export` of a container that never starts); packages from the package database the image carries."""

from __future__ import annotations

import io
import tarfile
from typing import Any

from docker.errors import APIError

from helpers.engine import daemon, images
from helpers.engine.run import remove_after_use
from helpers.errors import ContainerFailed
from helpers.exercises import probe
from helpers.labels import object_labels
from helpers.replay import replayable

DPKG_STATUS = "var/lib/dpkg/status"  # Debian: one stanza per installed package
DPKG_STATUS_D = "var/lib/dpkg/status.d/"  # distroless: one small file per package
MAX_STATUS_BYTES = 32_000_000
TELLING = {
    "shell": ("bin/sh", "usr/bin/sh"),
    "package manager": ("usr/bin/apt-get", "sbin/apk"),
    "C compiler": ("usr/bin/gcc",),
    "CA certificates": ("etc/ssl/certs/ca-certificates.crt",),
}


@replayable
def inventory(ref: str) -> dict[str, Any]:
    """Size (MB, unpacked), file count (folders left out), package count and the telling paths of an image."""
    size_mb = images.size_mb(ref)  # a missing image fails here, in one paragraph
    files = probe.image_files(ref)
    return {
        "size_mb": round(size_mb, 2),
        "files": len(files),
        "packages": packages(ref, files),
        **{name: any(path in files for path in paths) for name, paths in TELLING.items()},
        "glibc": any(name.endswith("/libc.so.6") for name in files),
    }


def packages(ref: str, files: dict[str, int]) -> int:
    """Installed packages by the image's package database: dpkg's status file, else distroless's status.d
    folder; 0 when there is neither (BusyBox, scratch)."""
    if DPKG_STATUS in files:
        return count_packages(_read_file(ref, DPKG_STATUS))
    return sum(1 for name in files if name.startswith(DPKG_STATUS_D))


def count_packages(status: str) -> int:
    """Stanzas in dpkg status text (each begins with a `Package:` line)."""
    return sum(line.startswith("Package: ") for line in status.splitlines())


def _read_file(ref: str, path: str) -> str:
    container = daemon.client().containers.create(ref, command=["/none"], labels=object_labels())
    try:
        stream, _ = container.get_archive("/" + path)
        data = b"".join(_bounded(stream, MAX_STATUS_BYTES + 1_000_000))
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            member = archive.next()
            handle = archive.extractfile(member) if member is not None else None
            return handle.read(MAX_STATUS_BYTES).decode(errors="replace") if handle else ""
    except (APIError, tarfile.TarError) as error:
        raise ContainerFailed(
            f"Could not read /{path} from the image {ref}",
            detail=str(error).splitlines()[0][:300],
            hint="check that the image is complete (`docker image inspect`), or rebuild it",
        ) from None
    finally:
        remove_after_use(container)


def _bounded(chunks: Any, limit: int) -> Any:
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > limit:
            break
        yield chunk


__all__ = ["TELLING", "count_packages", "inventory", "packages"]
