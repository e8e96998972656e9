"""Build checks: the Dockerfile frontend's lint rules (FromAsCasing, JSONArgsRecommended, ...).

`check()` runs `docker buildx build --call=check,format=json` (what `docker build --check` runs)
and returns one row per warning; `build_warnings()` reads the warnings an ordinary BuildKit
build prints at the end of its log. Both give the same columns, so a lesson can compare them.
The parsers are pure text functions (unit-tested without an engine); every input is bounded.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd

from helpers.engine import daemon, proc
from helpers.errors import BuildFailed, InvalidInput
from helpers.paths import app_dir
from helpers.replay import replayable

COLUMNS = ["rule", "line", "detail"]
MAX_OUTPUT = 4 << 20  # a check report is a few kB; more is not a report
MAX_WARNINGS = 500
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# " - JSONArgsRecommended: JSON arguments recommended for CMD ... (line 5)"
_WARNING = re.compile(r"^\s*- ([A-Za-z][A-Za-z0-9]{0,80}): (.{0,2000}?)(?: \(line (\d{1,7})\))?$")
_SUMMARY = re.compile(r"^\s*\d+ warnings? found")


@replayable
def check(app: str | Path, dockerfile: str = "Dockerfile", *, timeout: float = 300) -> pd.DataFrame:
    """The build checks' warnings for `dockerfile` in the app folder `app`, without building it.

    One row per warning (rule, line, detail), sorted by line; `frame.attrs["url"]` maps each
    rule to its documentation page. A Dockerfile the checks cannot even read (a syntax error,
    a `# check=error=true` that fails) raises BuildFailed with the checker's message.
    """
    context = app_dir(app)
    path = context / dockerfile
    if not path.is_file():
        raise InvalidInput(f"There is no {dockerfile} in {context.name}", where=str(path))
    daemon.client()  # fail early and plainly when no engine answers
    command = ["docker", "buildx", "build", "--progress=quiet", "--call=check,format=json"]
    command += ["-f", str(path), str(context)]
    done = proc.run(command, timeout=timeout, check=False)
    try:
        return parse_check_json(done.output)
    except InvalidInput:
        lines = [line for line in _ANSI.sub("", done.output).splitlines() if line.strip()]
        errors = [line.removeprefix("ERROR: ") for line in lines if line.startswith("ERROR: ")]
        raise BuildFailed(
            f"The build checks could not read {context.name}/{dockerfile}",
            log_tail="\n".join(lines[-12:]),
            where=f"{context.name}/{dockerfile}",
            hint=(errors[-1] if errors else "read the output above")
            + "; fix that line, or run the same check in a terminal: docker build --check .",
        ) from None


def parse_check_json(output: str) -> pd.DataFrame:
    """The warnings of a `--call=check,format=json` report (the JSON may follow other lines)."""
    if len(output) > MAX_OUTPUT:
        raise InvalidInput("The check report is too large to be one", detail=f"{len(output)} characters")
    start = output.find("{")
    if start < 0:
        raise InvalidInput("The check output holds no JSON report", detail=output[-500:])
    try:
        report, _ = json.JSONDecoder().raw_decode(output[start:])
    except json.JSONDecodeError as exc:
        raise InvalidInput("The check report is not valid JSON", detail=str(exc)) from None
    if not isinstance(report, dict):
        raise InvalidInput("The check report is not a JSON object", detail=type(report).__name__)
    warnings = report.get("warnings") or []
    if not isinstance(warnings, list) or len(warnings) > MAX_WARNINGS:
        raise InvalidInput("The check report's warnings are not a list of reasonable length")
    rows, urls = [], {}
    for item in warnings:
        if not isinstance(item, dict) or not isinstance(item.get("ruleName"), str):
            raise InvalidInput("A warning in the check report has no rule name", detail=str(item)[:300])
        rule = item["ruleName"][:100]
        rows.append({"rule": rule, "line": _first_line(item.get("location")), "detail": str(item.get("detail", ""))})
        if isinstance(item.get("url"), str):
            urls[rule] = item["url"][:300]
    frame = _frame(rows)
    frame.attrs["url"] = urls
    return frame


def build_warnings(log: str) -> pd.DataFrame:
    """The warnings a BuildKit build printed at the end of its log (`N warnings found ...`)."""
    if len(log) > 64 * MAX_OUTPUT:
        raise InvalidInput("The build log is too large to read", detail=f"{len(log)} characters")
    rows: list[dict[str, Any]] = []
    reading = False
    for raw in _ANSI.sub("", log).splitlines():
        if _SUMMARY.match(raw):
            reading = True
            continue
        match = _WARNING.match(raw) if reading else None
        if match:
            line = int(match.group(3)) if match.group(3) else None
            rows.append({"rule": match.group(1), "line": line, "detail": match.group(2)})
        elif reading and raw.strip():
            reading = False
    return _frame(rows[:MAX_WARNINGS])


def _first_line(location: Any) -> int | None:
    try:
        line = location["ranges"][0]["start"]["line"]
    except (KeyError, IndexError, TypeError):
        return None
    return line if type(line) is int and 0 < line < 10_000_000 else None


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["line"] = frame["line"].astype("Int64")
    return frame.sort_values(["line", "rule", "detail"], kind="stable", na_position="last").reset_index(drop=True)


__all__ = ["COLUMNS", "build_warnings", "check", "parse_check_json"]
