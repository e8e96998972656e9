#!/usr/bin/env python3
"""Sum the seconds of a test run (tests/durations_report.py's CSV) per notebook and per test
file, largest first: `python scripts/durations.py tests/artifacts/durations/*.csv`."""

from __future__ import annotations

import csv
import sys
from collections import defaultdict
from pathlib import Path


def group(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def rows(path: Path) -> list[tuple[str, float]]:
    """(test id, seconds) for every test in the CSV."""
    with path.open(newline="") as handle:
        return [(row["test"], float(row["seconds"])) for row in csv.DictReader(handle)]


def summary(path: Path) -> str:
    totals: defaultdict[str, float] = defaultdict(float)
    counts: defaultdict[str, int] = defaultdict(int)
    for test, seconds in rows(path):
        totals[group(test)] += seconds
        counts[group(test)] += 1
    everything = sum(totals.values())
    notebooks = sum(seconds for name, seconds in totals.items() if name.endswith(".ipynb"))
    lines = [
        f"### {path.stem}: {everything / 60:.1f} min in {sum(counts.values())} tests "
        f"(notebooks {notebooks / 60:.1f} min, the rest {(everything - notebooks) / 60:.1f} min)",
        "",
        "| file | tests | seconds | share |",
        "| --- | --- | --- | --- |",
    ]
    for name, seconds in sorted(totals.items(), key=lambda item: -item[1]):
        lines.append(f"| {name} | {counts[name]} | {seconds:.0f} | {seconds / everything:.1%} |")
    return "\n".join(lines) + "\n"


def main(paths: list[str]) -> int:
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    for name in paths:
        print(summary(Path(name)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
