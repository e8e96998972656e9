"""Engine tests are marked `engine`: without an engine they skip locally and FAIL in CI."""

from __future__ import annotations

import os

import durations_report
import pytest

import helpers as wb


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def engine_ready() -> bool:
    return wb.engine.available()


def _is_notebook(item: pytest.Item) -> bool:
    return item.nodeid.endswith(".ipynb") or ".ipynb::" in item.nodeid


def pytest_configure(config: pytest.Config) -> None:
    # A plugin, not conftest hooks: conftest hooks here would not see the notebooks' items.
    config.pluginmanager.register(durations_report, "workbook-durations")
    config.addinivalue_line("markers", "session_first: run before every other test of the session")
    config.addinivalue_line("markers", "session_last: run after every other test of the session")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every notebook cell runs on the engine: `-m engine` (the second image store's pass) selects them.
    Tests marked `session_first` / `session_last` move to the start / end of the session."""
    for item in items:
        if _is_notebook(item):
            item.add_marker(pytest.mark.engine)
    items.sort(key=_session_rank)  # stable: the order within each group stays


def _session_rank(item: pytest.Item) -> int:
    if item.get_closest_marker("session_first"):
        return 0
    return 2 if item.get_closest_marker("session_last") else 1


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("engine") is None and not _is_notebook(item):
        return
    if wb.engine.available():
        return
    message = "no Docker engine answers (" + wb.engine.docker_host() + ")"
    if _in_ci():
        pytest.fail(f"{message}: CI must have an engine; .ci/run starts one", pytrace=False)
    pytest.skip(message)
