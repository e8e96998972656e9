"""The one stand-in that starts from nothing: Debian trixie-slim, made with debootstrap."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from helpers.engine import daemon, proc
from helpers.errors import BaseUnavailable
from helpers.labels import STANDIN_LABEL, STANDIN_VERSIONS_LABEL

SUITE = "trixie"

# What the official slim images leave out, so later `apt-get install`s stay slim too.
DPKG_EXCLUDES = """path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
"""
APT_CLEAN = """DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
"""
TRIM = (
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
    "var/lib/apt/lists",
    "var/cache/apt",
    "var/log",
)


def _as_root(command: list[str]) -> list[str]:
    return command if os.geteuid() == 0 else ["sudo", "-n", *command]


def build_debian(ref: str, say: Callable[[str], None]) -> str:
    """Bootstrap Debian trixie (minbase), trim it like the official slim image, import as `ref`."""
    if not shutil.which("debootstrap"):
        raise BaseUnavailable(
            f"Cannot make a stand-in for {ref}: debootstrap is not installed",
            hint="on Debian/Ubuntu run `sudo apt-get install debootstrap` (make lab does), "
            "or load a classroom kit with `python -m helpers bundle load FILE`",
        )
    work = Path(tempfile.mkdtemp(prefix="workbook-rootfs-", dir="/var/tmp"))
    root = work / "rootfs"
    try:
        say(f"  debootstrap --variant=minbase {SUITE} (about 30 s)")
        proc.run(
            _as_root(["debootstrap", "--variant=minbase", SUITE, str(root)]),
            timeout=900,
            what=f"debootstrap of Debian {SUITE} failed",
            hint="check that the Debian package mirror is reachable (apt-get update works)",
        )
        _slim_down(root)
        version = (root / "etc/debian_version").read_text().strip()
        tarball = work / "rootfs.tar"
        proc.run(_as_root(["tar", "-C", str(root), "--numeric-owner", "-cf", str(tarball), "."]))
        repository, _, tag = ref.rpartition(":")
        say(f"  importing {tarball.stat().st_size / 1e6:.0f} MB as {ref}")
        daemon.client().api.import_image_from_file(
            str(tarball),
            repository=repository,
            tag=tag,
            changes=[
                'CMD ["bash"]',
                f'LABEL {STANDIN_LABEL}="{ref}" {STANDIN_VERSIONS_LABEL}="debian {version}"',
            ],
        )
        return version
    finally:
        proc.run(_as_root(["rm", "-rf", str(work)]), check=False)


def _slim_down(root: Path) -> None:
    def write(relative: str, text: str) -> None:
        proc.run(_as_root(["tee", str(root / relative)]), input_bytes=text.encode())

    for relative in TRIM:
        proc.run(_as_root(["find", str(root / relative), "-mindepth", "1", "-delete"]), check=False)
    # The engine supplies these at run time; the host's copies must not leak into the image.
    proc.run(_as_root(["rm", "-f", str(root / "etc/resolv.conf"), str(root / "etc/hostname")]))
    write("etc/dpkg/dpkg.cfg.d/docker-slim", DPKG_EXCLUDES)
    write("etc/apt/apt.conf.d/docker-clean", APT_CLEAN)
    sources = (root / "etc/apt/sources.list").read_text()
    updates = sources.replace(f" {SUITE} ", f" {SUITE}-updates ")
    write("etc/apt/sources.list", sources.rstrip() + "\n" + updates.rstrip() + "\n")
