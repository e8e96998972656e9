"""Debian version ordering, as dpkg implements it (deb-version(7), Debian Policy 5.6.12).

A version is `[epoch:]upstream[-revision]`. Epochs compare as numbers; upstream and revision
compare part by part: a run of non-digits (letters sort before other characters, `~` before
everything, even the end of the string) then a run of digits (as a number).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

MAX_LENGTH = 256  # dpkg has no limit; real versions are under 100 characters
_ALLOWED = re.compile(r"[A-Za-z0-9.+~:-]+")


class BadVersion(ValueError):
    """Text that is not a Debian version."""


@dataclass(frozen=True, order=False)
class Version:
    epoch: int
    upstream: str
    revision: str

    def __str__(self) -> str:
        epoch = f"{self.epoch}:" if self.epoch else ""
        revision = f"-{self.revision}" if self.revision else ""
        return f"{epoch}{self.upstream}{revision}"


@functools.lru_cache(maxsize=65536)
def parse(text: str) -> Version:
    """Split a version into epoch, upstream and revision; BadVersion when it is not one."""
    version = text.strip()
    if not version:
        raise BadVersion("an empty version")
    if len(version) > MAX_LENGTH:
        raise BadVersion(f"a version longer than {MAX_LENGTH} characters")
    if not _ALLOWED.fullmatch(version):
        raise BadVersion(f"{version!r} holds a character a Debian version may not hold")
    epoch_text, colon, rest = version.partition(":")
    if not colon:
        epoch_text, rest = "0", version
    if not epoch_text.isdigit() or len(epoch_text) > 9:
        raise BadVersion(f"{version!r} has an epoch that is not a small number")
    upstream, dash, revision = rest.rpartition("-")
    if not dash:
        upstream, revision = rest, ""
    elif not revision:
        raise BadVersion(f"{version!r} ends with '-' (an empty revision)")
    if not upstream:
        raise BadVersion(f"{version!r} has an empty upstream version")
    if ":" in revision:
        raise BadVersion(f"{version!r} has a ':' in its revision")
    return Version(int(epoch_text), upstream, revision)


def _order(char: str) -> int:
    if char == "~":
        return -1
    if char.isalpha():
        return ord(char)
    return ord(char) + 256


def _compare_part(a: str, b: str) -> int:
    """dpkg's verrevcmp(): -1, 0 or 1."""
    i = j = 0
    while i < len(a) or j < len(b):
        while (i < len(a) and not a[i].isdigit()) or (j < len(b) and not b[j].isdigit()):
            ac = _order(a[i]) if i < len(a) and not a[i].isdigit() else 0
            bc = _order(b[j]) if j < len(b) and not b[j].isdigit() else 0
            if ac != bc:
                return -1 if ac < bc else 1
            i += 1
            j += 1
        start_i, start_j = i, j
        while i < len(a) and a[i].isdigit():
            i += 1
        while j < len(b) and b[j].isdigit():
            j += 1
        x, y = int(a[start_i:i] or "0"), int(b[start_j:j] or "0")
        if x != y:
            return -1 if x < y else 1
    return 0


def compare(a: str, b: str) -> int:
    """-1, 0 or 1 as `a` sorts before, equal to or after `b` (like `dpkg --compare-versions`)."""
    va, vb = parse(a), parse(b)
    if va.epoch != vb.epoch:
        return -1 if va.epoch < vb.epoch else 1
    return _compare_part(va.upstream, vb.upstream) or _compare_part(va.revision, vb.revision)


def newer(a: str, b: str) -> bool:
    """True when version `a` is strictly newer than `b`."""
    return compare(a, b) > 0


__all__ = ["BadVersion", "Version", "compare", "newer", "parse"]
