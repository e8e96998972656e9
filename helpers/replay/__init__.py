"""Replay mode: every notebook runs without an engine, from results a real run recorded.

Each notebook's first cell calls `wb.start("NN-name")`. Where an engine answers, nothing
changes. Where none answers (Binder, a laptop without Docker), the helpers that need the
engine answer from notebooks/recordings/NN-name.json.gz and a banner says so.
`python -m helpers record` makes and refreshes those recordings by running the notebooks
against a real engine; nothing in them is written by hand.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from typing import Any

from ..errors import InvalidInput
from ..paths import NOTEBOOKS
from .route import engine_call, local_first, original, routed
from .session import LIVE, RECORD, REPLAY, SESSION, requested_mode, today
from .store import Recording

# What needs the engine, by module: always answered from the recording in replay mode.
# (New helpers can say it where they are defined instead: @engine_call, @local_first.)
ENGINE_CALLS: dict[str, tuple[str, ...]] = {
    "helpers.build": ("build", "buildx", "buildx_available"),
    "helpers.run": ("run", "run_once", "free_port"),
    "helpers.engine": ("client", "available", "info", "native_platform", "image_store"),
    "helpers.images": ("get", "size_mb", "platform_digest", "table", "history", "layers", "config", "config_table"),
    "helpers.bases": ("ensure_bases", "status", "statuses", "registry_answers", "present_refs"),
    "helpers.cleanup": ("cleanup",),
    "helpers.platforms": ("emulated", "runnable"),
    "helpers.registry": ("LocalRegistry",),
    "helpers.saveload": ("save", "load"),
    "helpers.bundle": ("save_kit", "load_kit"),
    "helpers.exercises.homework": ("check_hw1", "check_hw2", "check_hw3", "check_hw4", "check_hw5"),
    "helpers.exercises.probe": ("image_files", "listening", "serve"),
}
# What runs on local files: run for real in replay mode; answered from the recording only
# when its input came from the engine (a saved archive that is not here, an image name).
LOCAL_FIRST_CALLS: dict[str, tuple[str, ...]] = {
    "helpers.saveload": ("compress", "contents", "read_json"),
    "helpers.bundle": ("read_manifest",),
    "helpers.layers": ("analyze",),
    "helpers.sbom": ("sbom", "packages"),
    "helpers.secrets": ("scan",),
    "helpers.compare": ("compare", "summary"),
}


def install() -> None:
    """Route the listed helpers through the session (a plain pass-through in live mode).

    Every helpers module that imported one of them by name gets the routed version too.
    """
    wrappers: dict[int, Callable[..., Any]] = {}
    for calls, local in ((ENGINE_CALLS, False), (LOCAL_FIRST_CALLS, True)):
        for module_name, names in calls.items():
            module = importlib.import_module(module_name)
            for name in names:
                function = getattr(module, name)
                if hasattr(function, "__replay_original__"):
                    continue
                function_id = f"{module_name.removeprefix('helpers.')}.{name}"
                wrappers[id(function)] = routed(function, local_first=local, function_id=function_id)
                setattr(module, name, wrappers[id(function)])
    for module_name, module in list(sys.modules.items()):
        if module_name == "helpers" or module_name.startswith("helpers."):
            for attribute, value in list(vars(module).items()):
                if id(value) in wrappers and not attribute.startswith("__"):
                    setattr(module, attribute, wrappers[id(value)])


def start(notebook: str) -> None:
    """Begin a notebook: live where an engine answers, else replay (with a banner); see mode()."""
    from ..engine import available
    from ..notebook import show_errors_plainly

    show_errors_plainly()
    if not (NOTEBOOKS / f"{notebook}.ipynb").is_file():
        raise InvalidInput(
            f"There is no notebook called {notebook}",
            where=str(NOTEBOOKS),
            hint="pass the notebook's file name without .ipynb, e.g. wb.start('01-images-and-layers')",
        )
    wanted = requested_mode()
    if wanted == RECORD:
        SESSION.record(notebook, _engine_header())
    elif wanted == LIVE or (wanted != REPLAY and original(available)()):
        SESSION.live()
    else:
        recording = SESSION.replay(notebook)
        _use_recorded_learner(recording)
        _show_banner(recording)


def mode() -> str:
    """live, record or replay."""
    return SESSION.mode


def _engine_header() -> dict[str, Any]:
    from ..engine import info
    from ..labels import learner

    engine = original(info)()
    return {
        "notebook_recorded": today(),
        "engine_version": engine.version,
        "api_version": engine.api_version,
        "platform": f"{engine.os}, {engine.arch}",
        "image_store": engine.image_store,
        "learner": learner(),
    }


def _use_recorded_learner(recording: Recording) -> None:
    """Names in the recording carry the recorded learner's namespace; use it while replaying."""
    from ..labels import LEARNER_ENV

    if recording.header.get("learner"):
        os.environ[LEARNER_ENV] = recording.header["learner"]


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
            f'padding:8px 12px;margin:4px 0"><b>⏵ Replayed results.</b> {text}</div>'
        )
    )


__all__ = ["LIVE", "RECORD", "REPLAY", "banner_text", "engine_call", "install", "local_first", "mode", "start"]
