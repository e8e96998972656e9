"""Turning helper results into JSON data and back: what a recording stores.

Data only. Plain values, containers, paths, dates, frames, and an allow-list of the workbook's
own result types and errors round-trip; each of those is named by a stable type tag (TYPES,
ERRORS below), never by a module path, so moving a module does not invalidate a recording and
nothing named in a file is imported or called. Anything else cannot be stored (`Unstorable`):
the recorder keeps such an object live behind a proxy and records what is asked of it instead.
Decoding anything not written this way raises `CodecError`.

Paths and strings under the workbook's folder are stored relative to it, so a recording made
in /work/main replays in /home/jovyan/workbook.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import importlib
import math
import re
from functools import cache
from pathlib import Path, PurePath
from typing import Any

import numpy as np
import pandas as pd

from helpers.paths import ROOT

ROOT_MARK = "{WORKBOOK}"
TYPE = "__type__"
MAX_DEPTH = 60

# Stable tag -> the workbook's own data type (module, class). Only these are ever rebuilt.
TYPES: dict[str, tuple[str, str]] = {
    "base": ("helpers.catalog", "Base"),
    "base-status": ("helpers.bases.provision", "BaseStatus"),
    "kit-image": ("helpers.bases.kit", "KitImage"),
    "engine-info": ("helpers.engine.daemon", "EngineInfo"),
    "build-result": ("helpers.engine.build", "BuildResult"),
    "build-step": ("helpers.engine.buildlog", "BuildStep"),
    "build-failure": ("helpers.engine.buildlog", "Failure"),
    "run-output": ("helpers.engine.run", "RunOutput"),
    "removed": ("helpers.engine.cleanup", "Removed"),
    "archive": ("helpers.engine.saveload", "Archive"),
    "completed": ("helpers.engine.proc", "Completed"),
    "layer-entry": ("helpers.analysis.layerfiles", "Entry"),
    "layer": ("helpers.analysis.layerfiles", "Layer"),
    "inefficiency": ("helpers.analysis.layerfiles", "Inefficiency"),
    "image-analysis": ("helpers.analysis.layerfiles", "ImageAnalysis"),
    "sbom": ("helpers.analysis.sbom", "Sbom"),
    "secret-finding": ("helpers.analysis.secretscan", "Finding"),
    "feedback": ("helpers.exercises.feedback", "Feedback"),
    "feedback-item": ("helpers.exercises.feedback", "Item"),
    "served": ("helpers.exercises.probe", "Served"),
    "doctor-check": ("helpers.classroom.doctor", "Check"),
}
# Stable tag -> an error class a recorded run may have raised. Unknown ones replay as ReplayedError.
ERRORS: dict[str, tuple[str, str]] = {
    **{
        name: ("helpers.errors", name)
        for name in [
            "WorkbookError",
            "EngineUnavailable",
            "CommandFailed",
            "BuildFailed",
            "NoSuchImage",
            "BaseUnavailable",
            "ContainerFailed",
            "RegistryError",
            "LoginRefused",
            "KitError",
            "KitMissing",
            "EmptyImage",
            "ExportFailed",
            "InvalidInput",
            "ArchiveMissing",
            "ArchiveTruncated",
            "NotAnImageArchive",
            "NotRecorded",
            "SecurityIndexUnavailable",
        ]
    },
    **{
        f"docker.{name}": ("docker.errors", name)
        for name in ["DockerException", "APIError", "NotFound", "ImageNotFound", "BuildError", "ContainerError"]
    },
    **{
        name: ("builtins", name)
        for name in [
            "ValueError",
            "KeyError",
            "TypeError",
            "RuntimeError",
            "OSError",
            "FileNotFoundError",
            "PermissionError",
            "TimeoutError",
            "StopIteration",
            "IndexError",
            "AttributeError",
            "AssertionError",
            "ConnectionError",
        ]
    },
}
_NUMERIC_DTYPE = re.compile(r"^(u?int(8|16|32|64)|U?Int(8|16|32|64)|float(16|32|64)|Float(32|64)|bool|boolean)$")
_TIME_DTYPE = re.compile(r"^datetime64\[(ns|us|ms|s)(, UTC)?\]$")
_TEXT_DTYPES = ("object", "string", "str")


class Unstorable(TypeError):
    """A value that has no data form (a live client, a container handle, a generator)."""


class CodecError(ValueError):
    """Recorded data that this codec never writes (an unknown tag, a wrong shape)."""


@cache
def _resolve(module: str, name: str) -> type:
    target = getattr(importlib.import_module(module), name)
    return getattr(target, "__wrapped__", target)


@cache
def _tag_of(cls: type) -> str | None:
    for tag, (module, name) in TYPES.items():
        if _resolve(module, name) is cls:
            return tag
    return None


@cache
def _error_tag(cls: type) -> str | None:
    """The tag of `cls`, or of its nearest allow-listed ancestor."""
    for klass in cls.__mro__:
        for tag, (module, name) in ERRORS.items():
            if _resolve(module, name) is klass:
                return tag
    return None


def _to_relative(text: str) -> str:
    return text.replace(str(ROOT), ROOT_MARK)


def _from_relative(text: str) -> str:
    return text.replace(ROOT_MARK, str(ROOT))


# -- encoding ---------------------------------------------------------------------------
def encode(value: Any) -> Any:
    """A JSON-ready form of `value`; raises Unstorable for objects with no data form."""
    if value is None or type(value) in (bool, int):
        return value
    if type(value) is float:
        return value if math.isfinite(value) else {TYPE: "float", "repr": repr(value)}
    if type(value) is str:
        return _to_relative(value)
    if isinstance(value, np.generic):
        return encode(value.item())
    if isinstance(value, bytes | bytearray):
        return {TYPE: "bytes", "b64": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, PurePath):
        return {TYPE: "path", "path": _to_relative(str(value))}
    if isinstance(value, dt.datetime | dt.date):
        kind = "datetime" if isinstance(value, dt.datetime) else "date"
        return {TYPE: kind, "iso": value.isoformat()}
    if isinstance(value, pd.DataFrame | pd.Series):
        return _encode_frame(value)
    if isinstance(value, BaseException):
        return _encode_exception(value)
    tag = _tag_of(type(value))
    if tag is not None:
        return _encode_record(tag, value)
    if type(value) in (list, tuple, set, frozenset):
        items = [encode(v) for v in value]
        return items if type(value) is list else {TYPE: type(value).__name__, "items": items}
    if type(value) is dict:
        if all(type(k) is str for k in value):
            encoded = {_to_relative(k): encode(v) for k, v in value.items()}
            return {TYPE: "dict", "items": encoded} if TYPE in value else encoded
        return {TYPE: "pairs", "items": [[encode(k), encode(v)] for k, v in value.items()]}
    for plain in (int, float, str):  # their subclasses (str enums, ...): the plain value
        if isinstance(value, plain):
            return encode(plain(value))
    raise Unstorable(f"{type(value).__module__}.{type(value).__qualname__}")


def _encode_record(tag: str, value: Any) -> dict[str, Any]:
    if isinstance(value, tuple):
        return {TYPE: tag, "items": [encode(v) for v in value]}
    fields = {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return {TYPE: tag, "fields": fields}


def _encode_frame(frame: pd.DataFrame | pd.Series) -> dict[str, Any]:
    series = isinstance(frame, pd.Series)
    table = frame.to_frame() if series else frame
    columns = []
    for position in range(table.shape[1]):
        column = table.iloc[:, position]
        columns.append({"name": encode(table.columns[position]), **_encode_values(column)})
    return {
        TYPE: "series" if series else "frame",
        "name": encode(frame.name) if series else None,
        "columns": columns,
        "index": _encode_index(table.index),
        "attrs": encode(dict(frame.attrs)),  # what a helper notes beside its rows (e.g. files scanned)
    }


def _encode_values(values: pd.Series | pd.Index) -> dict[str, Any]:
    dtype = str(values.dtype)
    if _TIME_DTYPE.match(dtype):
        cells = [None if pd.isna(v) else v.isoformat() for v in values]
    elif _NUMERIC_DTYPE.match(dtype) or dtype in _TEXT_DTYPES:
        cells = [None if v is pd.NA else encode(v) for v in values.tolist()]
    elif dtype == "category":
        return {"dtype": "category", "values": [encode(v) for v in values.astype(object).tolist()]}
    else:
        raise Unstorable(f"a frame column of dtype {dtype}")
    return {"dtype": dtype, "values": cells}


def _encode_index(index: pd.Index) -> dict[str, Any]:
    if isinstance(index, pd.RangeIndex):
        return {"range": [index.start, index.stop, index.step], "name": encode(index.name)}
    if isinstance(index, pd.MultiIndex):
        raise Unstorable("a frame with a MultiIndex")
    return {"name": encode(index.name), **_encode_values(index)}


def _encode_exception(error: BaseException) -> dict[str, Any]:
    state = {}
    for key, value in vars(error).items():
        if not key.isidentifier() or key.startswith("__"):
            continue
        try:
            state[key] = encode(value)
        except Unstorable:
            continue
    try:
        args = [encode(a) for a in error.args]
    except Unstorable:
        args = [str(error)]
    return {
        TYPE: "error",
        "class": _error_tag(type(error)) or "",
        "name": type(error).__qualname__,
        "args": args,
        "state": state,
        "text": _to_relative(str(error)),
    }


# -- decoding ---------------------------------------------------------------------------
def decode(data: Any, depth: int = 0) -> Any:
    """The value `encode` was given (a fresh copy); CodecError for anything else."""
    if depth > MAX_DEPTH:
        raise CodecError(f"values nested deeper than {MAX_DEPTH} levels")
    if isinstance(data, str):
        return _from_relative(data)
    if data is None or isinstance(data, bool | int | float):
        return data
    if isinstance(data, list):
        return [decode(v, depth + 1) for v in data]
    if not isinstance(data, dict):
        raise CodecError(f"a value of JSON type {type(data).__name__}")
    kind = data.get(TYPE)
    if kind is None:
        return {_from_relative(_text(k)): decode(v, depth + 1) for k, v in data.items()}
    try:
        if kind in _DECODERS:
            return _DECODERS[kind](data, depth + 1)
        if kind in TYPES:
            return _decode_record(kind, data, depth + 1)
    except CodecError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, binascii.Error, OverflowError) as exc:
        raise CodecError(f"a recorded {_text(kind)!r} value of the wrong shape ({type(exc).__name__}: {exc})") from None
    raise CodecError(f"unknown recorded type {str(kind)[:80]!r}")


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise CodecError(f"text expected, found {type(value).__name__}")
    return value


def _items(data: dict[str, Any], key: str, depth: int) -> list[Any]:
    items = data[key]
    if not isinstance(items, list):
        raise CodecError(f"{key!r} must be a list")
    return [decode(v, depth) for v in items]


def _decode_record(tag: str, data: dict[str, Any], depth: int) -> Any:
    cls = _resolve(*TYPES[tag])
    if issubclass(cls, tuple):
        items = _items(data, "items", depth)
        if len(items) != len(cls._fields):  # type: ignore[attr-defined]
            raise CodecError(f"a recorded {tag!r} with {len(items)} items")
        return cls(*items)
    fields = data["fields"]
    names = {f.name for f in dataclasses.fields(cls)}
    if not isinstance(fields, dict) or set(fields) - names:
        raise CodecError(f"a recorded {tag!r} with fields this workbook's {cls.__name__} does not have")
    value = object.__new__(cls)
    for field in dataclasses.fields(cls):
        if field.name in fields:
            object.__setattr__(value, field.name, decode(fields[field.name], depth))
        elif field.default is not dataclasses.MISSING:
            object.__setattr__(value, field.name, field.default)
        elif field.default_factory is not dataclasses.MISSING:
            object.__setattr__(value, field.name, field.default_factory())
        else:
            raise CodecError(f"a recorded {tag!r} without its field {field.name!r}")
    return value


def _decode_values(spec: dict[str, Any], depth: int) -> tuple[list[Any], str]:
    dtype = _text(spec["dtype"])
    values = spec["values"]
    if not isinstance(values, list):
        raise CodecError("frame values must be a list")
    if _TIME_DTYPE.match(dtype):
        return [None if v is None else pd.Timestamp(_text(v)) for v in values], dtype
    if _NUMERIC_DTYPE.match(dtype) or dtype in (*_TEXT_DTYPES, "category"):
        return [decode(v, depth) for v in values], dtype
    raise CodecError(f"a frame column of dtype {dtype[:40]!r}")


def _as_array(values: list[Any], dtype: str) -> Any:
    if dtype in ("object", "str"):
        array = np.empty(len(values), dtype=object)
        array[:] = values
        return array
    if dtype.startswith(("float", "Float")):
        values = [math.nan if v is None and dtype.startswith("float") else v for v in values]
    return pd.array(values, dtype=dtype) if dtype != "category" else pd.Categorical(values)


def _decode_frame(data: dict[str, Any], depth: int) -> pd.DataFrame | pd.Series:
    index_spec = data["index"]
    if "range" in index_spec:
        start, stop, step = (int(v) for v in index_spec["range"])
        index: pd.Index = pd.RangeIndex(start, stop, step, name=decode(index_spec.get("name"), depth))
    else:
        values, dtype = _decode_values(index_spec, depth)
        index = pd.Index(_as_array(values, dtype), name=decode(index_spec.get("name"), depth))
    columns = data["columns"]
    if not isinstance(columns, list):
        raise CodecError("frame columns must be a list")
    built = {}
    names = []
    for position, column in enumerate(columns):
        values, dtype = _decode_values(column, depth)
        if len(values) != len(index):
            raise CodecError("a frame column whose length differs from its index")
        built[position] = pd.Series(_as_array(values, dtype), index=index)
        names.append(decode(column["name"], depth))
    frame = pd.DataFrame(built, index=index)
    frame.columns = names if names else pd.Index([])
    attrs = decode(data.get("attrs") or {}, depth)
    if not isinstance(attrs, dict):
        raise CodecError("a frame's attrs must be a mapping")
    if data[TYPE] == "series":
        if frame.shape[1] != 1:
            raise CodecError("a recorded series with other than one column")
        series = frame.iloc[:, 0]
        series.name = decode(data.get("name"), depth)
        series.attrs = attrs
        return series
    frame.attrs = attrs
    return frame


def _decode_exception(data: dict[str, Any], depth: int) -> BaseException:
    from helpers.errors import ReplayedError

    text = _from_relative(_text(data["text"]))
    tag = data.get("class") or ""
    if tag not in ERRORS:
        return ReplayedError(_text(data.get("name", "an error")), text)
    cls = _resolve(*ERRORS[tag])
    error = cls.__new__(cls)
    error.args = tuple(_items(data, "args", depth))
    state = data["state"]
    if not isinstance(state, dict):
        raise CodecError("an error's state must be a mapping")
    for key, value in state.items():
        if isinstance(key, str) and key.isidentifier() and not key.startswith("__"):
            error.__dict__[key] = decode(value, depth)
    try:
        if str(error) == text:
            return error
    except Exception:  # its message needs what could not be recorded (an HTTP response, ...)
        pass
    # The same class (so `except` clauses still match) that says what the recorded one said.
    recorded = type(cls.__name__, (cls,), {"__str__": lambda self: text, "__module__": cls.__module__})
    error.__class__ = recorded
    return error


def _decode_float(data: dict[str, Any], depth: int) -> float:
    text = _text(data["repr"])
    if text not in ("nan", "inf", "-inf"):
        raise CodecError(f"a recorded special float {text[:20]!r}")
    return float(text)


def _decode_pairs(data: dict[str, Any], depth: int) -> dict[Any, Any]:
    pairs = {}
    for pair in data["items"]:
        key, value = pair
        key = decode(key, depth)
        if isinstance(key, list | dict | set):
            raise CodecError("a recorded mapping key that is not hashable")
        pairs[key] = decode(value, depth)
    return pairs


def _decode_set(data: dict[str, Any], depth: int) -> set[Any]:
    items = _items(data, "items", depth)
    if any(isinstance(v, list | dict | set) for v in items):
        raise CodecError("a recorded set member that is not hashable")
    return set(items)


def _decode_dict(data: dict[str, Any], depth: int) -> dict[str, Any]:
    items = data["items"]
    if not isinstance(items, dict):
        raise CodecError("'items' must be a mapping")
    return {_from_relative(_text(k)): decode(v, depth) for k, v in items.items()}


_DECODERS: dict[str, Any] = {
    "float": _decode_float,
    "bytes": lambda d, _: base64.b64decode(_text(d["b64"]), validate=True),
    "path": lambda d, _: Path(_from_relative(_text(d["path"]))),
    "datetime": lambda d, _: dt.datetime.fromisoformat(_text(d["iso"])),
    "date": lambda d, _: dt.date.fromisoformat(_text(d["iso"])),
    "frame": _decode_frame,
    "series": _decode_frame,
    "error": _decode_exception,
    "tuple": lambda d, depth: tuple(_items(d, "items", depth)),
    "set": _decode_set,
    "frozenset": lambda d, depth: frozenset(_decode_set(d, depth)),
    "dict": _decode_dict,
    "pairs": _decode_pairs,
}
