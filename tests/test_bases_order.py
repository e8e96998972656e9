"""`ensure_bases(workers=2)` schedules stand-ins side by side, and never one before the bases it
is built FROM. The order alone is under test here: the builds are replaced by timed sleeps (the
real builds run in `make setup`, and tests/test_bases.py checks what they made)."""

from __future__ import annotations

import itertools
import threading
import time

import pytest

from helpers import catalog
from helpers.bases import provision
from helpers.errors import BuildFailed

STANDINS = [base for base in catalog.CATALOG if base.standin]


class FakeEngine:
    """Bases that appear once `_build_standin` finishes, with each build's start and end."""

    def __init__(self, fail: str | None = None) -> None:
        self.built: set[str] = set()
        self.spans: dict[str, tuple[float, float]] = {}
        self.fail = fail
        self.lock = threading.Lock()

    def status(self, base: catalog.Base) -> provision.BaseStatus:
        with self.lock:
            done = base.ref in self.built
        if not base.standin:
            return provision.BaseStatus(base.ref, provision.UNAVAILABLE)
        return provision.BaseStatus(
            base.ref, provision.STANDIN if done else provision.MISSING, "", 1.0 if done else None
        )

    def build(self, base: catalog.Base, _say: provision.Say) -> None:
        started = time.monotonic()
        time.sleep(0.05)
        if base.ref == self.fail:
            raise BuildFailed(f"The stand-in for {base.ref} failed to build")
        with self.lock:
            self.built.add(base.ref)
            self.spans[base.ref] = (started, time.monotonic())


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> FakeEngine:
    fake = FakeEngine()
    monkeypatch.setattr(provision, "status", fake.status)
    monkeypatch.setattr(provision, "_build_standin", fake.build)
    monkeypatch.setattr(provision, "registry_answers", lambda: False)
    return fake


def test_two_workers_build_independent_bases_at_once_and_needs_first(engine: FakeEngine) -> None:
    lines: list[str] = []
    results = provision.ensure_bases(say=lines.append, workers=2)
    assert {r.ref for r in results if r.state == provision.STANDIN} == {b.ref for b in STANDINS}
    for base in STANDINS:
        for need in base.needs:
            assert engine.spans[need][1] <= engine.spans[base.ref][0], f"{base.ref} started before {need} was built"
    spans = sorted(engine.spans.values())
    assert any(later[0] < earlier[1] for earlier, later in itertools.pairwise(spans)), "nothing overlapped"
    assert any("unavailable offline" in line for line in lines), "alpine is reported, never faked"


def test_one_worker_builds_one_at_a_time(engine: FakeEngine) -> None:
    provision.ensure_bases(say=lambda _line: None, workers=1)
    spans = sorted(engine.spans.values())
    assert all(earlier[1] <= later[0] for earlier, later in itertools.pairwise(spans))


def test_a_failed_base_fails_the_run_and_what_is_built_from_it_is_never_started(engine: FakeEngine) -> None:
    engine.fail = catalog.BUILDPACK
    with pytest.raises(BuildFailed, match="buildpack-deps"):
        provision.ensure_bases(say=lambda _line: None, workers=2)
    assert catalog.GOLANG not in engine.spans and catalog.PYTHON_FULL not in engine.spans
    assert catalog.DEBIAN in engine.built
