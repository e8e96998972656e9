#!/usr/bin/env python3
"""`make bench`: measure, in one run, what the workbook's sample apps cost and how fast the
helpers build them. Not a test: it asserts nothing, it reports (goal met: yes / NO).

For every app variant (`apps/*/Dockerfile*`):

- image size, payload size and their ratio. The payload is what the app needs to run:
  * Go and C: the compiled binary, read from the `build` stage (`--target build`, then
    `stat` on the file the final stage copies), or from the final image for single-stage
    Dockerfiles;
  * Python: the interpreter binary (and libpython when shared), the standard library, every
    site-/dist-packages folder on sys.path without the packaging tools (pip, setuptools,
    wheel), and the app's WORKDIR;
  * Node.js: the node binary and the app's WORKDIR (its node_modules included); npm is not
    counted.
  Shared system libraries (libc, libssl, ...) are counted as base, not payload.
- cold build (no cache), warm no-op rebuild, and rebuild after a one-line source change
  (a comment appended to the app's main source file in a copy made with `wb.work_copy`);
- `wb.build` against the same `docker buildx build` typed on the command line, both warm,
  interleaved.

Every timing is the median of several runs, with min and max. Results go to
bench/results/<store>/latest.md and latest.csv, charts to bench/results/<store>/*.png, raw
samples to bench/results/<store>/raw/ (untracked), where <store> is the engine's image store
(containerd or classic); README.md shows one headline table per store. Builds run as learner
`bench` (wb-bench/... tags), removed at the end unless --keep-images.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("WORKBOOK_LEARNER", "bench")

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

import helpers as wb
from helpers.paths import ROOT, STATE

RESULTS = Path(__file__).resolve().parent / "results"
ANALYSIS_BENCH = Path(__file__).resolve().parent / "analysis_bench.py"

SIZE_RATIO_GOAL = 1.02  # Go on scratch: image <= 1.02 x binary
CHANGE_GOAL = 1.5  # optimized Dockerfiles: change rebuild <= 1.5 x no-op rebuild
OVERHEAD_GOAL = 1.05  # wb.build <= 1.05 x docker buildx build
CHEAP_SECONDS = 30.0  # a cold build faster than this is "cheap": 5 change rebuilds instead of 3

SOURCES = ("app.py", "server.js", "main.go", "hello.c")
COMMENT = {".py": "#", ".js": "//", ".go": "//", ".c": "//"}
PACKAGING_TOOLS = ("pip", "setuptools", "wheel", "_distutils_hack", "pkg_resources")

PYTHON_PAYLOAD = """
import os, site, sys, sysconfig
skip = {PACKAGING}
seen, total = set(), 0
def add(path):
    global total
    try:
        info = os.lstat(path)
    except OSError:
        return
    if (info.st_dev, info.st_ino) not in seen:
        seen.add((info.st_dev, info.st_ino))
        total += info.st_size
def walk(top):
    if os.path.isfile(top):
        return add(top)
    for folder, dirs, files in os.walk(top):
        if folder.rstrip("/").endswith(("-packages",)):
            dirs[:] = [d for d in dirs if d.split("-")[0] not in skip]
            files = [f for f in files if f.split(".")[0] not in skip]
        for name in files:
            add(os.path.join(folder, name))
add(os.path.realpath(sys.executable))
lib = os.path.join(sysconfig.get_config_var("LIBDIR") or "", sysconfig.get_config_var("LDLIBRARY") or "")
if os.path.isfile(lib):
    add(os.path.realpath(lib))
folders = {sysconfig.get_paths()["stdlib"], *[p for p in sys.path if p and os.path.isdir(p)]}
if os.getcwd() != "/":
    folders.add(os.getcwd())
for folder in sorted(folders):
    walk(folder)
print(total)
""".replace("{PACKAGING}", repr(set(PACKAGING_TOOLS)))

NODE_PAYLOAD = """
const fs = require("fs"), path = require("path");
const seen = new Set(); let total = 0;
function add(p) {
  let s; try { s = fs.lstatSync(p); } catch { return; }
  const key = s.dev + ":" + s.ino; if (seen.has(key)) return; seen.add(key);
  if (s.isDirectory()) { for (const n of fs.readdirSync(p)) add(path.join(p, n)); } else { total += s.size; }
}
add(fs.realpathSync(process.execPath));
if (process.cwd() !== "/") add(process.cwd());
console.log(total);
"""


# ------------------------------------------------------------------------------ data


@dataclass
class Samples:
    values: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.values) if self.values else float("nan")

    @property
    def low(self) -> float:
        return min(self.values) if self.values else float("nan")

    @property
    def high(self) -> float:
        return max(self.values) if self.values else float("nan")

    def text(self, unit: str = "s", digits: int = 2) -> str:
        if not self.values:
            return "—"
        return f"{self.median:.{digits}f} {unit} [{self.low:.{digits}f}-{self.high:.{digits}f}] (n={len(self.values)})"


@dataclass
class Variant:
    app: str
    dockerfile: str
    language: str
    naive: bool
    final_base: str
    image_bytes: int = 0
    payload_bytes: int = 0
    payload_what: str = ""
    cold: Samples = field(default_factory=Samples)
    noop: Samples = field(default_factory=Samples)
    change: Samples = field(default_factory=Samples)
    change_rebuilt_steps: list[int] = field(default_factory=list)
    helper: Samples = field(default_factory=Samples)
    cli: Samples = field(default_factory=Samples)
    errors: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.app}/{self.dockerfile}"

    @property
    def tag(self) -> str:
        variant = self.dockerfile.removeprefix("Dockerfile").lstrip(".") or "latest"
        return wb.image_name(self.app, variant)

    @property
    def kind(self) -> str:
        return "naive" if self.naive else "optimized"

    @property
    def size_ratio(self) -> float:
        return self.image_bytes / self.payload_bytes if self.payload_bytes else float("nan")

    @property
    def size_goal_applies(self) -> bool:
        return self.language == "go" and self.final_base == "scratch"

    @property
    def change_ratio(self) -> float:
        return self.change.median / self.noop.median if self.change.values and self.noop.values else float("nan")

    @property
    def overhead_ratio(self) -> float:
        return self.helper.median / self.cli.median if self.helper.values and self.cli.values else float("nan")


def met(ok: bool) -> str:
    return "yes" if ok else "NO"


def say(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", flush=True)


# ------------------------------------------------------------------------------ discovery


def discover(only: Sequence[str]) -> list[Variant]:
    variants = []
    for path in sorted(wb.paths.APPS.glob("*/Dockerfile*")):
        app = path.parent.name
        if only and app not in only and f"{app}/{path.name}" not in only:
            continue
        folder = path.parent
        language = (
            "go"
            if (folder / "go.mod").exists()
            else "node"
            if (folder / "package.json").exists()
            else "c"
            if list(folder.glob("*.c"))
            else "python"
        )
        froms = re.findall(r"^FROM\s+(?:--platform=\S+\s+)?(\S+)", path.read_text(), re.MULTILINE)
        naive = any(word in path.name for word in ("naive", "single"))
        variants.append(Variant(app, path.name, language, naive, froms[-1] if froms else "?"))
    return variants


def source_file(folder: Path) -> Path:
    for name in SOURCES:
        if (folder / name).exists():
            return folder / name
    raise SystemExit(f"no source file to change in {folder}")


# ------------------------------------------------------------------------------ measuring


def timed_build(
    context: Path, dockerfile: str, tag: str, *, no_cache: bool = False, target: str | None = None
) -> wb.BuildResult:
    return wb.build(context, dockerfile, tag=tag, quiet=True, no_cache=no_cache, target=target)


def measure_builds(variant: Variant, runs: argparse.Namespace) -> None:
    work = wb.work_copy(variant.app, f"{variant.app}-{variant.dockerfile.lower()}")
    source = source_file(work)
    mark = COMMENT[source.suffix]
    say(f"{variant.name}: {runs.cold} cold builds")
    for _ in range(runs.cold):
        variant.cold.values.append(timed_build(work, variant.dockerfile, variant.tag, no_cache=True).seconds)
    timed_build(work, variant.dockerfile, variant.tag)  # warm-up: the cache holds this exact tree
    change_runs = runs.change if variant.cold.median < CHEAP_SECONDS else min(3, runs.change)
    say(f"{variant.name}: {runs.noop} no-op and {change_runs} change rebuilds, interleaved")
    for number in range(max(runs.noop, change_runs)):
        if number < runs.noop:
            variant.noop.values.append(timed_build(work, variant.dockerfile, variant.tag).seconds)
        if number < change_runs:
            with source.open("a") as handle:
                handle.write(f"\n{mark} bench: one-line change {number} at {time.time_ns()}\n")
            result = timed_build(work, variant.dockerfile, variant.tag)
            variant.change.values.append(result.seconds)
            variant.change_rebuilt_steps.append(len(result.steps) - result.cached_steps)
    shutil.rmtree(work, ignore_errors=True)


def measure_sizes(variant: Variant) -> None:
    ref = timed_build(wb.app_dir(variant.app), variant.dockerfile, variant.tag).ref
    variant.image_bytes = int(wb.images.unpacked_bytes(wb.images.get(ref)))
    if variant.language in ("go", "c"):
        variant.payload_bytes, variant.payload_what = binary_size(variant, ref)
    elif variant.language == "python":
        out = wb.run_once(ref, ["-c", PYTHON_PAYLOAD], entrypoint=["python3"], user="0")
        variant.payload_bytes = int(out.output.strip().splitlines()[-1])
        variant.payload_what = "python + stdlib + site-packages (no pip) + WORKDIR"
    else:
        out = wb.run_once(ref, ["-e", NODE_PAYLOAD], entrypoint=["node"], user="0")
        variant.payload_bytes = int(out.output.strip().splitlines()[-1])
        variant.payload_what = "node binary + WORKDIR (with node_modules)"


def binary_size(variant: Variant, final_ref: str) -> tuple[int, str]:
    text = (wb.app_dir(variant.app) / variant.dockerfile).read_text()
    copied = re.search(r"^COPY\s+--from=build\s+(\S+)\s+\S+", text, re.MULTILINE)
    if copied:
        build_ref = wb.image_name(variant.app, f"{variant.tag.rsplit(':', 1)[1]}-build-stage")
        timed_build(wb.app_dir(variant.app), variant.dockerfile, build_ref, target="build")
        ref, path, where = build_ref, copied.group(1), "binary, from the build stage"
    else:
        entrypoint = wb.images.config(final_ref)["Entrypoint"] or wb.images.config(final_ref)["Cmd"]
        ref, path, where = final_ref, str(entrypoint[0]), "binary, from the final image"
    out = wb.run_once(ref, ["-c", "%s", path], entrypoint=["stat"])
    if out.exit_code != 0:
        raise RuntimeError(f"stat {path} in {ref} failed: {out.output}")
    return int(out.output.strip()), f"{where} ({path})"


def cli_build(context: Path, dockerfile: str, tag: str) -> float:
    command = ["docker", "buildx", "build", "--progress=plain", "--load", "-t", tag, "-f", str(context / dockerfile)]
    started = time.perf_counter()
    done = subprocess.run([*command, str(context)], capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-1500:]}")
    return seconds


def measure_overhead(variant: Variant, pairs: int) -> None:
    context = wb.app_dir(variant.app)
    cli_tag = variant.tag.replace(f"/{variant.app}:", f"/{variant.app}-cli:")

    def helper() -> float:
        started = time.perf_counter()
        timed_build(context, variant.dockerfile, variant.tag)
        return time.perf_counter() - started

    helper()  # warm both, untimed
    cli_build(context, variant.dockerfile, cli_tag)
    say(f"{variant.name}: {pairs} interleaved pairs wb.build / docker buildx build")
    for number in range(pairs):
        order: list[tuple[Samples, Callable[[], float]]] = [
            (variant.helper, helper),
            (variant.cli, lambda: cli_build(context, variant.dockerfile, cli_tag)),
        ]
        for samples, action in order if number % 2 == 0 else reversed(order):
            samples.values.append(action())
    wb.client().images.remove(cli_tag)


# ------------------------------------------------------------------------------ extras


def analysis_table() -> str:
    """bench/analysis_bench.py (another engineer's), run as is: its stdout is included."""
    if not ANALYSIS_BENCH.exists():
        return ""
    say("running bench/analysis_bench.py")
    done = subprocess.run(
        [sys.executable, str(ANALYSIS_BENCH)], capture_output=True, text=True, cwd=ROOT, timeout=3600, check=False
    )
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        return f"`bench/analysis_bench.py` FAILED (exit code {done.returncode}):\n\n```\n{tail}\n```\n"
    return done.stdout.strip() + "\n"


@dataclass
class NotebookRuns:
    total: Samples = field(default_factory=Samples)
    per_notebook: dict[str, Samples] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


def measure_notebooks(runs: int) -> NotebookRuns:
    result = NotebookRuns()
    with tempfile.TemporaryDirectory(prefix="workbook-bench-nb-") as tmp:
        for number in range(runs + 1):  # the first run warms caches and is not counted
            report = Path(tmp) / f"run-{number}.xml"
            command = [
                sys.executable,
                "-m",
                "pytest",
                "notebooks",
                "--nbval",
                "--nbval-sanitize-with",
                "tests/nbval-sanitize.cfg",
                "--nbval-current-env",
                "-p",
                "no:cacheprovider",
                "-q",
                f"--junitxml={report}",
            ]
            say(f"notebook suite, run {number + 1}/{runs + 1}{' (warm-up)' if number == 0 else ''}")
            started = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
            seconds = time.perf_counter() - started
            times, failed = _junit(report)
            if done.returncode != 0:
                summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else f"exit {done.returncode}"
                where = ", ".join(failed) or "see pytest's output"
                result.failures.append(f"run {number + 1}{' (warm-up)' if number == 0 else ''}: {summary} [{where}]")
            if number == 0:
                continue
            result.total.values.append(seconds)
            for notebook, spent in times.items():
                result.per_notebook.setdefault(notebook, Samples()).values.append(spent)
    return result


def _junit(report: Path) -> tuple[dict[str, float], list[str]]:
    """Seconds spent in each notebook's cells, and the cells that failed (notebook::Cell N)."""
    times: dict[str, float] = {}
    failed: list[str] = []
    if not report.exists():
        return times, failed
    for case in ElementTree.parse(report).iter("testcase"):
        name = case.get("file") or case.get("classname") or "?"
        notebook = name.split("::")[0].removeprefix("notebooks.").split("/")[-1]
        times[notebook] = times.get(notebook, 0.0) + float(case.get("time") or 0)
        if case.find("failure") is not None or case.find("error") is not None:
            failed.append(f"{notebook}::{case.get('name', '?')}")
    return times, failed


# ------------------------------------------------------------------------------ report


def engine_line() -> str:
    try:
        info = wb.client().version()
        buildx = subprocess.run(["docker", "buildx", "version"], capture_output=True, text=True, check=False)
        return f"Docker {info.get('Version')} (API {info.get('ApiVersion')}), {buildx.stdout.strip()}"
    except Exception as exc:  # the report still says what it can
        return f"engine: {exc}"


def write_results(
    variants: list[Variant],
    args: argparse.Namespace,
    started: float,
    loads: tuple[str, str],
    analysis: str,
    notebooks: NotebookRuns | None,
    out: Path,
) -> None:
    raw = out / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    rows = csv_rows(variants, notebooks)
    with (out / "latest.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0].keys()))
        writer.writeheader()
        writer.writerows(rows)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (raw / f"{stamp}.json").write_text(
        json.dumps([{**vars(v), **{k: vars(getattr(v, k)) for k in SAMPLE_FIELDS}} for v in variants], default=str)
    )
    charts(variants, out)
    (out / "latest.md").write_text(markdown(variants, args, started, loads, analysis, notebooks))
    update_readme(
        variants,
        out.name,
        f"Measured {time.strftime('%Y-%m-%d')} by `make bench` on {os.cpu_count()} CPUs ({platform.machine()}), "
        f"{engine_line()}.",
    )


SAMPLE_FIELDS = ("cold", "noop", "change", "helper", "cli")


def csv_rows(variants: list[Variant], notebooks: NotebookRuns | None) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []

    def row(variant: str, metric: str, unit: str, samples: Samples | None, value: float, goal: str, ok: str) -> None:
        rows.append(
            {
                "variant": variant,
                "metric": metric,
                "unit": unit,
                "n": len(samples.values) if samples else 1,
                "median": round(value, 4),
                "min": round(samples.low, 4) if samples else "",
                "max": round(samples.high, 4) if samples else "",
                "goal": goal,
                "goal_met": ok,
            }
        )

    for v in variants:
        row(v.name, "image_size", "MB", None, v.image_bytes / 1e6, "", "")
        row(v.name, "payload_size", "MB", None, v.payload_bytes / 1e6, "", "")
        size_goal = f"<= {SIZE_RATIO_GOAL}" if v.size_goal_applies else ""
        row(v.name, "image_over_payload", "x", None, v.size_ratio, size_goal, size_ok(v))
        row(v.name, "cold_build", "s", v.cold, v.cold.median, "", "")
        row(v.name, "noop_rebuild", "s", v.noop, v.noop.median, "", "")
        row(v.name, "change_rebuild", "s", v.change, v.change.median, "", "")
        change_goal = f"<= {CHANGE_GOAL}" if not v.naive else "(naive: shown)"
        row(v.name, "change_over_noop", "x", None, v.change_ratio, change_goal, change_ok(v))
        row(v.name, "wb_build_warm", "s", v.helper, v.helper.median, "", "")
        row(v.name, "cli_build_warm", "s", v.cli, v.cli.median, "", "")
        row(v.name, "wb_over_cli", "x", None, v.overhead_ratio, f"<= {OVERHEAD_GOAL}", overhead_ok(v))
    if notebooks:
        row("notebooks", "suite_wall_warm", "s", notebooks.total, notebooks.total.median, "", "")
        for name, samples in sorted(notebooks.per_notebook.items()):
            row(f"notebooks/{name}", "cells_time_warm", "s", samples, samples.median, "", "")
    return rows


def size_ok(v: Variant) -> str:
    return met(v.size_ratio <= SIZE_RATIO_GOAL) if v.size_goal_applies else "n/a"


def change_ok(v: Variant) -> str:
    return met(v.change_ratio <= CHANGE_GOAL) if not v.naive else "n/a"


def overhead_ok(v: Variant) -> str:
    return met(v.overhead_ratio <= OVERHEAD_GOAL) if v.helper.values else "n/a"


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def markdown(
    variants: list[Variant],
    args: argparse.Namespace,
    started: float,
    loads: tuple[str, str],
    analysis: str,
    notebooks: NotebookRuns | None,
) -> str:
    minutes = (time.monotonic() - started) / 60
    parts = [
        "# Benchmark: image sizes, build times, helper overhead\n",
        f"Measured {time.strftime('%Y-%m-%d %H:%M %Z')} by `make bench` (`bench/bench.py`) in {minutes:.0f} min on "
        f"{os.cpu_count()} CPUs ({platform.machine()}), {engine_line()}. Load average at start {loads[0]}, "
        f"at end {loads[1]} (the machine is shared: timings carry that noise). Runs: cold {args.cold}, "
        f"no-op {args.noop}, change {args.change} (3 where a cold build exceeds {CHEAP_SECONDS:.0f} s), "
        f"wb/CLI pairs {args.pairs}. Cells: median [min-max] (n).\n",
        "## Sizes\n",
        "Payload: Go/C the compiled binary; Python the interpreter, stdlib, site-packages (without "
        "pip/setuptools/wheel) and WORKDIR; Node.js the node binary and WORKDIR (node_modules included). "
        f"Goal: a Go image on scratch is at most {SIZE_RATIO_GOAL}x its binary.\n",
        table(
            ["variant", "kind", "image MB", "payload MB", "payload", "image / payload", "goal", "goal met"],
            [
                (
                    v.name,
                    v.kind,
                    f"{v.image_bytes / 1e6:.1f}",
                    f"{v.payload_bytes / 1e6:.1f}",
                    v.payload_what,
                    f"{v.size_ratio:.3f}",
                    f"≤ {SIZE_RATIO_GOAL}" if v.size_goal_applies else "—",
                    size_ok(v),
                )
                for v in variants
            ],
        ),
        "## Build times\n",
        "Cold: `no_cache=True`. No-op: the same tree again. Change: one comment line appended to the main "
        f"source file, then rebuilt (interleaved with the no-op runs). Goal for optimized Dockerfiles: change "
        f"≤ {CHANGE_GOAL}x no-op; naive ones are shown for comparison.\n",
        table(
            ["variant", "kind", "cold", "no-op", "change", "steps rebuilt", "change / no-op", "goal met"],
            [
                (
                    v.name,
                    v.kind,
                    v.cold.text(),
                    v.noop.text(),
                    v.change.text(),
                    f"{statistics.median(v.change_rebuilt_steps):.0f}" if v.change_rebuilt_steps else "—",
                    f"{v.change_ratio:.2f}x",
                    change_ok(v),
                )
                for v in variants
            ],
        ),
        "## Helper overhead\n",
        f"`wb.build` against `docker buildx build --progress=plain --load -t TAG -f DOCKERFILE CONTEXT`, both "
        f"warm, interleaved (alternating which goes first). Goal: ≤ {OVERHEAD_GOAL}x.\n",
        table(
            ["variant", "wb.build", "docker buildx build", "ratio", "goal met"],
            [(v.name, v.helper.text(), v.cli.text(), f"{v.overhead_ratio:.3f}", overhead_ok(v)) for v in variants],
        ),
    ]
    errors = [(v.name, error) for v in variants for error in v.errors]
    if errors:
        parts += ["## Failures\n", table(["variant", "error"], [(n, e.replace("\n", " ")[:300]) for n, e in errors])]
    if analysis:
        if not analysis.lstrip().startswith("#"):
            parts.append("## Analysis helpers\n")
        parts += ["(from `bench/analysis_bench.py`, run by this benchmark)\n", analysis]
    if notebooks is not None:
        parts += [
            "## Notebook suite (warm)\n",
            f"`pytest notebooks --nbval ...`, {len(notebooks.total.values)} timed runs after one warm-up: "
            f"wall time {notebooks.total.text()}."
            + (f" Failures: {'; '.join(notebooks.failures)}." if notebooks.failures else " No failures.")
            + "\n",
            table(["notebook", "time in cells"], [(n, s.text()) for n, s in sorted(notebooks.per_notebook.items())]),
        ]
    else:
        parts.append("Notebook suite: not measured (pass `--notebooks`; it is slow).\n")
    parts.append("Charts: `sizes.png`, `build_times.png`, `helper_overhead.png` beside this file.\n")
    return "\n".join(parts)


README = ROOT / "README.md"


def update_readme(variants: list[Variant], store: str, machine: str) -> None:
    """Put the latest headline table into README.md between this store's bench markers."""
    start, end = f"<!-- bench:{store}:start -->", f"<!-- bench:{store}:end -->"
    rows = [
        (
            v.name,
            f"{v.image_bytes / 1e6:.1f}",
            f"{v.size_ratio:.3f} ({size_ok(v)})",
            f"{v.change_ratio:.2f}x ({change_ok(v)})",
            f"{v.overhead_ratio:.3f} ({overhead_ok(v)})",
        )
        for v in variants
    ]
    block = "\n".join(
        [
            start,
            f"**{store} image store.** {machine} Full results: "
            f"[bench/results/{store}/latest.md](bench/results/{store}/latest.md).\n",
            table(
                [
                    "variant",
                    "image MB",
                    f"image / payload (≤ {SIZE_RATIO_GOAL} for Go on scratch)",
                    f"change / no-op rebuild (≤ {CHANGE_GOAL}x, optimized)",
                    f"wb.build / CLI (≤ {OVERHEAD_GOAL})",
                ],
                rows,
            ).rstrip(),
            end,
        ]
    )
    text = README.read_text()
    if start in text and end in text:
        head, rest = text.split(start, 1)
        text = head + block + rest.split(end, 1)[1]
        README.write_text(text)


def charts(variants: list[Variant], out: Path) -> None:
    """sizes.png, build_times.png and helper_overhead.png in `out`, drawn by helpers.analysis.charts."""
    names = [v.name for v in variants]
    timed = {"cold": "cold", "change": "change", "no-op": "noop"}  # legend -> Variant field

    def timing(statistic: str) -> pd.DataFrame:  # "median", "low" or "high" of each Samples
        columns = {label: [getattr(getattr(v, field), statistic) for v in variants] for label, field in timed.items()}
        return pd.DataFrame(columns, index=names)

    sizes = pd.DataFrame(
        {"image": [v.image_bytes / 1e6 for v in variants], "payload": [v.payload_bytes / 1e6 for v in variants]},
        index=names,
    )
    overhead = pd.DataFrame(
        {"wb.build": [v.helper.median for v in variants], "docker buildx build": [v.cli.median for v in variants]},
        index=names,
    )
    figures = {
        "sizes.png": wb.charts.grouped_bars(
            sizes, xlabel="MB (log scale)", title="Image size against what the app needs to run", log=True
        ),
        "build_times.png": wb.charts.grouped_bars(
            timing("median"),
            xlabel="seconds (median, min-max; log scale)",
            title="Build times: cold, after a one-line change, no-op",
            log=True,
            low=timing("low"),
            high=timing("high"),
        ),
        "helper_overhead.png": wb.charts.grouped_bars(
            overhead, xlabel="seconds, warm (median)", title="Helper overhead: wb.build against the command line"
        ),
    }
    for name, figure in figures.items():
        figure.savefig(out / name, dpi=110)
        plt.close(figure)


# ------------------------------------------------------------------------------ main


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--cold", type=int, default=3, help="cold (no-cache) builds per variant")
    parser.add_argument("--noop", type=int, default=5, help="no-op rebuilds per variant")
    parser.add_argument("--change", type=int, default=5, help="one-line-change rebuilds (3 for slow builds)")
    parser.add_argument("--pairs", type=int, default=5, help="interleaved wb.build / CLI pairs per variant")
    parser.add_argument("--only", nargs="*", default=[], help="only these apps (or app/Dockerfile)")
    parser.add_argument("--notebooks", action="store_true", help="also time the notebook suite (slow)")
    parser.add_argument("--notebook-runs", type=int, default=3, help="timed notebook suite runs (after a warm-up)")
    parser.add_argument("--keep-images", action="store_true", help="keep the wb-bench/... images afterwards")
    args = parser.parse_args(argv)
    if not wb.engine.available():
        print("No Docker engine answers: run `make setup` (or `python -m helpers doctor`).", file=sys.stderr)
        return 1
    if not wb.engine.buildx_available():
        print("docker buildx is missing: the benchmark measures BuildKit builds.", file=sys.stderr)
        return 1
    started = time.monotonic()
    first_load = load()
    variants = discover(args.only)
    say(f"{len(variants)} variants: {', '.join(v.name for v in variants)}")
    for variant in variants:
        for step in (measure_sizes, lambda v: measure_builds(v, args), lambda v: measure_overhead(v, args.pairs)):
            try:
                step(variant)
            except (wb.errors.WorkbookError, RuntimeError, ValueError) as exc:
                variant.errors.append(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
                say(f"{variant.name}: FAILED {variant.errors[-1]}")
    analysis = analysis_table()
    notebooks = measure_notebooks(args.notebook_runs) if args.notebooks else None
    out = RESULTS / wb.engine.image_store()
    write_results(variants, args, started, (first_load, load()), analysis, notebooks, out)
    if not args.keep_images:
        say(str(wb.cleanup(who=wb.learner())))
    shutil.rmtree(STATE / "work" / wb.learner(), ignore_errors=True)
    say(f"wrote {out / 'latest.md'}")
    print((out / "latest.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
