"""Turning helper results into JSON data and back: what a recording stores.

Plain values, containers, paths, dates, dataclasses, named tuples, enums, exceptions and
pandas frames round-trip. Anything else cannot be stored (`Unstorable`): the recorder keeps
such an object live behind a proxy and records what is asked of it instead.
Paths and strings under the workbook's folder are stored relative to it, so a recording made
in /work/main replays in /home/jovyan/workbook.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import enum
import importlib
import io
import math
from pathlib import Path, PurePath
from typing import Any

import numpy as np
import pandas as pd

from ..paths import ROOT

ROOT_MARK = "{WORKBOOK}"
TYPE = "__type__"


class Unstorable(TypeError):
    """A value that has no data form (a live client, a container handle, a generator)."""


def _class_path(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _load_class(path: str) -> type:
    module, _, qualname = path.partition(":")
    target: Any = importlib.import_module(module)
    for part in qualname.split("."):
        target = getattr(target, part)
    return getattr(target, "__replay_original__", target)


def _to_relative(text: str) -> str:
    return text.replace(str(ROOT), ROOT_MARK)


def _from_relative(text: str) -> str:
    return text.replace(ROOT_MARK, str(ROOT))


def encode(value: Any) -> Any:
    """A JSON-ready form of `value`; raises Unstorable for objects with no data form."""
    if isinstance(value, enum.Enum):
        return _encode_enum(value)
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {TYPE: "float", "repr": repr(value)}
    if isinstance(value, str):
        return _to_relative(value)
    if isinstance(value, np.generic):
        return encode(value.item())
    if isinstance(value, bytes | bytearray):
        return {TYPE: "bytes", "b64": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, PurePath):
        return {TYPE: "path", "path": _to_relative(str(value))}
    if isinstance(value, dt.datetime | dt.date):
        return {TYPE: type(value).__name__, "iso": value.isoformat()}
    if isinstance(value, pd.DataFrame | pd.Series):
        return _encode_frame(value)
    if isinstance(value, BaseException):
        return _encode_exception(value)
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return {TYPE: "namedtuple", "class": _class_path(type(value)), "items": [encode(v) for v in value]}
    if getattr(value, "__replay_live__", False):
        raise Unstorable(f"{type(value).__qualname__} is a live handle")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        state = {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {TYPE: "dataclass", "class": _class_path(type(value)), "fields": state}
    if type(value) in (list, tuple, set, frozenset):
        kind = type(value).__name__
        items = [encode(v) for v in value]
        return items if kind == "list" else {TYPE: kind, "items": items}
    if type(value) is dict:
        if all(isinstance(k, str) for k in value):
            encoded = {_to_relative(k): encode(v) for k, v in value.items()}
            return {TYPE: "dict", "items": encoded} if TYPE in value else encoded
        return {TYPE: "pairs", "items": [[encode(k), encode(v)] for k, v in value.items()]}
    raise Unstorable(f"{type(value).__module__}.{type(value).__qualname__}")


def storable(value: Any) -> bool:
    try:
        encode(value)
    except Unstorable:
        return False
    return True


def decode(data: Any) -> Any:
    """The value `encode` was given (a fresh copy)."""
    if isinstance(data, str):
        return _from_relative(data)
    if isinstance(data, list):
        return [decode(v) for v in data]
    if not isinstance(data, dict):
        return data
    kind = data.get(TYPE)
    if kind is None:
        return {_from_relative(k): decode(v) for k, v in data.items()}
    decoder = _DECODERS.get(kind)
    if decoder is None:
        raise ValueError(f"unknown recorded type {kind!r}")
    return decoder(data)


def _encode_enum(value: enum.Enum) -> dict[str, Any]:
    return {TYPE: "enum", "class": _class_path(type(value)), "name": value.name}


def _encode_frame(frame: pd.DataFrame | pd.Series) -> dict[str, Any]:
    # Pickle keeps every dtype and index exactly; frames come only from the helpers' own runs.
    buffer = io.BytesIO()
    _map_strings(frame, _to_relative).to_pickle(buffer, compression=None)
    return {TYPE: "frame", "pickle": base64.b64encode(buffer.getvalue()).decode()}


def _decode_frame(data: dict[str, Any]) -> pd.DataFrame | pd.Series:
    frame = pd.read_pickle(io.BytesIO(base64.b64decode(data["pickle"])), compression=None)
    return _map_strings(frame, _from_relative)


def _map_strings(frame: pd.DataFrame | pd.Series, change: Any) -> pd.DataFrame | pd.Series:
    """The frame with `change` applied to every string cell (text columns only)."""

    def column(series: pd.Series) -> pd.Series:
        if series.dtype != object and not pd.api.types.is_string_dtype(series):
            return series
        return series.map(lambda v: change(v) if isinstance(v, str) else v)

    if isinstance(frame, pd.Series):
        return column(frame)
    changed = frame.copy()
    for position in range(changed.shape[1]):
        changed.isetitem(position, column(changed.iloc[:, position]))
    return changed


def _encode_exception(error: BaseException) -> dict[str, Any]:
    state = {}
    for key, value in vars(error).items():
        try:
            state[key] = encode(value)
        except Unstorable:
            continue
    try:
        args = [encode(a) for a in error.args]
    except Unstorable:
        args = [str(error)]
    return {TYPE: "error", "class": _class_path(type(error)), "args": args, "state": state, "text": str(error)}


def _decode_exception(data: dict[str, Any]) -> BaseException:
    text = _from_relative(data["text"])
    try:
        cls = _load_class(data["class"])
    except (ImportError, AttributeError, ValueError):
        from ..errors import ReplayedError

        return ReplayedError(data["class"], text)
    error = cls.__new__(cls)
    error.args = tuple(decode(a) for a in data["args"])
    error.__dict__.update({k: decode(v) for k, v in data["state"].items()})
    try:
        if str(error) == text:
            return error
    except Exception:  # its message needs what could not be recorded (an HTTP response, ...)
        pass
    # The same class (so `except` clauses still match) that says what the recorded one said.
    recorded = type(cls.__name__, (cls,), {"__str__": lambda self: text, "__module__": cls.__module__})
    error.__class__ = recorded
    return error


def _decode_dataclass(data: dict[str, Any]) -> Any:
    cls = _load_class(data["class"])
    value = object.__new__(cls)
    for name, field_data in data["fields"].items():
        object.__setattr__(value, name, decode(field_data))
    return value


def _decode_float(data: dict[str, Any]) -> float:
    return float(data["repr"])


_DECODERS: dict[str, Any] = {
    "float": _decode_float,
    "bytes": lambda d: base64.b64decode(d["b64"]),
    "path": lambda d: Path(_from_relative(d["path"])),
    "datetime": lambda d: dt.datetime.fromisoformat(d["iso"]),
    "date": lambda d: dt.date.fromisoformat(d["iso"]),
    "frame": _decode_frame,
    "error": _decode_exception,
    "enum": lambda d: getattr(_load_class(d["class"]), d["name"]),
    "namedtuple": lambda d: _load_class(d["class"])(*[decode(v) for v in d["items"]]),
    "dataclass": _decode_dataclass,
    "tuple": lambda d: tuple(decode(v) for v in d["items"]),
    "set": lambda d: {decode(v) for v in d["items"]},
    "frozenset": lambda d: frozenset(decode(v) for v in d["items"]),
    "dict": lambda d: {_from_relative(k): decode(v) for k, v in d["items"].items()},
    "pairs": lambda d: {decode(k): decode(v) for k, v in d["items"]},
}
