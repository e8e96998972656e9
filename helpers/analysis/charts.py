"""The workbook's charts (matplotlib): image sizes, layer stacks, build times, and grouped bars
that set several measures of the same things side by side (the benchmark's charts)."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure


def size_bars(
    sizes_mb: Mapping[str, float],
    title: str = "Image size",
    reference_mb: float | None = None,
    reference_label: str = "",
) -> Figure:
    """Horizontal bars, one per image, labelled with their size in MB."""
    names = list(sizes_mb)
    values = [sizes_mb[name] for name in names]
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(names) + 1.2))
    bars = ax.barh(names, values, color="#2a7ab9")
    ax.bar_label(bars, labels=[_human(v) for v in values], padding=3, fontsize=9)
    if reference_mb is not None:
        ax.axvline(reference_mb, color="#c0392b", linestyle="--", linewidth=1)
        ax.text(reference_mb, len(names) - 0.4, f" {reference_label}", color="#c0392b", fontsize=9)
    ax.invert_yaxis()
    ax.set_xlabel("MB")
    ax.set_title(title)
    ax.set_xlim(0, max([*values, reference_mb or 0]) * 1.25 or 1)
    fig.tight_layout()
    return fig


def layer_stack(layers: pd.DataFrame, title: str = "Layers, bottom first") -> Figure:
    """The layer stack drawn as it is stored: the first layer at the bottom, one row per layer,
    bar length = layer size (log scale, so kilobyte layers stay visible beside 100 MB ones)."""
    rows = len(layers)
    fig, ax = plt.subplots(figsize=(9, 0.42 * rows + 1.4))
    raw = layers.size_bytes / 1e6 if "size_bytes" in layers else layers.size_mb
    sizes = [max(float(size), 0.0) for size in raw]
    shown = [max(size, 0.00001) for size in sizes]
    labels = [f"{layer}. {str(text)[:60]}" for layer, text in zip(layers.layer, layers.instruction, strict=True)]
    bars = ax.barh(range(rows), shown, color=plt.get_cmap("tab20")(range(rows)), edgecolor="white")
    ax.bar_label(bars, labels=[_human(size) for size in sizes], padding=3, fontsize=8)
    ax.set_yticks(range(rows), labels, fontsize=8)
    ax.set_xscale("log")
    ax.set_xlim(0.000008, max(shown) * 8)
    ax.set_xlabel("layer size, MB (log scale)")
    ax.set_title(f"{title}  (total {sum(sizes):,.1f} MB)")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    return fig


def _human(size_mb: float) -> str:
    if size_mb >= 1:
        return f"{size_mb:,.1f} MB"
    if size_mb >= 0.001:
        return f"{size_mb * 1000:,.1f} kB"
    return f"{size_mb * 1e6:,.0f} B"


def build_times(
    times: pd.DataFrame, x: str, y: str = "seconds", hue: str | None = None, title: str = "Build time"
) -> Figure:
    """Grouped bars of build times: one group per `x`, one bar per `hue`."""
    fig, ax = plt.subplots(figsize=(8, 3.8))
    if hue:
        pivot = times.pivot_table(index=x, columns=hue, values=y, aggfunc="median", sort=False)
        pivot.plot.bar(ax=ax, rot=0)
    else:
        ax.bar(times[x].astype(str), times[y], color="#2a7ab9")
    ax.set_ylabel("seconds")
    ax.set_title(title)
    for container in ax.containers:
        ax.bar_label(container, fmt="%.1f", fontsize=8, padding=2)
    fig.tight_layout()
    return fig


def grouped_bars(
    values: pd.DataFrame,
    *,
    xlabel: str,
    title: str,
    log: bool = False,
    low: pd.DataFrame | None = None,
    high: pd.DataFrame | None = None,
) -> Figure:
    """Horizontal bars, one row per index entry of `values` (first on top) and one bar per
    column, e.g. rows = images, columns = "image" and "payload". With `low` and `high` (same
    rows and columns), each bar gets a whisker from low to high, e.g. the min and max of the
    samples behind a median. Missing values (NaN) draw no bar."""
    rows, series = [str(row) for row in values.index], list(values.columns)
    positions = range(len(rows))
    width = 0.8 / max(len(series), 1)
    fig, ax = plt.subplots(figsize=(9, (0.25 + 0.1 * len(series)) * len(rows) + 1.5))
    for number, name in enumerate(series):
        offset = (number - (len(series) - 1) / 2) * width
        column = values[name].astype(float)
        whiskers = None
        if low is not None and high is not None:
            whiskers = [(column - low[name]).clip(lower=0).tolist(), (high[name] - column).clip(lower=0).tolist()]
        ax.barh([p + offset for p in positions], column.tolist(), width, xerr=whiskers, label=str(name))
    ax.set_yticks(list(positions), rows)
    ax.invert_yaxis()  # the first row on top, as in a table
    if log:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=max(len(series), 1), frameon=False)
    fig.tight_layout()
    return fig
