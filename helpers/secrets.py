"""Look for secrets in every layer of an image, and in its config, streamed from the engine or an archive.

A file COPYed in one layer and deleted in a later one is gone from the container's view but still stored in
the layer that added it: anyone with the image can read it. A BuildKit secret mount (`RUN --mount=type=secret`)
leaves it in no layer. `scan()` shows both: each finding names the layer, the path, what matched (redacted) and
whether the file is still visible in the final image or was deleted or overwritten later.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from .archive import Bounded, TarEntry, read_image
from .layers import OPAQUE, WHITEOUT

PATTERNS: dict[str, str] = {
    "AWS access key id": r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
    "private key": r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----",
    "GitHub token": r"\b(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82})\b",
    "password or API key": (
        r"(?i:(?:password|passwd|api[_-]?key|secret[_-]?key|access[_-]?token)\s*=\s*['\"]?[^\s'\"%$]{4,200})"
    ),
}
LITERAL = "the given literal"
WINDOW = 4 << 20
OVERLAP = 1 << 10  # matches are shorter than this, so none is lost between two windows
COLUMNS = ["layer", "instruction", "path", "rule", "match", "status"]


class Finding(NamedTuple):
    path: str
    rule: str
    match: str  # already redacted


@dataclass
class _LayerScan:
    findings: list[Finding] = field(default_factory=list)
    written: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)
    opaque: set[str] = field(default_factory=set)
    files: int = 0
    skipped: int = 0


def redact(rule: str, text: str) -> str:
    """Enough of a match to recognise it, never the secret itself."""
    if rule == "private key":
        return text  # the PEM header holds no secret; the key follows it
    if rule == "password or API key":
        key, sep, value = re.split(r"(\s*=\s*['\"]?)", text, maxsplit=1)
        return key + sep + _mask(value)
    return _mask(text, keep=4 if rule != LITERAL else 2)


def _mask(text: str, keep: int = 2) -> str:
    keep = min(keep, len(text) // 3)
    return text[:keep] + "*" * (len(text) - keep) + f" ({len(text)} chars)"


Rules = list[tuple[str, re.Pattern[bytes]]]


def _compile(patterns: Mapping[str, str], literal: str | None) -> Rules:
    """One regex per rule, so that matches of different rules may overlap (a literal inside a password=...)."""
    rules = [(rule, re.compile(pattern.encode())) for rule, pattern in patterns.items()]
    if literal:
        rules.append((LITERAL, re.compile(re.escape(literal.encode()))))
    return rules


def _matches(data: Bounded, rules: Rules) -> Iterator[tuple[str, str]]:
    """(rule, matched text) over the whole file, read in overlapping windows of bounded size."""
    carry = b""
    while True:
        chunk = data.read(WINDOW)
        buffer = carry + chunk
        last = len(chunk) < WINDOW
        limit = len(buffer) if last else len(buffer) - OVERLAP
        for rule, regex in rules:
            for match in regex.finditer(buffer, 0, len(buffer)):
                if match.start() >= limit:
                    break
                yield rule, match.group().decode("utf-8", "backslashreplace")
        if last:
            return
        carry = buffer[limit:]


def _visitor(rules: Rules, max_file_bytes: int | None) -> Any:
    def visit(entries: Iterable[tuple[TarEntry, Bounded]]) -> _LayerScan:
        result = _LayerScan()
        for header, data in entries:
            path = "/" + "/".join(part for part in header.name.split("/") if part not in ("", "."))
            parent, _, base = path.rpartition("/")
            if base == OPAQUE:
                result.opaque.add(parent or "/")
            elif base.startswith(WHITEOUT):
                result.deleted.add(f"{parent}/{base[len(WHITEOUT) :]}")
            elif header.type in "07":
                result.written.add(path)
                result.files += 1
                if max_file_bytes is not None and header.size > max_file_bytes:
                    result.skipped += 1
                    continue
                seen = set()
                for rule, text in _matches(data, rules):
                    finding = Finding(path, rule, redact(rule, text))
                    if finding not in seen:
                        seen.add(finding)
                        result.findings.append(finding)
        return result

    return visit


def scan(
    source: str | Path,
    *,
    literal: str | None = None,
    patterns: Mapping[str, str] = PATTERNS,
    max_file_bytes: int | None = None,
    image: str | None = None,
) -> pd.DataFrame:
    """Every secret-looking string in every layer of `source` (an engine reference or an archive path), and
    every occurrence of `literal` if given. Config findings (ENV, build history) have no layer number."""
    rules = _compile(patterns, literal)
    archive = read_image(source, _visitor(rules, max_file_bytes), image=image)
    scans = [blob.result for blob in archive.layers]
    rows = [
        {
            "layer": blob.number,
            "instruction": blob.instruction[:60],
            "path": finding.path,
            "rule": finding.rule,
            "match": finding.match,
            "status": _status(finding.path, blob.number, scans),
        }
        for blob in archive.layers
        for finding in blob.result.findings
    ]
    rows += _config_rows(archive.config, rules)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["layer"] = frame["layer"].astype("Int64")
    frame.attrs["files_scanned"] = sum(s.files - s.skipped for s in scans)
    frame.attrs["files_skipped"] = sum(s.skipped for s in scans)
    return frame


def _status(path: str, number: int, scans: list[_LayerScan]) -> str:
    """Whether a later layer hides the file: the finding stays readable in layer `number` either way."""
    ancestors = [path[:i] or "/" for i in range(len(path)) if path[i] == "/"]
    for later, layer in enumerate(scans[number:], number + 1):
        if path in layer.deleted or any(a in layer.deleted for a in ancestors):
            return f"deleted in layer {later}, still stored in layer {number}"
        if any(a in layer.opaque for a in ancestors):
            return f"hidden by layer {later}, still stored in layer {number}"
        if path in layer.written:
            return f"overwritten in layer {later}, still stored in layer {number}"
    return "in the final image"


def _config_rows(config: dict[str, Any], rules: Rules) -> list[dict[str, Any]]:
    inner = config.get("config") or {}
    texts = [(f"config Env {item.split('=', 1)[0]}", item) for item in inner.get("Env") or []]
    texts += [(f"config Labels {key}", f"{key}={value}") for key, value in (inner.get("Labels") or {}).items()]
    texts += [
        (f"history step {n}", str(step.get("created_by", ""))) for n, step in enumerate(config.get("history") or [], 1)
    ]
    rows = []
    for where, text in texts:
        for rule, regex in rules:
            for match in regex.finditer(text.encode()):
                rows.append(
                    {
                        "layer": None,
                        "instruction": "(image config: anyone can read it with docker inspect / docker history)",
                        "path": where,
                        "rule": rule,
                        "match": redact(rule, match.group().decode("utf-8", "backslashreplace")),
                        "status": "in the final image",
                    }
                )
    return rows


__all__ = ["PATTERNS", "Finding", "redact", "scan"]
