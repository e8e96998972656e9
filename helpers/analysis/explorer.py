"""A dive-style layer explorer for notebooks (ipywidgets): pick a layer and see what it added, changed and
deleted, as a table and as bytes per folder; type or pick a path and see every layer it lives in."""

from __future__ import annotations

import html

import ipywidgets as widgets
import pandas as pd

from helpers.analysis.layerfiles import ImageAnalysis, files_table, path_history

CHANGES = ("all", "added", "changed", "deleted")


def _mb(size: float) -> str:
    return f"{size / 1e6:,.3f} MB" if size >= 1e4 else f"{int(size):,} B"


def _html_table(frame: pd.DataFrame, limit: int) -> str:
    if frame.empty:
        return "<p><i>nothing here</i></p>"
    shown = frame.head(limit).copy()
    if "size_bytes" in shown:
        shown["size"] = shown.pop("size_bytes").map(_mb)
    more = f"<p><i>{len(frame) - limit:,} more rows not shown</i></p>" if len(frame) > limit else ""
    return shown.to_html(index=False, escape=True, border=0) + more


def folder_sizes(files: pd.DataFrame, depth: int) -> pd.DataFrame:
    """Bytes and file count per folder, cut at `depth` path components, largest first."""
    if files.empty:
        return pd.DataFrame(columns=["folder", "files", "size_bytes"])
    folders = files.path.map(lambda p: "/" + "/".join(p.strip("/").split("/")[:depth]))
    grouped = (
        files.assign(folder=folders).groupby("folder").agg(files=("path", "size"), size_bytes=("size_bytes", "sum"))
    )
    return grouped.sort_values("size_bytes", ascending=False).reset_index()


class Explorer(widgets.VBox):
    """The explorer widget itself; `show(analysis)` makes one."""

    def __init__(self, analysis: ImageAnalysis, *, rows: int = 200) -> None:
        self.analysis = analysis
        self.rows = rows
        options = [
            (f"{layer.number}. {layer.instruction[:70]} ({_mb(layer.size_bytes)})", layer.number)
            for layer in analysis.layers
        ]
        self.layer = widgets.Dropdown(
            options=options, value=options[-1][1], description="Layer", layout={"width": "95%"}
        )
        self.change = widgets.ToggleButtons(options=CHANGES, value="all", description="Show")
        self.filter = widgets.Text(placeholder="part of a path, e.g. /usr/lib", description="Filter")
        self.depth = widgets.IntSlider(value=2, min=1, max=6, description="Folder depth")
        self.files = widgets.HTML()
        self.folders = widgets.HTML()
        self.path = widgets.Combobox(placeholder="a path, e.g. /etc/passwd", description="Path", ensure_option=False)
        self.history = widgets.HTML()
        header = widgets.HTML(f"<b>{html.escape(analysis.summary())}</b>")
        tabs = widgets.Tab(children=[self.files, self.folders])
        tabs.set_title(0, "Files")
        tabs.set_title(1, "Bytes per folder")
        where = widgets.VBox([widgets.HTML("<b>In which layers does a path live?</b>"), self.path, self.history])
        super().__init__([header, self.layer, widgets.HBox([self.change, self.filter]), self.depth, tabs, where])
        for control in (self.layer, self.change, self.filter, self.depth):
            control.observe(self._refresh, names="value")
        self.path.observe(self._locate, names="value")
        self._refresh()

    def current(self) -> pd.DataFrame:
        """The selected layer's entries after the change and text filters, largest first."""
        change = None if self.change.value == "all" else self.change.value
        frame = files_table(self.analysis, self.layer.value, change=change)
        if self.filter.value:
            frame = frame[frame.path.str.contains(self.filter.value, regex=False)]
        return frame.sort_values(["size_bytes", "path"], ascending=[False, True], ignore_index=True)

    def _refresh(self, _change: object = None) -> None:
        frame = self.current()
        self.files.value = _html_table(frame, self.rows)
        self.folders.value = _html_table(folder_sizes(frame, self.depth.value), self.rows)
        self.path.options = tuple(frame.path.head(self.rows))

    def _locate(self, _change: object = None) -> None:
        wanted = self.path.value.strip()
        if not wanted:
            self.history.value = ""
            return
        frame = path_history(self.analysis, wanted)
        self.history.value = _html_table(frame, self.rows)


def show(analysis: ImageAnalysis, *, rows: int = 200) -> Explorer:
    """The layer explorer for an analysis from helpers.layerfiles.analyze(); tables show at most `rows` rows."""
    return Explorer(analysis, rows=rows)


__all__ = ["Explorer", "folder_sizes", "show"]
