"""`python -m helpers record [NOTEBOOK ...]`: run notebooks against a real engine, keeping
their executed outputs and a recording of every helper answer for replay mode."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from helpers.errors import EngineUnavailable, InvalidInput
from helpers.paths import NOTEBOOKS, STATE
from helpers.replay import live_only
from helpers.replay.session import MODE_ENV, RECORD
from helpers.replay.store import compact, journal_path

Say = Callable[[str], None]
CELL_TIMEOUT = 1800


def notebook_names(wanted: list[str] | None = None) -> list[str]:
    """Every notebook (or the named ones: a name, a file name or a path)."""
    every = sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))
    if not wanted:
        return every
    chosen = []
    for name in wanted:
        stem = Path(name).name.removesuffix(".ipynb")
        matches = [n for n in every if n == stem or n.startswith(stem + "-") or n.split("-")[0] == stem]
        if len(matches) != 1:
            raise InvalidInput(
                f"No single notebook matches {name!r}",
                where=str(NOTEBOOKS),
                hint="name a notebook by its number or file name, e.g. 01 or 01-images-and-layers",
            )
        chosen.append(matches[0])
    return chosen


def record(
    wanted: list[str] | None = None, say: Say = print, *, keep_outputs: bool = True, fresh: bool = True
) -> list[Path]:
    """Execute each notebook in record mode; write its recording, and its outputs back into it
    (keep_outputs=False leaves the notebook file as it is; fresh=False keeps the work folders)."""
    from helpers.engine.daemon import available

    with live_only():
        engine_answers = available()
    if not engine_answers:
        raise EngineUnavailable(
            "Recording needs a real Docker engine, and none answers",
            hint="start one (`make engine`), then run `python -m helpers record` again",
        )
    if fresh:
        _fresh_work_folders()
    written, failed = [], []
    os.environ[MODE_ENV] = RECORD
    try:
        for name in notebook_names(wanted):
            try:
                written.append(_record_one(name, keep_outputs, say))
            except InvalidInput as exc:
                say(exc.paragraph())
                failed.append(name)
    finally:
        os.environ.pop(MODE_ENV, None)
    if failed:
        raise InvalidInput(
            f"{len(failed)} of {len(failed) + len(written)} notebooks failed to record: {', '.join(failed)}",
            hint="their committed recordings and outputs are unchanged; fix them (see above) and record them again",
        )
    return written


def _fresh_work_folders() -> None:
    """Start from what a fresh clone has: no work folders left by earlier runs (their extra
    files would change the folders' content keys, and replay would not match them)."""
    from helpers.labels import learner

    shutil.rmtree(STATE / "work" / learner(), ignore_errors=True)


def _record_one(name: str, keep_outputs: bool, say: Say) -> Path:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    path = NOTEBOOKS / f"{name}.ipynb"
    started = time.monotonic()
    say(f"recording {name} ...")
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=CELL_TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    try:
        client.execute()
    except CellExecutionError as exc:
        raise InvalidInput(
            f"{name} failed while recording; its committed recording and outputs are unchanged",
            where=str(path),
            detail=str(exc)[-3000:],
            hint=f"fix the cell, then `python -m helpers record {name}`",
        ) from None
    if not journal_path(name).is_file():
        raise InvalidInput(
            f"{name} recorded nothing: its first cell does not call wb.start({name!r})",
            where=str(path),
            hint=f'make the first code cell call wb.start("{name}")',
        )
    if keep_outputs:
        nbformat.write(notebook, path)
    recording = compact(name)
    say(f"  {name}: {time.monotonic() - started:.0f} s, {recording.stat().st_size / 1e6:.2f} MB recording")
    return recording
