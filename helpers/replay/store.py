"""A notebook's recording: what each helper call returned in a real run, in call order.

On disk: notebooks/recordings/NAME.json.gz, written by `python -m helpers record`.
While a notebook records, each call is appended to .workbook/recordings/NAME.jsonl, so a
kernel that dies loses nothing; `compact` turns the lines into the committed file.
"""

from __future__ import annotations

import gzip
import json
import os
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers.errors import BadRecording, InvalidInput, NotRecorded
from helpers.paths import NOTEBOOKS, STATE

FORMAT = 2  # 2: data only, stable type tags (format 1 stored pickled frames and class paths)
MAX_RECORDING = 64 << 20  # decompressed; the largest real one is under 3 MB
OUTCOME_KEYS = frozenset({"value", "raise", "stdout", "proxy", "callable"})
# Tests record into a folder of their own; everyone else uses the committed one.
RECORDINGS_ENV = "WORKBOOK_RECORDINGS"


def recordings_dir() -> Path:
    return Path(os.environ.get(RECORDINGS_ENV) or NOTEBOOKS / "recordings")


def recording_path(notebook: str) -> Path:
    return recordings_dir() / f"{notebook}.json.gz"


def journal_path(notebook: str) -> Path:
    """Where a recording in progress is journaled (beside the recordings when a test moved them)."""
    folder = Path(os.environ[RECORDINGS_ENV]) / "journal" if os.environ.get(RECORDINGS_ENV) else STATE / "recordings"
    return folder / f"{notebook}.jsonl"


class Journal:
    """Record mode: append each outcome as one JSON line."""

    def __init__(self, notebook: str, header: dict[str, Any]) -> None:
        self.path = journal_path(notebook)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps({"header": header}) + "\n")

    def append(self, function: str, key: str, outcome: dict[str, Any]) -> None:
        with self.path.open("a") as out:
            out.write(json.dumps({"function": function, "key": key, "outcome": outcome}) + "\n")


def compact(notebook: str) -> Path:
    """Turn a finished journal into the committed recording; returns its path."""
    source = journal_path(notebook)
    if not source.is_file():
        raise InvalidInput(
            f"No recording in progress for {notebook}",
            where=str(source),
            hint="record with `python -m helpers record`, which runs the notebook against a real engine",
        )
    lines = [json.loads(line) for line in source.read_text().splitlines() if line.strip()]
    calls: dict[str, list[dict[str, Any]]] = defaultdict(list)
    order: dict[str, list[list[Any]]] = defaultdict(list)
    for entry in lines[1:]:
        outcomes = calls[entry["key"]]
        if entry["outcome"].get("callable") and outcomes:
            continue  # an attribute that is a method: recorded once
        order[entry["function"]].append([entry["key"], len(outcomes)])
        outcomes.append(entry["outcome"])
    document = {"format": FORMAT, **lines[0]["header"], "calls": calls, "order": order}
    target = recording_path(notebook)
    target.parent.mkdir(parents=True, exist_ok=True)
    # mtime=0: the same recording gives the same bytes, so git sees no change.
    with target.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out:
        out.write(json.dumps(document, indent=None, sort_keys=True).encode())
    _index(notebook, lines[0]["header"])
    source.unlink()
    return target


def recordings() -> dict[str, str]:
    """Each committed recording: notebook name -> the date it was recorded."""
    index = _read_index()
    return {
        path.name.removesuffix(".json.gz"): str(index.get(path.name.removesuffix(".json.gz"), {}).get("recorded", ""))
        for path in sorted(recordings_dir().glob("*.json.gz"))
    }


def _read_index() -> dict[str, Any]:
    try:
        return dict(json.loads((recordings_dir() / "index.json").read_text()))
    except (OSError, ValueError):
        return {}


def _index(notebook: str, header: dict[str, Any]) -> None:
    index = _read_index()
    index[notebook] = {"recorded": header.get("notebook_recorded", ""), "engine": header.get("engine_version", "")}
    (recordings_dir() / "index.json").write_text(json.dumps(dict(sorted(index.items())), indent=1) + "\n")


@dataclass
class Recording:
    """Replay mode: answers calls from a committed recording."""

    notebook: str
    header: dict[str, Any]
    calls: dict[str, list[dict[str, Any]]]
    order: dict[str, list[list[Any]]]
    asked: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    asked_function: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    path: Path = field(default_factory=Path)

    @classmethod
    def load(cls, notebook: str) -> Recording:
        path = recording_path(notebook)
        try:
            with gzip.open(path, "rb") as raw:
                data = raw.read(MAX_RECORDING + 1)
            if len(data) > MAX_RECORDING:
                raise _bad(path, f"it unpacks to more than {MAX_RECORDING >> 20} MB")
            document = json.loads(data)
        except FileNotFoundError:
            raise NotRecorded(
                f"There is no recording for {notebook}, so it cannot replay without an engine",
                where=str(path),
                hint="start a Docker engine (`make lab` installs one on Linux), or record this notebook "
                "once where an engine runs: `python -m helpers record " + notebook + "`",
            ) from None
        except (OSError, EOFError, zlib.error, ValueError, RecursionError, MemoryError) as exc:
            raise _bad(
                path, f"it is not a complete gzipped JSON file ({type(exc).__name__}: {str(exc)[:200]})"
            ) from None
        calls, order = _validated(path, document)
        header = {k: v for k, v in document.items() if k not in ("calls", "order")}
        return cls(notebook, header, calls, order, path=path)

    def bad(self, problem: str) -> BadRecording:
        """The error for a recording whose content turns out wrong while replaying."""
        return _bad(self.path, problem)

    def kind(self, key: str) -> dict[str, Any] | None:
        """The first outcome of `key` without counting it as asked (tells methods from values)."""
        outcomes = self.calls.get(key)
        return outcomes[0] if outcomes else None

    def answer(self, function: str, key: str) -> tuple[dict[str, Any], bool]:
        """The outcome for this call and whether it matched its arguments exactly.

        Asked again (a cell run twice), a call gets its last recorded outcome. Asked with
        arguments never recorded (a random name, an edited file), it gets the outcome of the
        call that came at the same place in the recorded run.
        """
        number = self.asked_function[function]
        self.asked_function[function] += 1
        outcomes = self.calls.get(key)
        if outcomes:
            index = min(self.asked[key], len(outcomes) - 1)
            self.asked[key] += 1
            return outcomes[index], True
        sequence = self.order.get(function)
        if sequence:
            other_key, index = sequence[min(number, len(sequence) - 1)]
            return self.calls[other_key][index], False
        raise NotRecorded(
            f"The recording of {self.notebook} holds no call to {function}",
            where=key[:300],
            hint="replay mode can only show what a real run recorded; start a Docker engine to run your own "
            "builds and containers",
        )


def _bad(path: Path, problem: str) -> BadRecording:
    return BadRecording(
        f"The replay recording {path.name} cannot be used: {problem}",
        where=str(path),
        hint="a recording is written only by `python -m helpers record`; restore the committed one with "
        f"`git checkout -- notebooks/recordings/{path.name}`, or record it again where an engine runs",
    )


def _validated(path: Path, document: Any) -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[list[Any]]]]:
    """The calls and order of a recording, after checking every shape replay relies on."""
    if not isinstance(document, dict):
        raise _bad(path, "it is not a JSON object")
    if document.get("format") != FORMAT:
        raise _bad(path, f"it has format {str(document.get('format'))[:20]}, and this workbook reads format {FORMAT}")
    calls, order = document.get("calls"), document.get("order")
    if not isinstance(calls, dict) or not isinstance(order, dict):
        raise _bad(path, "it has no 'calls' and 'order' mappings")
    for key, outcomes in calls.items():
        if not isinstance(outcomes, list) or not outcomes:
            raise _bad(path, f"the call {key[:80]!r} has no list of outcomes")
        for outcome in outcomes:
            if not isinstance(outcome, dict) or set(outcome) - OUTCOME_KEYS:
                raise _bad(path, f"an outcome of {key[:80]!r} is not one this workbook writes")
            if "proxy" in outcome and not isinstance(outcome["proxy"], str):
                raise _bad(path, f"an outcome of {key[:80]!r} names its object with something not text")
    for function, sequence in order.items():
        if not isinstance(sequence, list):
            raise _bad(path, f"the order of {function[:80]!r} is not a list")
        for entry in sequence:
            if (
                not isinstance(entry, list)
                or len(entry) != 2
                or not isinstance(entry[0], str)
                or type(entry[1]) is not int
                or not 0 <= entry[1] < len(calls.get(entry[0], []))
            ):
                raise _bad(path, f"the order of {function[:80]!r} points at a call that is not recorded")
    return calls, order
