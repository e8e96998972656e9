"""Engine tests are marked `engine`: without an engine they skip locally and FAIL in CI."""

from __future__ import annotations

import os

import pytest

import helpers as wb


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def engine_ready() -> bool:
    return wb.engine_available()


def pytest_runtest_setup(item: pytest.Item) -> None:
    if (
        item.get_closest_marker("engine") is None
        and not item.nodeid.endswith(".ipynb")
        and ".ipynb::" not in item.nodeid
    ):
        return
    if wb.engine_available():
        return
    message = "no Docker engine answers (" + wb.docker_host() + ")"
    if _in_ci():
        pytest.fail(f"{message}: CI must have an engine; .ci/run starts one", pytrace=False)
    pytest.skip(message)
