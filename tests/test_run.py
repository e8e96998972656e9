"""The container runner: loopback-only ports, readiness, always removed."""

from __future__ import annotations

import contextlib
import os
import time

import pytest
from docker.errors import NotFound

import helpers as wb
from helpers import sessions
from helpers.catalog import REGISTRY
from helpers.labels import HOST_LABEL, OBJECT_LABEL, PID_LABEL, PID_START_LABEL, SESSION_LABEL, object_name
from helpers.sessions import SESSION_ID

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


def volumes_of_containers_from_this_session(since: int) -> set[str]:
    """The volumes mounted into containers this process created since `since` (engine events)."""
    client = wb.client()
    until = int(time.time()) + 1
    ours: set[str] = set()
    for event in client.events(since=since, until=until, decode=True, filters={"type": "container", "event": "create"}):
        if event["Actor"]["Attributes"].get(SESSION_LABEL) == SESSION_ID:
            ours.add(event["Actor"]["ID"])
    mounted: set[str] = set()
    for event in client.events(since=since, until=until, decode=True, filters={"type": "volume", "event": "mount"}):
        if event["Actor"]["Attributes"].get("container") in ours:
            mounted.add(event["Actor"]["ID"])
    return mounted


@pytest.mark.parametrize("name", [None, "start-fails"], ids=["unnamed", "named"])
def test_command_missing_from_the_image_leaves_no_container(name: str | None) -> None:
    with (
        pytest.raises(wb.errors.ContainerFailed) as caught,
        wb.run(PYTHON, ["/no/such/command"], wait_http=None, name=name),
    ):
        pass
    assert "could not start" in str(caught.value)
    assert workbook_containers() == []


def test_a_name_in_use_is_refused_and_its_holder_kept() -> None:
    """Whoever holds the name (another kernel's or another learner's container) keeps it."""
    holder = wb.client().containers.create(PYTHON, ["sleep", "60"], name=object_name("held"))
    try:
        with pytest.raises(wb.errors.ContainerFailed) as caught, wb.run(PYTHON, ["sleep", "60"], name="held"):
            pass
        assert "exists already" in str(caught.value)
        assert wb.client().containers.get(holder.id).name == object_name("held")
    finally:
        holder.remove(force=True)


def test_run_once_that_outlasts_its_timeout_says_so_and_is_removed() -> None:
    with pytest.raises(wb.errors.ContainerFailed) as caught:
        wb.run_once(PYTHON, ["sleep", "60"], timeout=2)
    assert "did not finish within 2 s" in str(caught.value)
    assert workbook_containers() == []


def test_containers_carry_the_session_that_made_them() -> None:
    with wb.run(PYTHON, ["sleep", "60"], wait_http=None) as box:
        labels = box.container.labels
    assert labels[SESSION_LABEL] == SESSION_ID
    assert labels[PID_LABEL] == str(os.getpid())
    assert labels[HOST_LABEL] == sessions.host_id() != ""
    assert labels[PID_START_LABEL] == sessions.start_time(os.getpid()) != ""


def test_anonymous_volumes_go_with_their_containers() -> None:
    """registry:2 declares a VOLUME: each container made from it gets an anonymous volume."""
    since = int(time.time()) - 1
    with wb.run(REGISTRY, wait_http=None) as box:
        assert box.status() == "running"
    wb.exercises.image_files(REGISTRY)
    with pytest.raises(wb.errors.ContainerFailed):
        wb.run_once(REGISTRY, entrypoint=["/no/such/command"])
    mounted = volumes_of_containers_from_this_session(since)
    assert mounted, "no anonymous volume was mounted: the check proves nothing"
    left = set()
    for volume in mounted:
        with contextlib.suppress(NotFound):
            wb.client().volumes.get(volume)
            left.add(volume)
    assert not left


def test_host_networking_is_refused() -> None:
    with pytest.raises(wb.errors.InvalidInput), wb.run(PYTHON, SERVE, network="host"):
        pass
    with pytest.raises(wb.errors.InvalidInput):
        wb.run_once(PYTHON, ["true"], network="HOST")
    assert workbook_containers() == []
