"""Base images: every catalog base on the engine, pulled or honestly stood in for.

provision  pull each base, else build its stand-in, else report it unavailable
standins   the recipes of the stand-ins (what each holds and how it is built)
rootfs     Debian root filesystems for the stand-ins (debootstrap)
extra_ca   an extra CA certificate for builds behind a TLS-inspecting proxy
ondemand   the bases each notebook declares, prepared when it starts
kit        the classroom kit: every image in one checked file for offline rooms
"""

from helpers.bases.ondemand import declared
from helpers.bases.provision import (
    MISSING,
    PULLED,
    STANDIN,
    UNAVAILABLE,
    BaseStatus,
    copy_to,
    ensure_bases,
    present_refs,
    registry_answers,
    status,
    statuses,
)

__all__ = [
    "MISSING",
    "PULLED",
    "STANDIN",
    "UNAVAILABLE",
    "BaseStatus",
    "copy_to",
    "declared",
    "ensure_bases",
    "present_refs",
    "registry_answers",
    "status",
    "statuses",
]
