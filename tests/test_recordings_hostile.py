"""Recordings are data: a hostile or broken one runs nothing and fails with one paragraph naming it."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import gzip
import json
import math
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import helpers as wb
from helpers.classroom.session import start
from helpers.engine import daemon
from helpers.errors import BadRecording, EngineUnavailable, ReplayedError
from helpers.labels import LEARNER_ENV, learner
from helpers.replay import SESSION, codec
from helpers.replay.session import Session, call_key
from helpers.replay.store import FORMAT, RECORDINGS_ENV, compact, journal_path, recording_path

NOTEBOOK = "01-images-and-layers"


class _Shell:
    """Unpickling this runs a shell command: what a hostile pickle would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.marker}",))


def _write(folder: Path, document: object, *, raw: bytes | None = None) -> Path:
    path = folder / f"{NOTEBOOK}.json.gz"
    with gzip.open(path, "wb") as out:
        out.write(raw if raw is not None else json.dumps(document).encode())
    return path


def _document(value: object) -> dict[str, object]:
    return {
        "format": FORMAT,
        "learner": "ana",
        "calls": {"demo.f([[], {}])": [{"value": value}]},
        "order": {"demo.f": [["demo.f([[], {}])", 0]]},
    }


def _replay_one(folder: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    monkeypatch.setenv(RECORDINGS_ENV, str(folder))
    player = Session()
    player.replay(NOTEBOOK)
    return player.call("demo.f", None, (), {})


# -- nothing named in a recording is imported or run ------------------------------------------
HOSTILE_VALUES = {
    "namedtuple naming os:system": {"__type__": "namedtuple", "class": "os:system", "items": ["touch {marker}"]},
    "dataclass naming subprocess:Popen": {
        "__type__": "dataclass",
        "class": "subprocess:Popen",
        "fields": {"args": "touch {marker}"},
    },
    "enum naming os:system": {"__type__": "enum", "class": "os:system", "name": "x"},
    "module path as a tag": {"__type__": "os:system", "items": ["touch {marker}"]},
}


@pytest.mark.parametrize("case", sorted(HOSTILE_VALUES))
def test_a_recording_naming_code_runs_nothing(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "ran"
    value = json.loads(json.dumps(HOSTILE_VALUES[case]).replace("{marker}", str(marker)))
    _write(tmp_path, _document(value))
    with pytest.raises(BadRecording) as caught:
        _replay_one(tmp_path, monkeypatch)
    assert f"{NOTEBOOK}.json.gz cannot be used" in str(caught.value)
    assert "unknown recorded type" in str(caught.value)
    assert not marker.exists(), "decoding ran a command named in the recording"


def test_a_pickled_frame_is_never_unpickled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "ran"
    payload = base64.b64encode(pickle.dumps(_Shell(marker))).decode()
    _write(tmp_path, _document({"__type__": "frame", "pickle": payload}))
    with pytest.raises(BadRecording, match="wrong shape"):
        _replay_one(tmp_path, monkeypatch)
    assert not marker.exists(), "a pickle in a recording was unpickled"


def test_an_error_of_a_class_outside_the_allow_list_comes_back_as_a_replayed_error() -> None:
    recorded = {"__type__": "error", "class": "os:system", "name": "Boom", "args": [], "state": {}, "text": "x"}
    error = codec.decode(recorded)
    assert isinstance(error, ReplayedError) and "Boom" in str(error)


# -- broken recordings: one paragraph that names the file -------------------------------------
BROKEN: dict[str, tuple[object, bytes | None, str]] = {
    "truncated gzip": (None, b"", "not a complete gzipped JSON file"),
    "not JSON": (None, b"{calls: [", "not a complete gzipped JSON file"),
    "a list, not an object": ([1, 2], None, "not a JSON object"),
    "format 1": ({"format": 1, "calls": {}, "order": {}}, None, "has format 1"),
    "no calls": ({"format": FORMAT}, None, "no 'calls' and 'order'"),
    "calls of the wrong type": ({"format": FORMAT, "calls": [], "order": {}}, None, "no 'calls' and 'order'"),
    "an outcome with an unknown key": (
        {"format": FORMAT, "calls": {"k": [{"exec": "x"}]}, "order": {}},
        None,
        "not one this workbook writes",
    ),
    "an order pointing past its calls": (
        {"format": FORMAT, "calls": {"k": [{"value": 1}]}, "order": {"f": [["k", 5]]}},
        None,
        "points at a call that is not recorded",
    ),
    "a proxy named by a number": (
        {"format": FORMAT, "calls": {"k": [{"proxy": 3}]}, "order": {}},
        None,
        "names its object with something not text",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_recording_gets_one_paragraph(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    document, raw, expected = BROKEN[case]
    path = _write(tmp_path, document, raw=raw)
    if case == "truncated gzip":
        path.write_bytes(gzip.compress(json.dumps(_document(1)).encode())[:40])
    monkeypatch.setenv(RECORDINGS_ENV, str(tmp_path))
    with pytest.raises(BadRecording) as caught:
        Session().replay(NOTEBOOK)
    text = str(caught.value)
    assert expected in text and str(path) in text and "python -m helpers record" in text


def test_a_recording_that_unpacks_too_big_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / f"{NOTEBOOK}.json.gz"
    with gzip.open(path, "wb") as out:
        out.write(b'{"format": 2, "pad": "' + b" " * (65 << 20) + b'"}')
    monkeypatch.setenv(RECORDINGS_ENV, str(tmp_path))
    with pytest.raises(BadRecording, match="unpacks to more than 64 MB"):
        Session().replay(NOTEBOOK)


def test_deep_nesting_is_refused_not_a_recursion_error() -> None:
    deep: object = 1
    for _ in range(200):
        deep = [deep]
    with pytest.raises(codec.CodecError, match="nested deeper"):
        codec.decode(deep)


@pytest.mark.parametrize(
    "value",
    [
        {"__type__": "build-result", "fields": {"nope": 1}},
        {"__type__": "build-step", "items": [1]},
        {"__type__": "float", "repr": "__import__('os')"},
        {"__type__": "bytes", "b64": "***"},
        {"__type__": "pairs", "items": [[[1], 2]]},
        {"__type__": "frame", "columns": [{"name": "a", "dtype": "object; os.system", "values": []}], "index": {}},
    ],
    ids=["unknown field", "short tuple", "float text", "bad base64", "unhashable key", "odd dtype"],
)
def test_a_wrong_shape_is_a_codec_error(value: dict[str, object]) -> None:
    with pytest.raises(codec.CodecError):
        codec.decode(value)


# -- the types that round-trip ------------------------------------------------------------------
def _roundtrip(value: object) -> object:
    return codec.decode(json.loads(json.dumps(codec.encode(value))))


def test_frames_round_trip_as_data_with_their_dtypes() -> None:
    frame = pd.DataFrame(
        {
            "count": np.array([1, 2, 3], dtype="int64"),
            "mb": [1.5, math.nan, 3.0],
            "cached": [True, False, True],
            "name": ["a", None, "c"],
            "when": pd.to_datetime(["2026-01-01", "2026-06-01", None], utc=True),
            "kind": pd.Categorical(["x", "y", "x"]),
            "maybe": pd.array([1, None, 3], dtype="Int64"),
        },
        index=pd.Index(["r1", "r2", "r3"], name="row"),
    )
    frame.attrs["files_scanned"] = 12  # what a helper notes beside its rows travels with them
    again = _roundtrip(frame)
    assert isinstance(again, pd.DataFrame)
    pd.testing.assert_frame_equal(again, frame)
    assert again.attrs == {"files_scanned": 12}
    series = pd.Series([1.0, 2.5], name="size", index=pd.RangeIndex(2))
    pd.testing.assert_series_equal(_roundtrip(series), series)  # type: ignore[arg-type]


def test_every_type_tag_names_a_workbook_data_type_and_every_error_tag_an_error() -> None:
    for tag, (module, name) in codec.TYPES.items():
        cls = codec._resolve(module, name)
        assert dataclasses.is_dataclass(cls) or (issubclass(cls, tuple) and hasattr(cls, "_fields")), tag
        assert module.startswith("helpers."), tag
    for tag, (module, name) in codec.ERRORS.items():
        assert issubclass(codec._resolve(module, name), BaseException), tag


def test_an_unlisted_type_is_unstorable_and_so_recorded_as_a_live_object() -> None:
    @dataclasses.dataclass
    class Elsewhere:
        x: int

    with pytest.raises(codec.Unstorable):
        codec.encode(Elsewhere(1))


def test_dates_and_paths_round_trip() -> None:
    value = {"when": dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC), "day": dt.date(2026, 1, 2), "p": Path("/x")}
    assert _roundtrip(value) == value


# -- secrets never reach a recording -----------------------------------------------------------
class _Registry:
    def login(self, username: str, password: str) -> dict[str, str]:
        return {"Status": "Login Succeeded", "IdentityToken": password}


def test_secrets_are_not_recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    token = "dckr_pat_" + "Z" * 24
    monkeypatch.setenv("DOCKERHUB_TOKEN", token)
    monkeypatch.setenv(RECORDINGS_ENV, str(tmp_path))
    recorder = Session()
    recorder.record("97-secret", {})
    registry = recorder.call("demo.registry", _Registry, (), {})
    registry.login(username="ana", password=token)
    registry.login("ana", token)  # positional: caught by its value
    recorder.call("demo.echo", lambda text: print(text) or text, (f"token={token}",), {})
    journal = journal_path("97-secret").read_text()
    assert token not in journal and "<secret>" in journal
    written = gzip.decompress(compact("97-secret").read_bytes()).decode()
    assert token not in written


def test_a_short_or_word_like_environment_value_masks_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A variable named like a secret whose value is a common word must not mask field names."""
    monkeypatch.setenv("WORKBOOK_STORE_PASS", "second")
    monkeypatch.setenv(RECORDINGS_ENV, str(tmp_path))
    recorder = Session()
    recorder.record("96-fields", {})
    result = wb.BuildResult("wb-ana/x:1", "sha256:" + "a" * 64, 1, 2.0, [], "log")
    recorder.call("demo.build", lambda: result, (), {})
    again = codec.decode(json.loads(journal_path("96-fields").read_text().splitlines()[1])["outcome"]["value"])
    assert again == result


# -- replay keeps to itself --------------------------------------------------------------------
def test_replay_leaves_the_environment_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(RECORDINGS_ENV, str(tmp_path))
    monkeypatch.setenv("WORKBOOK_MODE", "replay")
    monkeypatch.setenv(LEARNER_ENV, "bea")
    recorder = Session()
    recorder.record(NOTEBOOK, {"learner": "recorded-ana"})
    compact(NOTEBOOK)
    try:
        start(NOTEBOOK)
        assert learner() == "recorded-ana", "names follow the recorded learner while replaying"
        assert os.environ[LEARNER_ENV] == "bea", "replay changed the environment"
        with pytest.raises(EngineUnavailable, match="Replay mode: this needs the Docker engine"):
            daemon.client()  # an engine call no recording answers fails plainly
    finally:
        monkeypatch.setenv("WORKBOOK_MODE", "live")
        start(NOTEBOOK)
    assert learner() == "bea" and SESSION.mode == wb.replay.LIVE
    assert recording_path(NOTEBOOK).parent == tmp_path


def test_a_folder_outside_the_workbook_is_keyed_by_its_name_not_walked() -> None:
    """Keys digest the workbook's own folders (an edited Dockerfile is another call), never "/" or $HOME."""
    assert '"content"' not in call_key("demo.f", ("/",), {})
    assert '"content"' not in call_key("demo.f", (str(Path.home()),), {})
    inside = call_key("demo.f", (str(wb.paths.ROOT / "apps" / "go-app"),), {})
    assert '"content"' in inside and str(wb.paths.ROOT) not in inside
