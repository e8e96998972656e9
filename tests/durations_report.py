"""Where the suite's time goes: with WORKBOOK_DURATIONS=FILE.csv, every test's seconds (setup,
call and teardown together) are written to FILE.csv when the session ends; `python
scripts/durations.py FILE.csv ...` sums them per notebook and per test file."""

from __future__ import annotations

import csv
import os
from collections import defaultdict
from pathlib import Path

import pytest

DURATIONS_ENV = "WORKBOOK_DURATIONS"
_seconds: defaultdict[str, float] = defaultdict(float)
_outcomes: dict[str, str] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _seconds[report.nodeid] += report.duration
    if report.when == "call" or report.outcome != "passed":
        _outcomes[report.nodeid] = report.outcome


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = os.environ.get(DURATIONS_ENV)
    if not target or not _seconds:
        return
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["test", "seconds", "outcome"])
        for nodeid, seconds in _seconds.items():
            writer.writerow([nodeid, f"{seconds:.3f}", _outcomes.get(nodeid, "")])
