"""Property-based fuzz targets for the workbook's readers of untrusted files, one per reader.

Each target is run by fuzz_harness.py in a child process with a memory and a time limit:
`python tests/fuzz/fuzz_targets.py NAME EXAMPLES`. Hypothesis is derandomized, keeps no database and has no
deadline, so every run tries the same inputs. The property of every target: the reader returns, or raises one of
the workbook's errors; any other exception (a MemoryError included) fails the run. The last line printed is a
JSON summary: the kinds of hostile input tried and the distinct kinds of error they met.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import sys
import tarfile
import tempfile
import zlib
from collections import Counter
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import zstandard
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from helpers.errors import WorkbookError

MIB = 1 << 20
BLOCK = 512
WORK = Path(tempfile.mkdtemp(prefix="workbook-fuzz-"))
INPUTS: Counter[str] = Counter()
VARYING = re.compile(r"'[^']*'|\"[^\"]*\"|\d[\d,.]*|\(.*|\S+\.(gz|tar|kit|zst)\b")  # quoted, numbers, file names
ERRORS: Counter[str] = Counter()

# --- shared pieces --------------------------------------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)


def _kind(error: BaseException) -> str:
    """An error's kind: its class and its first words, numbers and quoted parts left out."""
    text = error.what if isinstance(error, WorkbookError) else str(error)
    text = VARYING.sub("_", text.splitlines()[0] if text else "")
    return f"{type(error).__name__}: {' '.join(text.split())[:90]}"


def _expect(allowed: tuple[type[BaseException], ...], run: Callable[[], Any]) -> None:
    """Run a reader; an allowed error is counted, anything else propagates and fails the run."""
    try:
        run()
    except allowed as error:
        ERRORS[_kind(error)] += 1


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        print_blob=False,
        report_multiple_bugs=False,
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
    )


def _file(data: bytes, name: str, sparse: int = 0) -> Path:
    """`data`, then `sparse` zero bytes that take no disk space, then the end of a tar archive."""
    path = WORK / name
    with path.open("wb") as file:
        file.write(data)
        if sparse:
            file.seek(sparse + -sparse % BLOCK, io.SEEK_CUR)
            file.write(bytes(2 * BLOCK))
    return path


def _member(name: str, data: bytes, kind: bytes = tarfile.REGTYPE, size: int | None = None) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.type = len(data) if size is None else size, kind
    return info.tobuf(format=tarfile.PAX_FORMAT) + data + bytes(-len(data) % BLOCK)


def _tar(members: dict[str, bytes]) -> bytes:
    return b"".join(_member(name, data) for name, data in members.items()) + bytes(2 * BLOCK)


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)  # the same bytes on every run


def _deep(depth: int, open_: str = "[", close: str = "]") -> bytes:
    return (open_ * depth + close * depth).encode()


@cache
def _zeros(kind: str, size: int, head: bytes = b"", tail: bytes = b"") -> bytes:
    """head + `size` zero bytes + tail, compressed a MiB at a time (a bomb when size is large)."""
    if kind == "gzip":
        compressor: Any = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    else:
        compressor = zstandard.ZstdCompressor(level=3).compressobj()
    parts = [compressor.compress(head)]
    parts += [compressor.compress(bytes(MIB)) for _ in range(size // MIB)]
    parts += [compressor.compress(bytes(size % MIB) + tail), compressor.flush()]
    return b"".join(parts)


def _mutate(data: bytes, draw: Any, how: str = "either") -> bytes:
    """`data` cut short ("truncated"), or with a few bytes overwritten ("damaged"), or either."""
    if not data:
        return data
    if how == "truncated" or (how == "either" and draw(st.booleans())):
        return data[: draw(st.integers(0, len(data) - 1))]
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(out) - 1))
        patch = draw(st.binary(min_size=1, max_size=8))
        out[position : position + len(patch)] = patch
    return bytes(out)


# --- 1. the image archive reader ------------------------------------------------------------------------------------

LAYER = "layer1/layer.tar"
CONFIG = "config.json"
LAYER_TAR = _tar({"etc/hosts": b"127.0.0.1 localhost\n", "bin/tool": b"\x7fELF" + bytes(600)})
GOOD_CONFIG = {"rootfs": {"type": "layers", "diff_ids": ["sha256:" + "1" * 64]}, "history": [{"created_by": "COPY"}]}
GOOD_MANIFEST = [{"Config": CONFIG, "RepoTags": ["fuzz:1"], "Layers": [LAYER]}]
PAX_RECORDS = [
    b"0 path=x\n",
    b"-1 path=x\n",
    b"-99 size=1\n",
    b"99999999999999999999 path=x\n",
    b"4x path=x\n",
    b" 9 path=x\n",
    b"12 size=-512\n",
    b"13 size=0x200\n",
    b"30 size=99999999999999999999\n",
    b"25 size=9663676416\n",
    b"\n",
]


def _image(members: list[bytes], *, layer: bytes = LAYER_TAR, manifest: Any = None, config: Any = None) -> bytes:
    def text(value: Any, default: Any) -> bytes:
        if isinstance(value, bytes):
            return value
        return json.dumps(default if value is None else value).encode()

    return b"".join(
        [
            *members,
            _member(LAYER, layer),
            _member(CONFIG, text(config, GOOD_CONFIG)),
            _member("manifest.json", text(manifest, GOOD_MANIFEST)),
            bytes(2 * BLOCK),
        ]
    )


@st.composite
def hostile_archives(draw: Any) -> tuple[str, bytes, str]:
    kind = draw(
        st.sampled_from(["pax", "truncated", "damaged", "bomb", "manifest", "config", "index", "size", "whole"])
    )
    name = "image.tar"
    if kind == "pax":
        records = draw(st.sampled_from(PAX_RECORDS) | st.binary(max_size=40))
        data = _image([_member("PaxHeader/x", records, tarfile.XHDTYPE), _member("x", b"data")])
    elif kind == "truncated":
        whole = _image([])
        data = whole[: draw(st.integers(0, len(whole) - 1))]
    elif kind == "damaged":
        data = _mutate(_image([]), draw, "damaged")
    elif kind == "bomb":
        compression = draw(st.sampled_from(["gzip", "zstd"]))
        size = draw(st.sampled_from([MIB, 64 * MIB] + ([300 * MIB] if compression == "zstd" else [])))
        head = tarfile.TarInfo("zeros.bin")
        head.size = size
        layer = _zeros(compression, size, head.tobuf(format=tarfile.PAX_FORMAT), bytes(-size % BLOCK + 2 * BLOCK))
        data = _image([], layer=_mutate(layer, draw) if draw(st.booleans()) else layer)
    elif kind == "manifest":
        shape = draw(
            st.sampled_from(["random", "field", "deep"]),
        )
        if shape == "deep":
            manifest: Any = _deep(draw(st.integers(1, 100_000)))
        elif shape == "field":
            field = draw(st.sampled_from(["Config", "RepoTags", "Layers"]))
            manifest = [{**GOOD_MANIFEST[0], field: draw(json_values)}]
        else:
            manifest = draw(json_values)
        data = _image([], manifest=manifest)
        if draw(st.booleans()):  # a second manifest.json
            data = _member("manifest.json", json.dumps(draw(json_values)).encode()) + data
    elif kind == "config":
        field = draw(st.sampled_from(["rootfs", "history", "whole"]))
        config = draw(json_values) if field == "whole" else {**GOOD_CONFIG, field: draw(json_values)}
        data = _image([], config=config)
    elif kind == "index":
        index = draw(
            json_values
            | st.fixed_dictionaries(
                {
                    "manifests": st.lists(
                        st.dictionaries(st.sampled_from(["digest", "platform", "annotations"]), json_values), max_size=3
                    )
                }
            )
        )
        data = _member("index.json", json.dumps(index).encode()) + _member("oci-layout", b"{}") + bytes(2 * BLOCK)
    elif kind == "size":
        field = draw(st.binary(min_size=12, max_size=12))
        block = bytearray(tarfile.TarInfo("etc/x").tobuf(format=tarfile.USTAR_FORMAT))
        block[124:136] = field
        block[148:156] = b" " * 8
        block[148:156] = b"%06o\0 " % sum(block)
        data = _image([bytes(block), bytes(BLOCK)])
    else:
        compression = draw(st.sampled_from(["gzip", "zstd"]))
        whole = _image([])
        packed = _gzip(whole) if compression == "gzip" else zstandard.ZstdCompressor().compress(whole)
        data = _mutate(packed, draw)
        name = "image.tar.gz" if compression == "gzip" else "image.tar.zst"
    return kind, data, name


def _reading_visitor(entries: Any) -> int:
    """Reads every member's data in pieces, as the secret scan does."""
    total = 0
    for _, data in entries:
        while chunk := data.read(64 * 1024):
            total += len(chunk)
    return total


def fuzz_archive(examples: int) -> None:
    from helpers.analysis import archive

    @_settings(examples)
    @given(hostile_archives())
    def reads_or_refuses(case: tuple[str, bytes, str]) -> None:
        kind, data, name = case
        INPUTS[kind] += 1
        path = _file(data, name)
        _expect((WorkbookError,), lambda: archive.read_image(path, _reading_visitor))

    reads_or_refuses()


# --- 2. the recording decoder ---------------------------------------------------------------------------------------

CODEC_KEYS = ["items", "fields", "b64", "repr", "iso", "path", "index", "columns", "dtype", "values", "range",
              "class", "name", "args", "state", "text"]  # fmt: skip
FOREIGN_TAGS = ["os.system", "subprocess:Popen", "builtins.eval", "importlib", "pickle", "__main__.X", "posix"]


def _codec_values(tag_names: list[str]) -> Any:
    """JSON values holding records tagged with `tag_names` (or any text), with fields of any shape."""
    tags = st.sampled_from(tag_names) | st.text(max_size=20)
    tagged = st.builds(
        lambda tag, extra: {"__type__": tag, **extra},
        tags,
        st.dictionaries(st.sampled_from(CODEC_KEYS), json_values, max_size=4),
    )
    return st.recursive(
        json_scalars | tagged,
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.text(max_size=8), children, max_size=4)
            | st.builds(
                lambda tag, extra: {"__type__": tag, **extra},
                tags,
                st.dictionaries(st.sampled_from(CODEC_KEYS), children, max_size=4),
            )
        ),
        max_leaves=25,
    )


def _watch_imports() -> list[tuple[str, str]]:
    """Every import from now on: (how, module name), by import statement, importlib or a first load."""
    import builtins
    import importlib

    seen: list[tuple[str, str]] = []
    real_import, real_import_module = builtins.__import__, importlib.import_module

    def statement(name: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(("statement", name))
        return real_import(name, *args, **kwargs)

    def by_name(name: str, package: str | None = None) -> Any:
        seen.append(("import_module", name))
        return real_import_module(name, package)

    builtins.__import__ = statement
    importlib.import_module = by_name
    sys.addaudithook(lambda event, args: seen.append(("load", str(args[0]))) if event == "import" else None)
    return seen


def _module_names(value: Any) -> set[str]:
    """What a module name taken from `value` could look like: each text in it, and its part before ':' or the
    last '.'."""
    found: set[str] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack += [*item.keys(), *item.values()]
        elif isinstance(item, list):
            stack += item
        elif isinstance(item, str) and item:
            found |= {item, item.split(":", 1)[0], item.rsplit(".", 1)[0]}
    return found


def _nested(depth: int, tag: str | None) -> Any:
    value: Any = 0
    for _ in range(depth):
        value = {"__type__": tag, "items": [value]} if tag else [value]
    return value


@st.composite
def hostile_recordings(draw: Any, values: Any) -> tuple[str, bytes]:
    kind = draw(st.sampled_from(["document", "shape", "truncated", "damaged", "not-gzip", "deep", "bomb"]))
    good = {"format": 2, "calls": {"build|x": [{"value": 1}]}, "order": {"build": [["build|x", 0]]}}
    if kind == "document":
        return kind, _gzip(json.dumps(draw(json_values)).encode())
    if kind == "shape":
        part = draw(st.sampled_from(["format", "calls", "order"]))
        return kind, _gzip(json.dumps({**good, part: draw(values)}).encode())
    if kind in ("truncated", "damaged"):
        return kind, _mutate(_gzip(json.dumps(good).encode()), draw, kind)
    if kind == "not-gzip":
        return kind, draw(st.binary(max_size=200))
    if kind == "deep":
        return kind, _gzip(b'{"format": 2, "calls": ' + _deep(draw(st.integers(1, 200_000))) + b"}")
    return kind, _zeros("gzip", 65 * MIB, b"[")


def fuzz_recording(examples: int) -> None:
    from helpers.errors import BadRecording
    from helpers.replay import codec, store

    os.environ[store.RECORDINGS_ENV] = str(WORK)
    known = [*codec.TYPES, *codec._DECODERS]

    @_settings(examples)
    @given(hostile_recordings(_codec_values(known)))
    def loads_or_refuses(case: tuple[str, bytes]) -> None:
        kind, data = case
        INPUTS[kind] += 1
        _file(data, "fuzz.json.gz")
        _expect((BadRecording,), lambda: store.Recording.load("fuzz"))

    loads_or_refuses()


def fuzz_codec(examples: int) -> None:
    from helpers.replay import codec

    known = [*codec.TYPES, *codec._DECODERS]
    allowed = {module for module, _ in [*codec.TYPES.values(), *codec.ERRORS.values()]}
    for module, name in [*codec.TYPES.values(), *codec.ERRORS.values()]:
        codec._resolve(module, name)  # every class a recording may name, imported before the first input
    imports = _watch_imports()

    @_settings(examples)
    @given(
        st.one_of(
            st.tuples(st.just("known tag, any shape"), _codec_values(known)),
            st.tuples(st.just("foreign tag"), _codec_values(FOREIGN_TAGS)),
            st.tuples(st.just("deep"), st.builds(_nested, st.integers(0, 400), st.sampled_from([None, "tuple"]))),
        )
    )
    def decodes_or_refuses(case: tuple[str, Any]) -> None:
        kind, value = case
        INPUTS[kind] += 1
        imports.clear()
        _expect((codec.CodecError,), lambda: codec.decode(value))
        dynamic = {name for how, name in imports if how == "import_module"} - allowed
        assert not dynamic, f"decoding imported {dynamic} by name"
        taken = {name for _, name in imports} & _module_names(value)
        assert not taken, f"decoding imported {taken}: a name taken from the data"

    decodes_or_refuses()


# --- 3. the kit reader ----------------------------------------------------------------------------------------------


@st.composite
def hostile_kits(draw: Any) -> tuple[str, bytes]:
    kind = draw(st.sampled_from(["manifest", "field", "deep", "truncated", "damaged", "not-tar", "bomb"]))
    images = b"images"
    good = {"format": 1, "bytes": len(images), "sha256": "0" * 64, "images": []}
    if kind == "manifest":
        members = {"images.tar": images, "kit.json": json.dumps(draw(json_values)).encode()}
    elif kind == "field":
        field = draw(st.sampled_from(["format", "bytes", "sha256", "images"]))
        members = {"images.tar": images, "kit.json": json.dumps({**good, field: draw(json_values)}).encode()}
    elif kind == "deep":
        members = {"kit.json": _deep(draw(st.integers(1, 200_000)), '{"a":', "}")}
    elif kind in ("truncated", "damaged"):
        return kind, _mutate(_tar({"images.tar": images, "kit.json": json.dumps(good).encode()}), draw, kind)
    elif kind == "not-tar":
        return kind, draw(st.binary(max_size=2000))
    else:  # a kit.json far larger than any manifest (its zero bytes are sparse in the file)
        info = tarfile.TarInfo("kit.json")
        info.size = 2 << 30
        return kind, info.tobuf(format=tarfile.PAX_FORMAT)
    return kind, _tar(members)


def fuzz_kit(examples: int) -> None:
    from helpers.bases import kit
    from helpers.errors import KitError

    @_settings(examples)
    @given(hostile_kits())
    def reads_or_refuses(case: tuple[str, bytes]) -> None:
        kind, data = case
        INPUTS[kind] += 1
        path = _file(data, "fuzz.kit", sparse=2 << 30 if kind == "bomb" else 0)
        _expect((KitError,), lambda: kit.read_manifest(path))

    reads_or_refuses()


# --- 4. the Dockerfile parser -----------------------------------------------------------------------------------------

KEYWORDS = ["FROM", "from", "RUN", "CMD", "ENTRYPOINT", "COPY", "ENV", "ARG", "USER", "WORKDIR", "EXPOSE", "#"]
FROM_VALUES = ["", "AS", "a AS", "--platform=$X", "busybox:latest", "x@sha256:1", "$BASE", "scratch", ":", "a:b:c",
               "/", "x/", "builder AS builder", "BUILDER"]  # fmt: skip


@st.composite
def hostile_dockerfiles(draw: Any) -> tuple[str, str]:
    kind = draw(st.sampled_from(["text", "lines", "exec-form", "continuations"]))
    if kind == "text":
        return kind, draw(st.text(max_size=400))
    if kind == "exec-form":
        depth = draw(st.sampled_from([1, 2_000, 100_000]) | st.integers(0, 100_000))
        body = draw(st.sampled_from(["[" * depth + "]" * depth, '["sh", ' * depth, "[" + "9" * depth + "]"]))
        return kind, f"FROM busybox:1.37\nCMD {body}\n"
    lines = []
    for _ in range(draw(st.integers(0, 12))):
        keyword = draw(st.sampled_from(KEYWORDS) | st.text(max_size=6))
        value = (
            draw(st.sampled_from(FROM_VALUES) | st.text(max_size=30))
            if keyword.upper() == "FROM"
            else draw(st.text(max_size=30))
        )
        ending = draw(st.sampled_from(["", " \\", "\\", "\r"])) if kind == "continuations" else ""
        lines.append(f"{keyword} {value}{ending}")
    return kind, draw(st.sampled_from(["\n", "\r\n", "\x0b", "\u2028"])).join(lines)


def fuzz_dockerfile(examples: int) -> None:
    from helpers.exercises import dockerfile

    def parse_all(text: str) -> None:
        instructions = dockerfile.parse(text)
        for instruction in instructions:
            str(instruction)
            instruction.exec_form  # noqa: B018 - the property parses exec-form JSON
        dockerfile.base_problems(dockerfile.stages(instructions))
        dockerfile.last(instructions, "CMD")

    @_settings(examples)
    @given(hostile_dockerfiles())
    def parses(case: tuple[str, str]) -> None:
        kind, text = case
        INPUTS[kind] += 1
        path = WORK / "Dockerfile"
        path.write_text(text, errors="surrogatepass")
        _expect((WorkbookError,), lambda: (parse_all(text), dockerfile.read(path)))

    parses()


def _hang(examples: int) -> None:
    """Checks the harness: a target that never returns."""
    while True:
        pass


def _exhaust_memory(examples: int) -> None:
    """Checks the harness: a target that asks for more memory than the limit."""
    bytearray(4 << 30)


TARGETS: dict[str, Callable[[int], None]] = {
    "harness-check-hang": _hang,
    "harness-check-memory": _exhaust_memory,
    "archive": fuzz_archive,
    "recording": fuzz_recording,
    "codec": fuzz_codec,
    "kit": fuzz_kit,
    "dockerfile": fuzz_dockerfile,
}


def main() -> None:
    name, examples = sys.argv[1], int(sys.argv[2])
    TARGETS[name](examples)
    print(json.dumps({"target": name, "inputs": dict(INPUTS), "errors": dict(ERRORS)}))


if __name__ == "__main__":
    main()
