"""Benchmark: helpers.layerfiles.analyze() streaming from the engine vs a plain `docker save > /dev/null`.

On the largest catalog image, in one run: the wall time of `docker save IMAGE > /dev/null`, the wall time of the
analysis from the engine stream, their ratio (goal <= 1.5x), and the analysis' peak memory (goal <= 200 MB), each
the median of N runs with min and max. The analysis runs in a fresh subprocess so that ru_maxrss is its own peak;
the RSS right after the imports (Python, docker, pandas, matplotlib) is shown too, and the difference is what the
analysis itself added. One `docker save` runs first, uncounted, so every run sees a warm page cache.

    .venv/bin/python bench/analysis_bench.py [--image golang:1.27-trixie] [--runs 3]

Prints a markdown table and writes it to bench/results/analysis.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "analysis.md"

CHILD = """
import json, resource, sys, time
from helpers.analysis import layerfiles
baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.monotonic()
analysis = layerfiles.analyze(sys.argv[1])
seconds = time.monotonic() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
entries = sum(len(layer.entries) for layer in analysis.layers)
print(json.dumps({"seconds": seconds, "peak_kb": peak, "baseline_kb": baseline, "entries": entries,
                  "layers": len(analysis.layers), "size_bytes": analysis.size_bytes,
                  "efficiency": analysis.efficiency, "wasted_bytes": analysis.wasted_bytes}))
"""


def docker_save_seconds(image: str) -> float:
    started = time.monotonic()
    subprocess.run(["docker", "save", image], stdout=subprocess.DEVNULL, check=True)
    return time.monotonic() - started


def analysis_run(image: str) -> dict[str, float]:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", CHILD, image], cwd=ROOT, capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_seconds"] = time.monotonic() - started
    return result


def spread(values: list[float], digits: int = 2) -> str:
    """median (min - max)"""
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f} - {max(values):.{digits}f})"


def table(image: str, saves: list[float], runs: list[dict[str, float]]) -> str:
    seconds = [run["seconds"] for run in runs]
    ratios = [run["seconds"] / save for run, save in zip(runs, saves, strict=True)]
    peak = [run["peak_kb"] / 1024 for run in runs]
    baseline = [run["baseline_kb"] / 1024 for run in runs]
    added = [(run["peak_kb"] - run["baseline_kb"]) / 1024 for run in runs]
    first = runs[0]
    ratio_of_medians = statistics.median(seconds) / statistics.median(saves)
    lines = [
        f"## Layer analysis vs `docker save`: {image}",
        "",
        f"{len(runs)} runs, median (min - max). {first['layers']:.0f} layers, {first['entries']:,.0f} tar entries, "
        f"{first['size_bytes'] / 1e6:,.1f} MB of files; efficiency {first['efficiency']:.4f}, "
        f"wasted {first['wasted_bytes']:,.0f} bytes.",
        "",
        "| measure | value | goal |",
        "| --- | --- | --- |",
        f"| `docker save {image} > /dev/null`, s | {spread(saves)} | |",
        f"| `layerfiles.analyze('{image}')` from the engine stream, s | {spread(seconds)} | |",
        f"| ratio analysis / save (per run) | {spread(ratios)} | <= 1.5 |",
        f"| ratio of the medians | {ratio_of_medians:.2f} | <= 1.5 |",
        f"| analysis process, incl. Python start and imports, s | {spread([r['process_seconds'] for r in runs])} | |",
        f"| peak RSS of the analysis process, MB | {spread(peak, 0)} | <= 200 |",
        f"| RSS after imports (Python, docker, pandas, matplotlib), MB | {spread(baseline, 0)} | |",
        f"| added by the analysis (peak minus after imports), MB | {spread(added, 0)} | |",
        "",
        f"Machine: {platform.machine()}, Python {platform.python_version()}, "
        f"{_docker_version()}. Page cache warmed by one uncounted `docker save`.",
        "",
    ]
    return "\n".join(lines)


def _docker_version() -> str:
    done = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True, text=True)
    return f"Docker engine {done.stdout.strip() or '?'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", default="golang:1.27-trixie")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    docker_save_seconds(args.image)  # warm-up, not counted
    saves, runs = [], []
    for number in range(1, args.runs + 1):
        saves.append(docker_save_seconds(args.image))
        runs.append(analysis_run(args.image))
        print(f"run {number}: save {saves[-1]:.2f} s, analysis {runs[-1]['seconds']:.2f} s", file=sys.stderr)
    text = table(args.image, saves, runs)
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)


if __name__ == "__main__":
    main()
