"""Reading Debian's package lists, bounded: dpkg's status database, an archive's Packages
index and /etc/os-release. Pure functions on bytes; malformed input is an InvalidInput."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from helpers.analysis import debversion
from helpers.errors import InvalidInput

MAX_PARAGRAPHS = 200_000  # a full Debian release index holds about 65,000
MAX_LINE = 1 << 20
COLUMNS = ["package", "version", "architecture", "source", "source_version"]


def paragraphs(data: bytes, where: str) -> Iterator[dict[str, str]]:
    """The stanzas of a deb822 file (`Field: value` lines, continuation lines indented)."""
    text = _text(data, where)
    fields: dict[str, str] = {}
    last = ""
    count = 0
    for number, line in enumerate(text.split("\n"), 1):
        if len(line) > MAX_LINE:
            raise _bad(where, number, f"a line longer than {MAX_LINE >> 20} MiB")
        if not line.strip():
            if fields:
                count += 1
                if count > MAX_PARAGRAPHS:
                    raise _bad(where, number, f"more than {MAX_PARAGRAPHS} entries")
                yield fields
            fields, last = {}, ""
            continue
        if line[0] in " \t":
            if not last:
                raise _bad(where, number, "a continuation line before any field")
            fields[last] += "\n" + line.strip()
            continue
        name, colon, value = line.partition(":")
        if not colon or not name or " " in name:
            raise _bad(where, number, f"a line that is neither 'Field: value' nor a continuation: {line[:60]!r}")
        last = name.strip().lower()
        fields[last] = value.strip()
    if fields:
        yield fields


def packages(data: bytes, where: str, *, installed_only: bool = False) -> pd.DataFrame:
    """One row per package of a status file (installed_only) or a Packages index."""
    rows = []
    for fields in paragraphs(data, where):
        if installed_only and fields.get("status", "").split()[-1:] != ["installed"]:
            continue  # removed but its config kept, half-installed, ...: not on the disk as a package
        name, version = fields.get("package", ""), fields.get("version", "")
        if not name or not version:
            raise InvalidInput(
                f"{where} holds an entry without a Package or Version field",
                where=where,
                detail=f"the entry starts with: {next(iter(fields.items()), ('', ''))}",
                hint="the file is damaged or not a Debian package list",
            )
        source, source_version = _source(fields, name, version)
        for text in (version, source_version):
            try:
                debversion.parse(text)
            except debversion.BadVersion as exc:
                raise InvalidInput(
                    f"{where} gives package {name[:80]} a version that is not a Debian version",
                    where=where,
                    detail=str(exc),
                    hint="the file is damaged or not a Debian package list",
                ) from None
        rows.append([name, version, fields.get("architecture", ""), source, source_version])
    return pd.DataFrame(rows, columns=COLUMNS)


def _source(fields: dict[str, str], name: str, version: str) -> tuple[str, str]:
    """(source package, source version): `Source: name (version)`, or the binary's own when absent."""
    value = fields.get("source", "").strip()
    if not value:
        return name, version
    source, _, rest = value.partition(" ")
    rest = rest.strip()
    if rest.startswith("(") and rest.endswith(")"):
        return source, rest[1:-1].strip()
    return source, version


def os_release(data: bytes, where: str) -> dict[str, str]:
    """The KEY=value pairs of an os-release file, quotes removed."""
    values = {}
    for line in _text(data, where).splitlines():
        key, equals, value = line.strip().partition("=")
        if equals and key and not key.startswith("#"):
            values[key] = value.strip().strip("\"'")
    return values


def _text(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"{where} is not UTF-8 text (byte {exc.start})",
            where=where,
            hint="the file is damaged or not a Debian package list",
        ) from None


def _bad(where: str, line: int, what: str) -> InvalidInput:
    return InvalidInput(
        f"{where} is not a Debian package list: line {line} holds {what}",
        where=f"{where}, line {line}",
        hint="the file is damaged, truncated or not what its name says",
    )


__all__ = ["COLUMNS", "os_release", "packages", "paragraphs"]
