#!/usr/bin/env python3
"""Benchmark: how long the whole suite takes on a fresh clone, and where the time goes.

    python3 bench/suite_time.py [--lanes 1|2] [--out FILE] [--keep]

Steps, each timed: `git clone` of this checkout into a temporary folder; `make setup browser`
there (the venv, the engine check or install, the base images, the browser); `make test` (by
default in the two lanes of scripts/test-both-stores.sh; `--lanes 1`: one after the other).
With CI=true, as CI runs it. Whether that is a cold or a warm run depends on the machine: an
engine already holding the base images and a warm build cache make it warm (the report says
which bases were present before). Then the tests' seconds (tests/artifacts/durations/*.csv) are
summed per lane and per file by scripts/durations.py. Writes bench/results/suite.md (or --out
FILE); the clone is removed unless --keep. `--from-clone DIR --setup S RC --test S RC` writes
the same report for a run made by hand with those steps.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT / "scripts"))

from durations import rows, summary  # noqa: E402  (scripts/ is not a package)

PRESENT = "import helpers.bases as b, helpers.catalog as c; print(len(b.present_refs()) - 1, 'of', len(c.CATALOG))"


def timed(command: list[str], cwd: Path, log: Path) -> tuple[float, int]:
    started = time.monotonic()
    with log.open("wb") as out:
        done = subprocess.run(command, cwd=cwd, env={**os.environ, "CI": "true"}, stdout=out, stderr=subprocess.STDOUT)
    return time.monotonic() - started, done.returncode


def bases_present() -> str:
    venv = ROOT / ".venv" / "bin" / "python"
    done = subprocess.run(
        [str(venv) if venv.exists() else sys.executable, "-c", PRESENT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.stdout.strip() if done.returncode == 0 else "none counted: no engine answered (the set-up starts one)"


LANES = {"lane 1": ("engine.csv",), "lane 2": ("second-store.csv", "no-engine.csv")}


def _minutes(clone: Path, parts: tuple[str, ...]) -> float:
    paths = [clone / "tests" / "artifacts" / "durations" / name for name in parts]
    return sum(seconds for path in paths if path.is_file() for _, seconds in rows(path)) / 60


def report(clone: Path, setup: tuple[float, int], test: tuple[float, int], before: str, how: str, target: str) -> str:
    (setup_s, setup_rc), (test_s, test_rc) = setup, test
    durations = sorted((clone / "tests" / "artifacts" / "durations").glob("*.csv"))
    lines = [
        f"# The whole suite on a fresh clone ({how})",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M')} on {os.cpu_count()} CPUs ({platform.machine()}); "
        f"catalog bases on the engine before: {before}.",
        "",
        "| step | minutes | exit code |",
        "| --- | --- | --- |",
        f"| make setup browser | {setup_s / 60:.1f} | {setup_rc} |",
        f"| {target} | {test_s / 60:.1f} | {test_rc if test_rc >= 0 else 'not run'} |",
        f"| **total** | **{(setup_s + test_s) / 60:.1f}** | |",
        "",
        "Seconds per test, summed per file (each lane's tests run one after another; the lanes",
        "run at once, so a lane's total is about its wall time and the longer lane sets the run's):",
        "",
        *(f"- {lane}: {_minutes(clone, parts):.1f} min ({' + '.join(parts)})" for lane, parts in LANES.items()),
        "",
        *(summary(path) for path in durations),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the clone and the logs of both steps")
    parser.add_argument(
        "--from-clone",
        type=Path,
        help="only write the report for a run made by hand in this clone (with --setup and --test)",
    )
    parser.add_argument("--setup", type=float, nargs=2, metavar=("SECONDS", "EXIT"), default=(0.0, 0))
    parser.add_argument("--test", type=float, nargs=2, metavar=("SECONDS", "EXIT"), default=(0.0, 0))
    parser.add_argument(
        "--lanes", type=int, choices=(1, 2), default=2, help="2: make test's lanes at once; 1: one after the other"
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "suite.md", help="the report's file")
    parser.add_argument("--bases-before", help="with --from-clone: the bases present before that run, e.g. '10 of 11'")
    args = parser.parse_args(argv)
    before = args.bases_before or "not counted" if args.from_clone else bases_present()
    command = ["make", "test", f"WORKBOOK_LANES={args.lanes}"]
    target = " ".join(command)
    if args.from_clone:
        how = f"the same steps run by hand: `git clone`, `CI=true make setup browser`, `CI=true {target}`"
        setup, test = (args.setup[0], int(args.setup[1])), (args.test[0], int(args.test[1]))
        args.out.write_text(report(args.from_clone, setup, test, before, how, target))
        print(args.out.read_text())
        return 0
    folder = Path(tempfile.mkdtemp(prefix="workbook-suite-"))
    folder.chmod(0o755)  # readable like a checkout: some tests run the helpers as an unprivileged user
    clone = folder / "workbook"
    try:
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, timeout=300)
        setup = timed(["make", "setup", "browser"], clone, folder / "setup.log")
        test = (0.0, -1) if setup[1] else timed(command, clone, folder / "test.log")
        args.out.write_text(report(clone, setup, test, before, "`python3 bench/suite_time.py`", target))
        print(args.out.read_text())
        return setup[1] or test[1]
    finally:
        if args.keep:
            print(f"kept: {clone} (setup.log and test.log beside it)")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
