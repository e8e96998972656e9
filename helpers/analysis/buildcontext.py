"""What a build would send as its context: the files of a folder that a `.dockerignore` leaves in.

Patterns are matched by the Docker SDK's own `.dockerignore` matcher (`docker.utils.build.PatternMatcher`,
the Docker CLI's rules): one pattern per line, `#` comments, `*` and `?` within one folder level, `**` across
levels, a matching folder takes everything inside it, and `!` brings matching paths back (the last matching line
wins). Only local files are read; nothing here needs an engine.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from docker.utils.build import PatternMatcher

from helpers.errors import InvalidInput

MAX_FILES = 200_000  # a walk stops here: a build context this large is a mistake to report, not to measure
MAX_DOCKERIGNORE = 1_000_000  # bytes of .dockerignore text


def walk(folder: str | Path, *, max_files: int = MAX_FILES) -> dict[str, int]:
    """Every file and symbolic link under `folder`: its path relative to `folder` ("a/b.txt") -> its bytes.
    A link counts as itself (it is sent as a link, not followed); folders are not listed."""
    root = Path(folder)
    if not root.is_dir():
        raise InvalidInput(f"There is no folder {root}", hint="pass the build context folder, e.g. wb.work_copy(...)")
    found: dict[str, int] = {}
    for current, dirs, names in os.walk(root):
        for name in names + [d for d in dirs if (Path(current) / d).is_symlink()]:
            path = Path(current) / name
            found[path.relative_to(root).as_posix()] = path.lstat().st_size
            if len(found) > max_files:
                raise InvalidInput(
                    f"The folder holds more than {max_files:,} files",
                    where=str(root),
                    hint="point at the project folder itself, or raise max_files if you really mean it",
                )
    return dict(sorted(found.items()))


def patterns(dockerignore: str) -> list[str]:
    """The patterns of `.dockerignore` text, as the Docker SDK reads the file: stripped lines, without empty
    lines and `#` comments."""
    if len(dockerignore) > MAX_DOCKERIGNORE:
        raise InvalidInput(
            f"The .dockerignore text is longer than {MAX_DOCKERIGNORE:,} characters",
            hint="a .dockerignore holds a few patterns, one per line",
        )
    lines = (line.strip() for line in dockerignore.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def matcher(dockerignore: str) -> PatternMatcher:
    """The SDK's matcher for `.dockerignore` text. The SDK always adds `!.dockerignore` (the classic builder sent
    the file along); BuildKit honours an exclusion of `.dockerignore`, so that added rule is dropped."""
    built = PatternMatcher(patterns(dockerignore))
    added = built.patterns[-1]
    if added.exclusion and added.cleaned_pattern == ".dockerignore":
        built.patterns.pop()
    return built


def excluded(path: str, dockerignore: str) -> bool:
    """True when `.dockerignore` text leaves `path` (relative to the context, "a/b.txt") out of the context."""
    return bool(matcher(dockerignore).matches(path))


def sent(files: Iterable[str], dockerignore: str = "") -> list[str]:
    """Of `files` (paths relative to the context folder, e.g. the keys of walk()), those a build sends
    given the `.dockerignore` text, sorted. No text: everything is sent."""
    rules = matcher(dockerignore)
    return sorted(path for path in files if not rules.matches(path))


__all__ = ["MAX_FILES", "excluded", "matcher", "patterns", "sent", "walk"]
