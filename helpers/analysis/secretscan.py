"""Look for secrets in every layer of an image, and in its config, streamed from the engine or an archive.

A file COPYed in one layer and deleted in a later one is gone from the container's view but still stored in
the layer that added it: anyone with the image can read it. A BuildKit secret mount (`RUN --mount=type=secret`)
leaves it in no layer. `scan()` shows both: each finding names the layer, the path, what matched (redacted) and
whether the file is still visible in the final image or was deleted or overwritten later.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from helpers.analysis.archive import Bounded, TarEntry, read_image
from helpers.analysis.layerfiles import OPAQUE, WHITEOUT
from helpers.replay import replayable


@dataclass(frozen=True)
class Rule:
    """A secret pattern. Regexes start with a literal so that `re` can skip ahead fast (scanning a large image
    stays near 100 MB/s): the left word boundary is checked afterwards, and `caseless` rules are written in
    lower case and run on a lower-cased copy, instead of (?i) and \\b which make `re` try every position."""

    name: str
    pattern: str
    caseless: bool = False
    left_boundary: bool = True

    def compiled(self) -> re.Pattern[bytes]:
        return re.compile(self.pattern.encode())


RULES: tuple[Rule, ...] = (
    Rule("AWS access key id", r"(?:AKIA|ASIA)[0-9A-Z]{16}(?![0-9A-Za-z])"),
    Rule("private key", r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----", left_boundary=False),
    Rule("GitHub token", r"(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82})(?![A-Za-z0-9_])"),
    Rule(
        "password or API key",
        r"(?:passw(?:or)?d|api[_-]?key|secret[_-]?key|access[_-]?token)\s*=\s*['\"]?[^\s'\"%$]{4,200}",
        caseless=True,
        left_boundary=False,
    ),
)
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


Compiled = list[tuple[Rule, re.Pattern[bytes]]]
Entries = tuple[TarEntry, Bounded]


def _compile(rules: Iterable[Rule], literal: str | None) -> Compiled:
    chosen = [*rules, Rule(LITERAL, re.escape(literal), left_boundary=False)] if literal else list(rules)
    compiled = [(rule, rule.compiled()) for rule in chosen]
    return compiled


def _find(buffer: bytes, rules: Compiled, limit: int | None = None) -> Iterator[tuple[str, str]]:
    """(rule name, matched text) for matches starting before `limit`; one regex per rule, so that matches of
    different rules may overlap (a literal inside a password=...)."""
    lowered = buffer.lower() if any(rule.caseless for rule, _ in rules) else buffer
    end = len(buffer) if limit is None else limit
    for rule, regex in rules:
        for match in regex.finditer(lowered if rule.caseless else buffer):
            start = match.start()
            if start >= end:
                break
            if rule.left_boundary and start and (buffer[start - 1 : start].isalnum() or buffer[start - 1] == 95):
                continue
            yield rule.name, buffer[start : match.end()].decode("utf-8", "backslashreplace")


def _matches(data: Bounded, rules: Compiled) -> Iterator[tuple[str, str]]:
    """(rule name, matched text) over the whole file, read in overlapping windows of bounded size."""
    carry = b""
    while True:
        chunk = data.read(WINDOW)
        buffer = carry + chunk
        last = len(chunk) < WINDOW
        limit = len(buffer) if last else len(buffer) - OVERLAP
        yield from _find(buffer, rules, limit)
        if last:
            return
        carry = buffer[limit:]


def _visitor(rules: Compiled, max_file_bytes: int | None) -> Callable[[Iterable[Entries]], _LayerScan]:
    def visit(entries: Iterable[Entries]) -> _LayerScan:
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


@replayable(local=True)
def scan(
    source: str | Path,
    *,
    literal: str | None = None,
    rules: Iterable[Rule] = RULES,
    max_file_bytes: int | None = None,
    image: str | None = None,
) -> pd.DataFrame:
    """Every secret-looking string in every layer of `source` (an engine reference or an archive path), and
    every occurrence of `literal` if given. Config findings (ENV, build history) have no layer number."""
    compiled = _compile(rules, literal)
    archive = read_image(source, _visitor(compiled, max_file_bytes), image=image)
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
    rows += _config_rows(archive.config, compiled)
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


def _config_rows(config: dict[str, Any], rules: Compiled) -> list[dict[str, Any]]:
    inner = config.get("config") or {}
    texts = [(f"config Env {item.split('=', 1)[0]}", item) for item in inner.get("Env") or []]
    texts += [(f"config Labels {key}", f"{key}={value}") for key, value in (inner.get("Labels") or {}).items()]
    texts += [
        (f"history step {n}", str(step.get("created_by", ""))) for n, step in enumerate(config.get("history") or [], 1)
    ]
    return [
        {
            "layer": None,
            "instruction": "(image config: anyone can read it with docker inspect / docker history)",
            "path": where,
            "rule": name,
            "match": redact(name, text),
            "status": "in the final image",
        }
        for where, raw in texts
        for name, text in _find(raw.encode(), rules)
    ]


__all__ = ["RULES", "Finding", "Rule", "redact", "scan"]
