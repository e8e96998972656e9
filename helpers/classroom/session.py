"""Beginning a notebook: `wb.start("NN-name")` picks live, record or replay and says so."""

from __future__ import annotations

from typing import Any

from helpers.bases import ondemand
from helpers.classroom.notebook import show_errors_plainly
from helpers.engine import daemon
from helpers.engine.cleanup import sweep_orphans
from helpers.errors import InvalidInput
from helpers.labels import generic_learner_warning, learner, replaying_as
from helpers.paths import NOTEBOOKS
from helpers.replay import LIVE, RECORD, REPLAY, SESSION, live_only
from helpers.replay.session import requested_mode, today
from helpers.replay.store import Recording
from helpers.sessions import use_notebook


def start(notebook: str) -> None:
    """Begin a notebook: live where an engine answers, else replay (with a banner); see mode()."""
    show_errors_plainly()
    if not (NOTEBOOKS / f"{notebook}.ipynb").is_file():
        raise InvalidInput(
            f"There is no notebook called {notebook}",
            where=str(NOTEBOOKS),
            hint="pass the notebook's file name without .ipynb, e.g. wb.start('01-images-and-layers')",
        )
    use_notebook(notebook)
    wanted = requested_mode()
    with live_only():
        engine_answers = wanted != REPLAY and daemon.available()
    replaying_as(None)
    learner()  # a name with no letter or digit is refused here, before anything runs
    if engine_answers:
        _tidy_up()
        with live_only():  # this engine's bases, not the recorded run's
            ondemand.prepare(notebook)
    if wanted == RECORD:
        SESSION.record(notebook, _engine_header())
    elif wanted == LIVE or engine_answers:
        SESSION.live()
    else:
        recording = SESSION.replay(notebook)
        # Names in the recording carry the recorded learner's namespace: use it while replaying.
        replaying_as(str(recording.header.get("learner") or "") or None)
        _show_banner(recording)


def _tidy_up() -> None:
    """Say who the learner is (and when the name is one many people share); remove the
    containers that this learner's killed kernels left on this host."""
    warning = generic_learner_warning()
    print(f"Learner: {learner()}" + (f" ({warning})" if warning else ""))
    with live_only():
        sweep_orphans()


def _engine_header() -> dict[str, Any]:
    with live_only():
        engine = daemon.info()
    return {
        "notebook_recorded": today(),
        "engine_version": engine.version,
        "api_version": engine.api_version,
        "platform": f"{engine.os}, {engine.arch}",
        "image_store": engine.image_store,
        "learner": learner(),
    }


def banner_text(recording: Recording) -> str:
    h = recording.header
    return (
        "Replay mode: no Docker engine answers here, so results that need one come from a "
        f"recording of a real run on Docker Engine {h.get('engine_version', '?')} "
        f"(API {h.get('api_version', '?')}; {h.get('image_store', 'classic')} image store; "
        f"{h.get('platform', '?')}) made on "
        f"{h.get('notebook_recorded', '?')}. Lint, build-context sizes and archive analysis run "
        "for real. To build for real, start an engine (see 00-start-here)."
    )


def _show_banner(recording: Recording) -> None:
    import html

    text = banner_text(recording)
    try:
        from IPython import get_ipython
        from IPython.display import HTML, display
    except ImportError:
        print(text)
        return
    if get_ipython() is None:
        print(text)
        return
    display(
        HTML(
            '<div style="border-left:6px solid #d97706;background:#fef3c7;color:#1f2937;'
            f'padding:8px 12px;margin:4px 0"><b>⏵ Replayed results.</b> {html.escape(text, quote=False)}</div>'
        )
    )


__all__ = ["LIVE", "RECORD", "REPLAY", "banner_text", "start"]
