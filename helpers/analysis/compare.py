"""Compare two images layer by layer: which layers they share (same diff id, stored once), and the sizes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from helpers.analysis.layerfiles import ImageAnalysis, analyze
from helpers.replay import replayable

COLUMNS = ["diff_id", "layer_a", "layer_b", "instruction", "size_a_bytes", "size_b_bytes", "difference_bytes", "shared"]


def _analysis(image: ImageAnalysis | str | Path) -> ImageAnalysis:
    return image if isinstance(image, ImageAnalysis) else analyze(image)


@replayable(local=True)
def compare(a: ImageAnalysis | str | Path, b: ImageAnalysis | str | Path) -> pd.DataFrame:
    """One row per distinct layer of either image: its position in each (<NA> when absent), its size in each,
    the difference (b minus a) and whether both share it. A's layers first, then the layers only B has."""
    first, second = _analysis(a), _analysis(b)
    in_b = {layer.diff_id: layer for layer in second.layers}
    rows, seen = [], set()
    for layer in first.layers:
        other = in_b.get(layer.diff_id)
        rows.append(
            _row(
                layer.diff_id,
                layer.number,
                other.number if other else None,
                layer.instruction,
                layer.size_bytes,
                other.size_bytes if other else None,
            )
        )
        seen.add(layer.diff_id)
    for layer in second.layers:
        if layer.diff_id not in seen:
            rows.append(_row(layer.diff_id, None, layer.number, layer.instruction, None, layer.size_bytes))
            seen.add(layer.diff_id)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    for column in ("layer_a", "layer_b", "size_a_bytes", "size_b_bytes"):
        frame[column] = frame[column].astype("Int64")
    return frame


def _row(
    diff_id: str, layer_a: int | None, layer_b: int | None, instruction: str, size_a: int | None, size_b: int | None
) -> dict[str, object]:
    return {
        "diff_id": diff_id.removeprefix("sha256:")[:12],
        "layer_a": layer_a,
        "layer_b": layer_b,
        "instruction": instruction[:60],
        "size_a_bytes": size_a,
        "size_b_bytes": size_b,
        "difference_bytes": (size_b or 0) - (size_a or 0),
        "shared": layer_a is not None and layer_b is not None,
    }


@replayable(local=True)
def summary(a: ImageAnalysis | str | Path, b: ImageAnalysis | str | Path) -> pd.DataFrame:
    """Totals: each image's size, the bytes they share (stored and pulled once), and what each adds alone."""
    first, second = _analysis(a), _analysis(b)
    table = compare(first, second)
    shared = table[table.shared]
    figures = {
        "layers": (len(first.layers), len(second.layers)),
        "shared layers": (len(shared), len(shared)),
        "size (bytes)": (first.size_bytes, second.size_bytes),
        "shared bytes": (int(shared.size_a_bytes.sum()), int(shared.size_b_bytes.sum())),
        "own bytes": (
            first.size_bytes - int(shared.size_a_bytes.sum()),
            second.size_bytes - int(shared.size_b_bytes.sum()),
        ),
    }
    return pd.DataFrame(
        {
            "figure": list(figures),
            first.ref or "a": [pair[0] for pair in figures.values()],
            second.ref or "b": [pair[1] for pair in figures.values()],
            "difference (b - a)": [pair[1] - pair[0] for pair in figures.values()],
        }
    )


__all__ = ["compare", "summary"]
