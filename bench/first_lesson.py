#!/usr/bin/env python3
"""Benchmark: how long a new learner waits, on a fresh clone, from `make lab` to notebook 01's
first build result, and how many bytes the machine received meanwhile.

    .venv/bin/python bench/first_lesson.py [--remove-standins] [--port 8899]

Steps, each timed: `git clone` of this checkout into a temporary folder; `make lab` there
(virtual environment, engine check, JupyterLab) until JupyterLab answers on its port; then a
kernel of that environment runs notebook 01's cells in order until the first cell that builds
(`wb.build(`) has its result: `wb.start()` prepares the bases 01 declares on the way. The
kernel runs beside JupyterLab rather than inside it, so the time a learner spends reading and
clicking is not counted. Bytes received are the growth of every network interface's receive
counter (/proc/net/dev) over the run, so anything else using the network adds to them.

--remove-standins first removes the stand-ins of the bases notebook 01 declares (only images
carrying the workbook's stand-in label: never an image the workbook did not make), so that
`wb.start()` has to make them again, as on an engine that has never seen the workbook. Writes
bench/results/first-lesson.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "first-lesson.md"
NOTEBOOK = "01-images-and-layers"

RUN_TO_FIRST_BUILD = """
import json, sys, time
import nbformat
from nbclient import NotebookClient
notebook = nbformat.read(sys.argv[1], as_version=4)
client = NotebookClient(notebook, timeout=1800, resources={"metadata": {"path": "notebooks"}})
times = []
with client.setup_kernel():
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        started = time.monotonic()
        client.execute_cell(cell, index)
        times.append({"cell": index, "seconds": round(time.monotonic() - started, 1), "source": cell.source[:60]})
        if "wb.build(" in cell.source:
            break
print(json.dumps(times))
"""


def received_bytes() -> int:
    """Bytes received so far on every interface but loopback."""
    total = 0
    for line in Path("/proc/net/dev").read_text().splitlines()[2:]:
        name, _, counters = line.partition(":")
        if name.strip() != "lo":
            total += int(counters.split()[0])
    return total


def wait_for(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except urllib.error.HTTPError:  # any HTTP answer (403: no token given) means it is up
            return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")


def remove_standins(remove: bool) -> tuple[list[str], str]:
    """With `remove`, remove the stand-ins of the bases notebook 01 declares; returns the bases
    of 01 absent from the engine now (those `wb.start()` will have to make), and the engine."""
    sys.path.insert(0, str(ROOT))
    from docker.errors import ImageNotFound

    import helpers as wb
    from helpers.bases.ondemand import declared
    from helpers.labels import STANDIN_LABEL

    absent = []
    for base in declared(NOTEBOOK):
        try:
            image = wb.client().images.get(base)
        except ImageNotFound:
            absent.append(base)
            continue
        if remove and image.labels.get(STANDIN_LABEL):
            wb.client().images.remove(base)
            absent.append(base)
    engine = wb.engine.daemon.info()
    return absent, f"Docker {engine.version}, {engine.image_store} image store, at {wb.engine.docker_host()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--remove-standins", action="store_true", help="remove 01's stand-in bases first")
    parser.add_argument("--port", type=int, default=8899, help="JupyterLab's port for this run")
    args = parser.parse_args(argv)
    remove = args.remove_standins
    absent, engine = remove_standins(args.remove_standins)
    with tempfile.TemporaryDirectory(prefix="workbook-first-lesson-") as folder:
        clone = Path(folder) / "workbook"
        bytes_before, started = received_bytes(), time.monotonic()
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=600)
        cloned = time.monotonic()
        log = Path(folder) / "lab.log"
        with log.open("w") as output:
            lab = subprocess.Popen(
                ["make", "lab", f"LAB_PORT={args.port}"],
                cwd=clone,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_for(f"http://127.0.0.1:{args.port}/api/status", timeout=1800)
            lab_ready = time.monotonic()
            ran = subprocess.run(
                [str(clone / ".venv/bin/python"), "-c", RUN_TO_FIRST_BUILD, f"notebooks/{NOTEBOOK}.ipynb"],
                cwd=clone,
                capture_output=True,
                text=True,
                timeout=1800,
                check=False,
            )
            finished = time.monotonic()
        finally:
            os.killpg(lab.pid, signal.SIGTERM)
            lab.wait(timeout=60)
        if ran.returncode != 0:
            print(ran.stdout[-3000:], ran.stderr[-3000:], file=sys.stderr)
            return 1
        cells = json.loads(ran.stdout.strip().splitlines()[-1])
    fetched = received_bytes() - bytes_before
    lines = [
        f"# Time to the first lesson (`.venv/bin/python bench/first_lesson.py{' --remove-standins' * remove}`)",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M')} on {os.cpu_count()} CPUs ({platform.machine()}); "
        f"{engine}; bases of 01 absent at the start: {', '.join(absent) or 'none'}.",
        "",
        "| step | seconds |",
        "| --- | --- |",
        f"| git clone | {cloned - started:.1f} |",
        f"| make lab until JupyterLab answers (venv, engine check) | {lab_ready - cloned:.1f} |",
        *(f"| notebook 01, cell {c['cell']}: `{c['source'].splitlines()[0]}` | {c['seconds']} |" for c in cells),
        f"| **total, clone to the first build result** | **{finished - started:.1f}** |",
        "",
        f"Bytes received by the machine meanwhile: {fetched / 1e6:.1f} MB.",
        "",
    ]
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
