"""Which platforms this engine can run: its own, plus those QEMU emulates."""

from __future__ import annotations

from pathlib import Path

from helpers.engine import daemon
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
