"""The key a call is recorded under: the function and its arguments as stable text.

Folders (build contexts) and small files are keyed by their content, so an edited Dockerfile
is a different call; random or unstorable arguments are keyed by their type only.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from .codec import Unstorable, encode
from .proxy import path_of

SMALL_FILE = 1 << 20
LONG_KEY = 400


def content_digest(path: Path) -> str:
    """A digest of a file or a folder's files (names, and contents up to 1 MB each; sizes above)."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        digest.update(str(file.relative_to(path) if file != path else "").encode())
        size = file.stat().st_size
        digest.update(file.read_bytes() if size <= SMALL_FILE else str(size).encode())
    return digest.hexdigest()[:16]


def _argument(value: Any) -> Any:
    proxied = path_of(value)
    if proxied is not None:
        return {"proxy": proxied}
    if isinstance(value, os.PathLike) or (isinstance(value, str) and os.sep in value):
        path = Path(value)
        try:
            if path.is_dir() or (path.is_file() and path.stat().st_size <= SMALL_FILE):
                return {"path": encode(str(value)), "content": content_digest(path)}
        except OSError:
            pass
    if isinstance(value, list | tuple):
        return [_argument(v) for v in value]
    if isinstance(value, dict):
        return {encode(str(k)): _argument(v) for k, v in value.items()}  # paths as keys: relative too
    try:
        return encode(value)
    except Unstorable:
        return {"object": f"{type(value).__module__}.{type(value).__qualname__}"}


def call_key(function: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    text = json.dumps([_argument(list(args)), _argument(kwargs)], sort_keys=True, default=str)
    if len(text) > LONG_KEY:
        text = text[:200] + "…" + hashlib.sha256(text.encode()).hexdigest()[:16]
    return f"{function}({text})"
