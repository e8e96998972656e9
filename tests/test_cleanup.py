"""Cleanup removes what the workbook made for this learner, and nothing else; the orphans of a
killed kernel go at the next wb.start()."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from docker.errors import NotFound

import helpers as wb
from helpers import sessions
from helpers.engine import ledger
from helpers.labels import HOST_LABEL, OBJECT_LABEL, PID_LABEL, PID_START_LABEL
from helpers.paths import ROOT

BUSYBOX = "busybox:1.37"
LEARNER = f"cleanup-{os.getpid()}"


@pytest.fixture(autouse=True)
def own_learner(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A learner of its own, so this cleanup leaves the other tests' and notebooks' images alone."""
    monkeypatch.setenv("WORKBOOK_LEARNER", LEARNER)
    yield
    if wb.engine.available():
        with contextlib.suppress(wb.errors.WorkbookError):
            wb.cleanup(who=LEARNER)
    ledger.path_for(LEARNER).unlink(missing_ok=True)
    ledger.path_for(LEARNER).with_suffix(".lock").unlink(missing_ok=True)


def unique_app(name: str) -> Path:
    """An app whose image no other test shares (a different id), so its tags are its own."""
    return wb.make_app(name, {"Dockerfile": f"FROM {BUSYBOX}\nRUN echo {name}-{os.getpid()} > /made\n"})


@pytest.fixture
def foreign_objects() -> Iterator[dict[str, str]]:
    """Objects a learner made by hand, one derived from a workbook image (inherited labels)."""
    client = wb.client()
    base = wb.build("hello-python", tag=wb.image_name("test-cleanup", "base"), quiet=True)
    derived, _ = client.images.build(
        fileobj=io.BytesIO(f"FROM {base.ref}\nENV MINE=1\n".encode()), tag="learner-own/derived:1", rm=True
    )
    container = client.containers.run(BUSYBOX, ["sleep", "300"], detach=True, name=f"learner-own-box-{os.getpid()}")
    volume = client.volumes.create(f"learner-own-volume-{os.getpid()}")
    network = client.networks.create(f"learner-own-net-{os.getpid()}")
    made = {"image": derived.id, "container": container.id, "volume": volume.name, "network": network.id}
    yield made
    container.remove(force=True)
    volume.remove(force=True)
    network.remove()
    client.images.remove(derived.id, force=True)


@pytest.mark.engine
def test_cleanup_keeps_foreign_objects_and_removes_ours(foreign_objects: dict[str, str]) -> None:
    client = wb.client()
    mine_volume = client.volumes.create(wb.labels.object_name("test-vol"), labels={OBJECT_LABEL: wb.learner()})
    mine_box = client.containers.create(BUSYBOX, ["true"], labels={OBJECT_LABEL: wb.learner()})
    other_learner = client.containers.create(BUSYBOX, ["true"], labels={OBJECT_LABEL: "someone-else"})
    try:
        removed = wb.cleanup()
        assert mine_box.name in removed.containers and mine_volume.name in removed.volumes
        assert wb.image_name("test-cleanup", "base") in removed.images
        assert not removed.failed, removed.failed
        client.images.get(foreign_objects["image"])
        assert client.containers.get(foreign_objects["container"]).status == "running"
        client.volumes.get(foreign_objects["volume"])
        client.networks.get(foreign_objects["network"])
        client.containers.get(other_learner.id)
        for base in wb.bases.present_refs() - {"scratch"}:
            client.images.get(wb.catalog.normalize(base))
        with pytest.raises(NotFound):
            client.containers.get(mine_box.id)
    finally:
        other_learner.remove(force=True)


@pytest.mark.engine
def test_cleanup_removes_every_name_in_the_workbook_namespace_and_keeps_the_learners() -> None:
    """A lesson may add a second name (`docker tag`) in the learner's namespace; a name the
    learner gave the same image elsewhere keeps it alive."""
    client = wb.client()
    first = wb.build("hello-python", tag=wb.image_name("test-cleanup", "one"), quiet=True)
    client.images.get(first.ref).tag(wb.image_name("test-cleanup", "one-v1"))
    kept = wb.build("hello-python", tag=wb.image_name("test-cleanup", "kept"), quiet=True)
    client.images.get(kept.ref).tag("learner-own/kept:1")
    try:
        wb.cleanup()
        names = {tag for image in client.api.images() for tag in image.get("RepoTags") or []}
        assert not {t for t in names if t.startswith(f"wb-{wb.learner()}/")}, names
        assert "learner-own/kept:1" in names
    finally:
        client.images.remove("learner-own/kept:1", force=True)


@pytest.mark.engine
def test_cleanup_keeps_what_the_learner_made_from_workbook_images() -> None:
    """A local-registry name the learner added, an untagged build FROM a workbook image and a
    `docker commit` of a workbook container all inherit the workbook's labels: all are kept."""
    client = wb.client()
    built = wb.build(unique_app("derived-from"), tag=wb.image_name("test-cleanup", "parent"), quiet=True)
    learners_tag = f"127.0.0.1:5999/learner-{os.getpid()}/mine:1"
    client.images.get(built.ref).tag(learners_tag)
    untagged, _ = client.images.build(fileobj=io.BytesIO(f"FROM {built.ref}\nENV OWN=1\n".encode()), rm=True)
    with wb.run(built.ref, ["sleep", "60"], wait_http=None) as box:
        committed = box.container.commit()
    try:
        assert (committed.labels or {}).get(wb.labels.IMAGE_LABEL) == wb.learner()  # inherited
        removed = wb.cleanup()
        assert not removed.failed, removed.failed
        names = {tag for image in client.api.images() for tag in image.get("RepoTags") or []}
        assert learners_tag in names and built.ref not in names
        client.images.get(untagged.id)
        client.images.get(committed.id)
    finally:
        for image in (committed.id, untagged.id, learners_tag):
            client.images.remove(image, force=True)


@pytest.mark.engine
def test_cleanup_reports_what_it_could_not_remove() -> None:
    client = wb.client()
    built = wb.build(unique_app("in-use"), tag=wb.image_name("test-cleanup", "in-use"), quiet=True)
    users = client.containers.create(built.ref, ["true"])  # the learner's own container uses it
    try:
        removed = wb.cleanup()
        assert built.ref not in removed.images
        assert any(built.ref in failure for failure in removed.failed), removed.failed
        assert "could not remove 1" in str(removed)
        client.images.get(built.ref)
        assert ledger.Entry(built.image_id, built.ref) in ledger.entries()  # tried again next time
    finally:
        users.remove(force=True)
    assert built.ref in wb.cleanup().images


@pytest.mark.engine
def test_a_rebuilt_tags_old_image_goes_and_a_tag_moved_by_the_learner_stays() -> None:
    client = wb.client()
    ref = wb.image_name("test-cleanup", "moving")
    app = unique_app("moving")
    old = wb.build(app, tag=ref, quiet=True)
    (app / "Dockerfile").write_text(f"FROM {BUSYBOX}\nRUN echo moved-{os.getpid()} > /made\n")
    new = wb.build(app, tag=ref, quiet=True)
    assert old.image_id != new.image_id
    own, _ = client.images.build(fileobj=io.BytesIO(f"FROM {BUSYBOX}\nENV OWN={os.getpid()}\n".encode()), rm=True)
    own_ref = wb.image_name("test-cleanup", "learner-moved")
    ledger.record(new.image_id, own_ref)  # the workbook once gave this name to its image ...
    client.images.get(own.id).tag(own_ref)  # ... and the learner moved it to their own
    try:
        wb.cleanup()
        with pytest.raises(NotFound):
            client.images.get(old.image_id)
        with pytest.raises(NotFound):
            client.images.get(new.image_id)
        assert own_ref in client.images.get(own.id).tags
    finally:
        client.images.remove(own.id, force=True)


KERNEL = """
import sys, time
import helpers as wb
registry = wb.registry.LocalRegistry().start()
with wb.run("busybox:1.37", ["sleep", "600"], wait_http=None) as box:
    print(registry.container.name, box.name, flush=True)
    time.sleep(600)
"""


def kernel(env: dict[str, str]) -> tuple[subprocess.Popen[str], list[str]]:
    """A notebook kernel stand-in mid-cell: a registry and a running container; their names."""
    running = subprocess.Popen(
        [sys.executable, "-c", KERNEL], cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert running.stdout is not None
    line = running.stdout.readline()
    assert line, running.stderr.read() if running.stderr else "the kernel printed nothing"
    return running, line.split()


def forged(**labels: str) -> str:
    made = wb.client().containers.create(BUSYBOX, ["true"], labels={OBJECT_LABEL: LEARNER, **labels})
    return str(made.id)


@pytest.mark.engine
@pytest.mark.timeout(600)
def test_a_kernel_killed_mid_cell_leaves_nothing_after_the_next_start() -> None:
    env = {**os.environ, "WORKBOOK_LEARNER": LEARNER, "WORKBOOK_MODE": ""}
    killed, killed_names = kernel(env)
    alive, alive_names = kernel(env)
    client = wb.client()
    me = sessions.this_process()
    here = {HOST_LABEL: me.host}
    reused_pid = forged(**here, **{PID_LABEL: str(alive.pid), PID_START_LABEL: "1"})  # pid since reused
    elsewhere = forged(**{HOST_LABEL: "another-host/pid:[1]", PID_LABEL: "999999", PID_START_LABEL: "1"})
    unlabelled = forged()  # made by an older workbook: no session labels, never guessed at
    try:
        killed.send_signal(signal.SIGKILL)
        killed.wait(30)
        for name in killed_names:
            assert client.containers.get(name).status == "running"  # nobody removed them
        started = subprocess.run(
            [sys.executable, "-c", "import helpers as wb; wb.start('01-images-and-layers')"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert started.returncode == 0, started.stderr
        assert "left by a notebook kernel that is gone" in started.stdout
        for name in killed_names:
            assert name in started.stdout
            with pytest.raises(NotFound):
                client.containers.get(name)
        with pytest.raises(NotFound):
            client.containers.get(reused_pid)
        for name in alive_names:
            assert client.containers.get(name).status == "running"
        for kept in (elsewhere, unlabelled):
            client.containers.get(kept)
    finally:
        alive.kill()
        alive.wait(30)
        for leftover in (elsewhere, unlabelled):
            wb.client().containers.get(leftover).remove(force=True)


@pytest.mark.engine
def test_the_sweep_never_touches_another_learners_orphans() -> None:
    me = sessions.this_process()
    other = wb.client().containers.create(
        BUSYBOX,
        ["true"],
        labels={OBJECT_LABEL: "someone-else", HOST_LABEL: me.host, PID_LABEL: "999999", PID_START_LABEL: "1"},
    )
    try:
        assert other.name not in wb.engine.cleanup.sweep_orphans(say=lambda _line: None)
        wb.client().containers.get(other.id)
    finally:
        other.remove(force=True)


def test_ledger_records_atomically_and_forgets() -> None:
    entry = ledger.Entry("sha256:" + "a" * 64, "wb-x/app:1")
    ledger.record(entry.image_id, entry.tag)
    ledger.record(entry.image_id, entry.tag)
    assert ledger.entries() == [entry]
    ledger.forget([entry])
    assert ledger.entries() == []
    assert not [p for p in ledger.FOLDER.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"\x00not json", "not JSON"),
        (b'{"version": 1, "images": [{"id": "sha256:zz", "tag": "x"}]}', "not an image id"),
        (b'{"version": 1, "images": [["a", "b"]]}', "an entry is not"),
        (b"[" * 100_000, "not JSON"),
        (b" " * (ledger.MAX_BYTES + 1), "larger than"),
    ],
    ids=["garbage", "bad-id", "bad-entry", "deep-nesting", "too-large"],
)
def test_a_damaged_ledger_is_one_clear_error(content: bytes, says: str) -> None:
    path = ledger.path_for()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    with pytest.raises(wb.errors.InvalidInput) as caught:
        ledger.entries()
    assert says in str(caught.value) and str(path) in str(caught.value)
    assert "delete that file" in caught.value.hint
    path.unlink()
