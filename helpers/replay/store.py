"""A notebook's recording: what each helper call returned in a real run, in call order.

On disk: notebooks/recordings/NAME.json.gz, written by `python -m helpers record`.
While a notebook records, each call is appended to .workbook/recordings/NAME.jsonl, so a
kernel that dies loses nothing; `compact` turns the lines into the committed file.
"""

from __future__ import annotations

import gzip
import json
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidInput, NotRecorded
from ..paths import NOTEBOOKS, STATE

FORMAT = 1
# Tests record into a folder of their own; everyone else uses the committed one.
RECORDINGS_ENV = "WORKBOOK_RECORDINGS"


def recordings_dir() -> Path:
    return Path(os.environ.get(RECORDINGS_ENV) or NOTEBOOKS / "recordings")


def recording_path(notebook: str) -> Path:
    return recordings_dir() / f"{notebook}.json.gz"


def journal_path(notebook: str) -> Path:
    return STATE / "recordings" / f"{notebook}.jsonl"


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

    @classmethod
    def load(cls, notebook: str) -> Recording:
        path = recording_path(notebook)
        try:
            with gzip.open(path, "rt") as raw:
                document = json.load(raw)
        except FileNotFoundError:
            raise NotRecorded(
                f"There is no recording for {notebook}, so it cannot replay without an engine",
                where=str(path),
                hint="start a Docker engine (`make lab` installs one on Linux), or record this notebook "
                "once where an engine runs: `python -m helpers record " + notebook + "`",
            ) from None
        except (OSError, ValueError) as exc:
            raise NotRecorded(
                f"The recording for {notebook} cannot be read",
                where=str(path),
                detail=str(exc),
                hint=f"restore it with `git checkout -- {path.relative_to(NOTEBOOKS.parent)}` or record it again",
            ) from None
        header = {k: v for k, v in document.items() if k not in ("calls", "order")}
        return cls(notebook, header, document["calls"], document["order"])

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
