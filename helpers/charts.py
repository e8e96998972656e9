"""The workbook's charts (matplotlib): image sizes, layer stacks, build times."""

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
    ax.bar_label(bars, labels=[f"{v:,.1f} MB" for v in values], padding=3, fontsize=9)
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
    """A stacked bar: each layer a block whose height is its size (from images.layers())."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    bottom = 0.0
    cmap = plt.get_cmap("tab20")
    for position, row in enumerate(layers.itertuples(index=False)):
        height = max(float(row.size_mb), 0.0)
        ax.bar(0, height, bottom=bottom, color=cmap(position % 20), width=0.5, edgecolor="white")
        label = f"{row.layer}. {str(row.instruction)[:55]}  ({height:,.2f} MB)"
        ax.annotate(label, xy=(0.27, bottom + height / 2), xytext=(0.32, bottom + height / 2), va="center", fontsize=8)
        bottom += height
    ax.set_xlim(-0.4, 2.6)
    ax.set_xticks([])
    ax.set_ylabel("MB (cumulative)")
    ax.set_title(title)
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    return fig


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
