"""What each layer of an image adds, changes and deletes, and how much space is wasted, as dive measures it.

`analyze(ref_or_path)` streams the image once (from the engine, or from a `docker save` archive without any
engine) and keeps one small record per tar entry, never file contents. Tables come as pandas DataFrames.

Efficiency follows dive (wagoodman/dive, filetree/efficiency.go and image/analysis.go) exactly:
- every leaf path of every layer's own file tree is visited; a whiteout `.wh.NAME` counts for the path NAME with
  size 0 when NAME was a file, or the summed size of everything under NAME (in the layers below) when a directory;
- score = sum over paths of their smallest size / sum over paths of all their sizes (1.0 when that is 0);
- a path seen in two or more layers is inefficient; wasted bytes = the sum of those paths' cumulative sizes;
- a layer's size is the sum of its tar entries' sizes; user-wasted percent = wasted / sizes of all layers but the
  first. Like dive, opaque directories (`.wh..wh..opq`) are ignored by the score.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from helpers.analysis.archive import Bounded, EmptyImage, TarEntry, read_image
from helpers.errors import InvalidInput
from helpers.replay import replayable

WHITEOUT, OPAQUE = ".wh.", ".wh..wh..opq"
ADDED, CHANGED, DELETED = "added", "changed", "deleted"
KINDS = {"0": "file", "7": "file", "1": "hardlink", "2": "symlink", "5": "dir"}


class Entry(NamedTuple):
    """One tar header of a layer. Whiteouts carry the deleted path; `change` is filled in by analyze()."""

    path: str
    kind: str  # file, dir, symlink, hardlink, other, whiteout, opaque, marker
    size: int
    link: str = ""
    change: str = ""
    removed_bytes: int = 0  # for deletions: bytes the deleted path held in the layers below
    removed_files: int = 0


@dataclass
class Layer:
    number: int
    instruction: str
    created_by: str
    diff_id: str
    blob_bytes: int
    entries: list[Entry] = field(repr=False)

    @property
    def size_bytes(self) -> int:
        """dive's layer size: the sum of the sizes in its tar headers."""
        return sum(entry.size for entry in self.entries)

    def count(self, change: str) -> int:
        return sum(1 for entry in self.entries if entry.change == change and entry.kind != "dir")

    def bytes(self, change: str) -> int:
        if change == DELETED:
            return sum(entry.removed_bytes for entry in self.entries if entry.change == DELETED)
        return sum(entry.size for entry in self.entries if entry.change == change)


class Inefficiency(NamedTuple):
    path: str
    occurrences: int  # in how many layers (dive's "Count")
    cumulative_bytes: int
    smallest_bytes: int
    layers: tuple[int, ...]


@dataclass
class ImageAnalysis:
    source: str
    ref: str
    image_id: str
    layout: str
    layers: list[Layer] = field(repr=False)
    efficiency: float
    wasted_bytes: int
    size_bytes: int
    user_size_bytes: int
    inefficiencies: list[Inefficiency] = field(repr=False)
    seconds: float
    config: dict[str, Any] = field(repr=False, default_factory=dict)

    @property
    def wasted_user_percent(self) -> float:
        """dive's user-wasted percent (x100): wasted bytes over the bytes of every layer but the first."""
        return 100.0 * self.wasted_bytes / self.user_size_bytes if self.user_size_bytes else 0.0

    def summary(self) -> str:
        return (
            f"{self.ref or self.source}: {len(self.layers)} layers, {self.size_bytes / 1e6:,.1f} MB, "
            f"efficiency {self.efficiency:.2%}, wasted {self.wasted_bytes / 1e6:,.2f} MB "
            f"({self.wasted_user_percent:.1f}% of the bytes above the first layer)"
        )


# --- reading ------------------------------------------------------------------------------------------------------


def _clean(name: str) -> str:
    parts = [part for part in name.split("/") if part not in ("", ".")]
    return "/" + "/".join(parts)


def _entry(header: TarEntry) -> Entry | None:
    path = _clean(header.name)
    if path == "/":
        return None
    parent, _, base = path.rpartition("/")
    if base == OPAQUE:
        return Entry(parent or "/", "opaque", header.size)
    if base.startswith(WHITEOUT + WHITEOUT):
        return Entry(parent or "/", "marker", header.size)  # other overlay bookkeeping (e.g. aufs .wh..wh.plnk)
    if base.startswith(WHITEOUT):
        return Entry(f"{parent}/{base[len(WHITEOUT) :]}", "whiteout", header.size)
    return Entry(path, KINDS.get(header.type, "other"), header.size, header.linkname)


def collect(entries: Iterable[tuple[TarEntry, Bounded]]) -> list[Entry]:
    """The layer visitor: one Entry per tar header, no file contents."""
    return [entry for header, _ in entries if (entry := _entry(header)) is not None]


@replayable(local=True)
def analyze(source: str | Path, *, image: str | None = None) -> ImageAnalysis:
    """Analyse an engine image (reference) or a saved archive (path; works with no engine at all)."""
    started = time.monotonic()
    archive = read_image(source, collect, image=image)
    if not archive.layers:
        raise EmptyImage("The image has no filesystem layer", where=archive.source)
    layers = [
        Layer(blob.number, blob.instruction, blob.created_by, blob.diff_id, blob.blob_bytes, blob.result)
        for blob in archive.layers
    ]
    _classify(layers)
    score, inefficient = efficiency([layer.entries for layer in layers])
    sizes = [layer.size_bytes for layer in layers]
    return ImageAnalysis(
        source=archive.source,
        ref=archive.ref,
        image_id=archive.image_id,
        layout=archive.layout,
        layers=layers,
        efficiency=score,
        wasted_bytes=sum(item.cumulative_bytes for item in inefficient),
        size_bytes=sum(sizes),
        user_size_bytes=sum(sizes[1:]),
        inefficiencies=inefficient,
        seconds=time.monotonic() - started,
        config=archive.config,
    )


# --- a small file tree, for stacking layers -----------------------------------------------------------------------


class _Node:
    __slots__ = ("children", "is_dir", "size")

    def __init__(self, size: int = 0, is_dir: bool = False) -> None:
        self.size = size
        self.is_dir = is_dir
        self.children: dict[str, _Node] | None = None


class _Tree:
    def __init__(self) -> None:
        self.root = _Node(0, True)

    def get(self, path: str) -> _Node | None:
        node: _Node | None = self.root
        for name in path.split("/")[1:]:
            if node is None or not node.children:
                return None
            node = node.children.get(name)
        return node

    def add(self, path: str, size: int, is_dir: bool) -> None:
        """Set the payload at `path`, creating missing parents bare (size 0, not a directory) as dive does."""
        node = self.root
        for name in path.split("/")[1:]:
            if node.children is None:
                node.children = {}
            node = node.children.setdefault(name, _Node())
        node.size, node.is_dir = size, is_dir

    def remove(self, path: str) -> _Node | None:
        parent_path, _, name = path.rpartition("/")
        parent = self.get(parent_path) if parent_path else self.root
        if parent is None or not parent.children:
            return None
        return parent.children.pop(name, None)


def _walk(node: _Node) -> Iterator[_Node]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if current.children:
            stack.extend(current.children.values())


def _subtree(node: _Node | None) -> tuple[int, int]:
    """(bytes, non-directory count) under and including `node`."""
    if node is None:
        return 0, 0
    nodes = list(_walk(node))
    return sum(n.size for n in nodes), sum(1 for n in nodes if not n.is_dir and not n.children)


# --- added / changed / deleted --------------------------------------------------------------------------------------

_DELETIONS = ("whiteout", "opaque")


def _classify(layers: list[Layer]) -> None:
    """Mark each entry added (new path), changed (path present below) or deleted (whiteout / opaque dir)."""
    stack = _Tree()
    for layer in layers:
        marked = []
        for entry in layer.entries:
            if entry.kind == "marker":
                marked.append(entry)
            elif entry.kind in _DELETIONS:
                marked.append(_deletion(stack, entry))
            else:
                marked.append(entry._replace(change=CHANGED if stack.get(entry.path) is not None else ADDED))
        for entry in marked:
            if entry.kind in _DELETIONS:
                _apply_deletion(stack, entry)
        for entry in marked:
            if entry.kind not in (*_DELETIONS, "marker"):
                stack.add(entry.path, entry.size, entry.kind == "dir")
        layer.entries = marked


def _deletion(stack: _Tree, entry: Entry) -> Entry:
    node = stack.get(entry.path)
    if entry.kind == "opaque":
        children = list(node.children.values()) if node and node.children else []
        if not children:
            return entry  # overlayfs marks new directories opaque too: nothing below is hidden
        removed = [_subtree(child) for child in children]
        size, files = sum(s for s, _ in removed), sum(f for _, f in removed)
    else:
        size, files = _subtree(node)
    return entry._replace(change=DELETED, removed_bytes=size, removed_files=files)


def _apply_deletion(stack: _Tree, entry: Entry) -> None:
    if entry.kind == "whiteout":
        stack.remove(entry.path)
    elif (node := stack.get(entry.path)) is not None:
        node.children = None


# --- dive's efficiency ----------------------------------------------------------------------------------------------


def _dive_nodes(entries: list[Entry]) -> dict[str, tuple[int, bool]]:
    """A layer's own file tree as dive builds it: path -> (size, is_dir), whiteouts keeping their .wh. name,
    opaque markers left out, and parents without a header added bare."""
    nodes: dict[str, tuple[int, bool]] = {}
    for entry in entries:
        if entry.kind in ("opaque", "marker"):
            path, info = entry.path, nodes.get(entry.path, (0, False))
        elif entry.kind == "whiteout":
            parent, _, base = entry.path.rpartition("/")
            path, info = f"{parent}/{WHITEOUT}{base}", (entry.size, False)
        else:
            path, info = entry.path, (entry.size, entry.kind == "dir")
        if path != "/":
            nodes[path] = info
        parent = path.rpartition("/")[0]
        while parent and parent not in nodes:
            nodes[parent] = (0, False)
            parent = parent.rpartition("/")[0]
    return nodes


def efficiency(layers: list[list[Entry]]) -> tuple[float, list[Inefficiency]]:
    """dive's score and inefficient paths (largest first) for the layers' entries, bottom layer first."""
    stats: dict[str, list[Any]] = {}  # path -> [cumulative, smallest, layer numbers]
    stack = _Tree()
    for number, entries in enumerate(layers, 1):
        nodes = _dive_nodes(entries)
        parents = {path.rpartition("/")[0] for path in nodes}
        for path, (size, _) in nodes.items():
            if path in parents:
                continue  # dive visits leaves only
            parent, _, base = path.rpartition("/")
            if base.startswith(WHITEOUT):
                path = f"{parent}/{base[len(WHITEOUT) :]}"
                below = stack.get(path)
                size = _subtree(below)[0] if below is not None and below.is_dir else 0
            record = stats.setdefault(path, [0, size, []])
            record[0] += size
            record[1] = min(record[1], size)
            record[2].append(number)
        _stack(stack, nodes)
    smallest = sum(record[1] for record in stats.values())
    total = sum(record[0] for record in stats.values())
    inefficient = [
        Inefficiency(path, len(record[2]), record[0], record[1], tuple(record[2]))
        for path, record in stats.items()
        if len(record[2]) >= 2
    ]
    inefficient.sort(key=lambda item: (-item.cumulative_bytes, item.path))
    return (smallest / total if total else 1.0), inefficient


def _stack(stack: _Tree, nodes: dict[str, tuple[int, bool]]) -> None:
    """dive's FileTree.Stack: whiteouts remove, every other node (bare parents too) sets its payload."""
    for path, (size, is_dir) in nodes.items():
        parent, _, base = path.rpartition("/")
        if base.startswith(WHITEOUT):
            stack.remove(f"{parent}/{base[len(WHITEOUT) :]}")
        else:
            stack.add(path, size, is_dir)


# --- tables and chart -----------------------------------------------------------------------------------------------


def table(analysis: ImageAnalysis) -> pd.DataFrame:
    """One row per layer: the instruction, dive's size, and files added / changed / deleted with their bytes.
    Counts leave directories out; deleted bytes are what the deleted paths held in the layers below."""
    rows = []
    for layer in analysis.layers:
        rows.append(
            {
                "layer": layer.number,
                "instruction": layer.instruction[:70],
                "size_bytes": layer.size_bytes,
                "size_mb": round(layer.size_bytes / 1e6, 3),
                **{key: value for change in (ADDED, CHANGED, DELETED) for key, value in _figures(layer, change)},
                "diff_id": layer.diff_id.removeprefix("sha256:")[:12],
            }
        )
    return pd.DataFrame(rows)


def _figures(layer: Layer, change: str) -> list[tuple[str, int]]:
    return [(change, layer.count(change)), (f"{change}_bytes", layer.bytes(change))]


def files_table(
    analysis: ImageAnalysis, layer: int | None = None, *, change: str | None = None, dirs: bool = False
) -> pd.DataFrame:
    """The entries of one layer (1 = bottom), or of every layer: path, change, kind and size in bytes.
    For a deleted path, size_bytes is what it held below. Directories are left out unless dirs=True."""
    chosen = analysis.layers if layer is None else [_layer(analysis, layer)]
    rows = [
        {
            "layer": item.number,
            "path": entry.path,
            "change": entry.change,
            "kind": entry.kind,
            "size_bytes": entry.removed_bytes if entry.change == DELETED else entry.size,
        }
        for item in chosen
        for entry in item.entries
        if entry.change and (dirs or entry.kind != "dir") and (change is None or entry.change == change)
    ]
    columns = ["layer", "path", "change", "kind", "size_bytes"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame if layer is None else frame.drop(columns="layer")


def _layer(analysis: ImageAnalysis, number: int) -> Layer:
    if not 1 <= number <= len(analysis.layers):
        raise InvalidInput(f"There is no layer {number}", hint=f"layers are numbered 1 to {len(analysis.layers)}")
    return analysis.layers[number - 1]


def inefficiencies_table(analysis: ImageAnalysis, *, include_empty: bool = False) -> pd.DataFrame:
    """dive's inefficient paths, largest first: in how many layers, which, and their cumulative bytes.
    Paths of 0 bytes (directories listed again) are left out unless include_empty=True."""
    rows = [
        {
            "path": item.path,
            "count": item.occurrences,
            "layers": ", ".join(map(str, item.layers)),
            "wasted_bytes": item.cumulative_bytes,
            "smallest_bytes": item.smallest_bytes,
        }
        for item in analysis.inefficiencies
        if include_empty or item.cumulative_bytes
    ]
    return pd.DataFrame(rows, columns=["path", "count", "layers", "wasted_bytes", "smallest_bytes"])


def path_history(analysis: ImageAnalysis, path: str) -> pd.DataFrame:
    """Every layer that touches `path` (or a path under it, when it is a directory)."""
    wanted = _clean(path)
    rows = [
        {
            "layer": layer.number,
            "instruction": layer.instruction[:60],
            "path": entry.path,
            "change": entry.change,
            "kind": entry.kind,
            "size_bytes": entry.removed_bytes if entry.change == DELETED else entry.size,
        }
        for layer in analysis.layers
        for entry in layer.entries
        if entry.change and (entry.path == wanted or entry.path.startswith(wanted.rstrip("/") + "/"))
    ]
    return pd.DataFrame(rows, columns=["layer", "instruction", "path", "change", "kind", "size_bytes"])


def summary_table(analysis: ImageAnalysis) -> pd.DataFrame:
    """The whole-image figures dive prints."""
    figures = {
        "layers": len(analysis.layers),
        "image size (bytes)": analysis.size_bytes,
        "user size (bytes, all layers but the first)": analysis.user_size_bytes,
        "efficiency score": round(analysis.efficiency, 6),
        "wasted bytes": analysis.wasted_bytes,
        "user wasted percent": round(analysis.wasted_user_percent, 3),
        "inefficient paths": sum(1 for item in analysis.inefficiencies if item.cumulative_bytes),
        "analysis seconds": round(analysis.seconds, 2),
    }
    return pd.DataFrame({"figure": list(figures), "value": list(figures.values())})


def chart(analysis: ImageAnalysis, title: str | None = None) -> Figure:
    """Per layer: MB added, changed and deleted (deleted drawn leftwards: hidden, yet still stored)."""
    rows = table(analysis)
    labels = [f"{row.layer}. {row.instruction[:45]}" for row in rows.itertuples()]
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(rows) + 1.8))
    added, changed, deleted = rows.added_bytes / 1e6, rows.changed_bytes / 1e6, -rows.deleted_bytes / 1e6
    ax.barh(labels, added, color="#2e8b57", label="added")
    bars = ax.barh(labels, changed, left=added, color="#e69f00", label="changed")
    ax.bar_label(bars, labels=[_label(a + c) for a, c in zip(added, changed, strict=True)], padding=3, fontsize=8)
    bars = ax.barh(labels, deleted, color="#c0392b", label="deleted (hidden, still stored)")
    ax.bar_label(bars, labels=[_label(-d) for d in deleted], padding=3, fontsize=8)
    ax.axvline(0, color="black", linewidth=0.8)
    low, high = min(deleted.min(), 0), max((added + changed).max(), 0)
    ax.set_xlim(low * 1.6 - 0.05 * (high - low), high * 1.25 + 0.05 * (high - low) or 1)
    ax.invert_yaxis()
    ax.set_xlabel("MB")
    ax.legend(loc="lower right", fontsize=8)
    figures = f"efficiency {analysis.efficiency:.1%}, wasted {analysis.wasted_bytes / 1e6:,.2f} MB"
    ax.set_title(title or f"{analysis.ref or 'image'}\n{figures}", fontsize=10)
    fig.tight_layout()
    return fig


def _label(mb: float) -> str:
    return f"{mb:,.3f} MB" if mb else ""


__all__ = [
    "Entry",
    "ImageAnalysis",
    "Inefficiency",
    "Layer",
    "analyze",
    "chart",
    "collect",
    "efficiency",
    "files_table",
    "inefficiencies_table",
    "path_history",
    "summary_table",
    "table",
]
