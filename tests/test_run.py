"""The container runner: loopback-only ports, readiness, always removed."""

from __future__ import annotations

import pytest

import helpers as wb
from helpers.labels import OBJECT_LABEL

pytestmark = pytest.mark.engine
PYTHON = "python:3.13-slim-trixie"
SERVE = ["python", "-m", "http.server", "8000"]


def workbook_containers() -> list[str]:
    """This learner's workbook containers (another kernel's or learner's are not this test's)."""
    mine = {"label": f"{OBJECT_LABEL}={wb.learner()}"}
    return [c.name for c in wb.client().containers.list(all=True, filters=mine)]


def test_http_container_is_published_on_loopback_only_and_removed() -> None:
    with wb.run(PYTHON, SERVE, port=8000) as box:
        assert "Directory listing" in box.get("/")
        bindings = box.container.attrs["HostConfig"]["PortBindings"]["8000/tcp"]
        assert all(b["HostIp"] == "127.0.0.1" for b in bindings)
        assert box.container.attrs["HostConfig"]["Privileged"] is False
        name = box.name
    assert name not in workbook_containers()


def test_container_removed_when_the_cell_fails() -> None:
    with pytest.raises(RuntimeError), wb.run(PYTHON, ["sleep", "60"], wait_http=None) as box:
        name = box.name
        raise RuntimeError("a learner's cell failed")
    assert name not in workbook_containers()


def test_container_removed_when_interrupted() -> None:
    with pytest.raises(KeyboardInterrupt), wb.run(PYTHON, ["sleep", "60"], wait_http=None) as box:
        name = box.name
        raise KeyboardInterrupt
    assert name not in workbook_containers()


def test_crashing_container_reports_its_logs_and_is_removed() -> None:
    with (
        pytest.raises(wb.errors.ContainerFailed) as caught,
        wb.run(PYTHON, ["python", "-c", "raise SystemExit('config missing')"], port=8000, timeout=20),
    ):
        pass
    assert "exited with code 1" in str(caught.value)
    assert "config missing" in str(caught.value)
    assert not [n for n in workbook_containers() if n]


def test_busy_host_port_is_replaced_and_said(capsys: pytest.CaptureFixture[str]) -> None:
    with (
        wb.run(PYTHON, SERVE, port=8000) as first,
        wb.run(PYTHON, SERVE, port=8000, host_port=first.host_port) as second,
    ):
        assert second.host_port != first.host_port
        assert "Directory listing" in second.get("/")
    assert f"Port {first.host_port}" in capsys.readouterr().out


def test_engine_socket_is_never_mounted() -> None:
    with pytest.raises(wb.errors.InvalidInput):
        wb.run_once(PYTHON, ["true"], volumes={"/var/run/docker.sock": {"bind": "/s", "mode": "rw"}})


def test_run_once_returns_exit_code_and_output() -> None:
    out = wb.run_once(PYTHON, ["sh", "-c", "echo out; exit 4"])
    assert (out.exit_code, out.output.strip()) == (4, "out")
