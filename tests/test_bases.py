"""Every catalog base is present, and stand-ins hold what their names promise."""

from __future__ import annotations

import pytest

import helpers as wb
from helpers import catalog
from helpers.bases import provision as bases

pytestmark = pytest.mark.engine

EXPECTED = {
    catalog.DEBIAN: ("cat /etc/debian_version", "13."),
    catalog.PYTHON_SLIM: ("python --version", "Python 3.13."),
    catalog.PYTHON_FULL: ("python --version && gcc --version", "Python 3.13."),
    catalog.NODE_SLIM: ("node --version && npm --version", "v24."),
    catalog.GOLANG: ("go version", "go1.27"),
    catalog.BUSYBOX: ("busybox | head -1", "v1.37"),
}


@pytest.mark.parametrize("base", [b for b in catalog.CATALOG if b.standin], ids=lambda b: b.ref)
def test_base_is_present(base: catalog.Base) -> None:
    status = bases.status(base)
    assert status.state in (bases.PULLED, bases.STANDIN), f"{base.ref}: run `python -m helpers bases`"


@pytest.mark.parametrize("ref", list(EXPECTED))
def test_base_holds_the_promised_version(ref: str) -> None:
    command, expected = EXPECTED[ref]
    out = wb.run_once(catalog.normalize(ref), ["sh", "-c", command])
    assert out.exit_code == 0 and expected in out.output, out.output


def test_alpine_is_never_faked() -> None:
    status = bases.status(catalog.BY_REF[catalog.ALPINE])
    if status.state == bases.PULLED:
        assert "alpine" in wb.run_once(catalog.ALPINE, ["cat", "/etc/os-release"]).output.lower()
    else:
        assert status.state == bases.UNAVAILABLE


def test_standin_labels_say_what_they_hold() -> None:
    for status in bases.statuses():
        if status.state == bases.STANDIN:
            assert status.versions, status.ref


def test_distroless_nonroot_runs_as_65532() -> None:
    config = wb.images.config(catalog.DISTROLESS_NONROOT)
    assert config["User"].split(":")[0] == "65532"
