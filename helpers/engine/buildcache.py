"""The builder's cache records that a lesson made, found and pruned by a pattern only they match.

BuildKit describes each record by what made it: `mount / from exec /bin/sh -c COMMAND` for a
RUN step, `imported sha256:DIGEST` for a layer imported from a cache. A lesson puts a fresh
token into its RUN commands, so `description~=TOKEN` matches its own records and no one else's;
layers it imported are matched by their digests (new_cache_layers). Nothing else is pruned.
"""

from __future__ import annotations

import gzip
import json
import re
import time
from pathlib import Path
from typing import Any

import pandas as pd

from helpers.engine import buildx_run
from helpers.errors import InvalidInput
from helpers.replay import replayable

# A pattern: alternatives of letters and digits (a token, hex digests) joined by |.
_PATTERN = re.compile(r"[A-Za-z0-9-]{6,80}(?:\|[A-Za-z0-9-]{6,80}){0,63}")
COLUMNS = ["id", "description", "size", "shared", "reclaimable"]
MAX_RECORDS = 5000
MAX_INDEX = 1 << 20
MAX_LAYER = 512 << 20  # bytes of one layer read when looking for a token


def checked_pattern(pattern: str) -> str:
    if not _PATTERN.fullmatch(pattern):
        raise InvalidInput(
            f"{pattern[:80]!r} is not a cache record pattern the workbook prunes by",
            hint="pass a token from wb.fresh_token() (6+ letters or digits), or several joined by |",
        )
    return pattern


def parse_records(text: str) -> pd.DataFrame:
    """Records of `docker buildx du --verbose` or `docker buildx prune --verbose` output:
    blocks of `Key: value` lines separated by blank lines (prune aligns with tabs)."""
    rows: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    blank = {"description": "", "size": "", "shared": False, "reclaimable": False}
    for line in text.splitlines():
        if not line.strip():
            if current.get("id"):
                rows.append(current)
            current = {}
            if len(rows) >= MAX_RECORDS:
                break
            continue
        key, separator, value = line.partition(":")
        if not separator or line.startswith((" ", "\t")):
            continue  # a parent id under "Parents:", or a line that is not a field
        key, value = key.strip().lower(), value.strip()
        if key == "id":
            if current.get("id"):
                rows.append(current)
            current = {**blank, "id": value[:64]}
        elif key == "description":
            current["description"] = value[:300]
        elif key == "size":
            current["size"] = value[:20]
        elif key in ("shared", "reclaimable"):
            current[key] = value == "true"
    if current.get("id") and len(rows) < MAX_RECORDS:
        rows.append(current)
    return pd.DataFrame(rows, columns=COLUMNS)


@replayable
def cache_records(pattern: str) -> pd.DataFrame:
    """The builder's cache records whose description matches `pattern` (a token, or digests)."""
    output = buildx_run.bounded_output(
        ["docker", "buildx", "du", "--verbose", "--filter", f"description~={checked_pattern(pattern)}"], timeout=120
    )
    return parse_records(output.decode(errors="replace"))


@replayable
def prune_cache(pattern: str, *, wait: float = 0.0) -> pd.DataFrame:
    """Prune the cache records whose description matches `pattern`, and only those; returns what
    was pruned. A record an image still uses (containerd store) stays until the image is removed.
    Right after removing one, pass `wait` (seconds): the engine releases the image's records a
    moment later, so the prune repeats once a second while unshared records matching are left
    (a record that shares its content with another one is never pruned by a filtered prune)."""
    pruned = [_prune_once(pattern)]
    deadline = time.monotonic() + min(max(wait, 0.0), 120.0)
    while time.monotonic() < deadline:
        left = cache_records(pattern)
        if left.empty or left.shared.astype(bool).all():
            break
        time.sleep(1)
        pruned.append(_prune_once(pattern))
    return pd.concat(pruned, ignore_index=True)


def _prune_once(pattern: str) -> pd.DataFrame:
    output = buildx_run.bounded_output(
        ["docker", "buildx", "prune", "--force", "--verbose", "--filter", f"description~={checked_pattern(pattern)}"],
        timeout=300,
    )
    return parse_records(output.decode(errors="replace"))


@replayable(local=True)
def new_cache_layers(cache_dir: str | Path, token: str) -> list[str]:
    """Digests (hex) of the layers in a local cache export that hold `token` in a file: the
    layers the lesson's RUN steps wrote (each writes its token), not those of the base image."""
    folder = Path(cache_dir)
    needle = checked_pattern(token).encode()
    index = _json(folder / "index.json")
    found: list[str] = []
    for entry in index.get("manifests", [])[:16]:
        manifest = _json(folder / "blobs" / "sha256" / _hex(entry.get("digest", "")))
        for layer in manifest.get("layers", [])[:1000]:
            digest = _hex(layer.get("digest", ""))
            if str(layer.get("mediaType", "")).endswith("+gzip") and _holds(
                folder / "blobs" / "sha256" / digest, needle
            ):
                found.append(digest)
    return sorted(set(found))


def _holds(blob: Path, needle: bytes) -> bool:
    """True when the gzip layer `blob` holds `needle` (read in chunks, at most MAX_LAYER bytes)."""
    seen, tail = 0, b""
    try:
        with gzip.open(blob, "rb") as stream:
            while chunk := stream.read(1 << 20):
                if needle in tail + chunk:
                    return True
                tail, seen = chunk[-len(needle) :], seen + len(chunk)
                if seen > MAX_LAYER:
                    return False
    except (OSError, EOFError):
        return False
    return False


def _hex(digest: str) -> str:
    algorithm, _, value = str(digest).partition(":")
    if algorithm != "sha256" or not re.fullmatch(r"[0-9a-f]{64}", value):
        raise InvalidInput(f"{str(digest)[:80]!r} is not a sha256 digest", hint="is this a local cache folder?")
    return value


def _json(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_INDEX + 1)
    except FileNotFoundError:
        raise  # replay mode answers from the recording: the folder was on the recording machine
    except OSError as exc:
        raise InvalidInput(
            f"{path.name} cannot be read in the cache folder", where=str(path), detail=str(exc)
        ) from None
    if len(data) > MAX_INDEX:
        raise InvalidInput(f"{path.name} is too large for a cache index", where=str(path))
    try:
        found = json.loads(data)
    except (ValueError, RecursionError):
        raise InvalidInput(f"{path.name} is not JSON", where=str(path), hint="is this a local cache folder?") from None
    return found if isinstance(found, dict) else {}
