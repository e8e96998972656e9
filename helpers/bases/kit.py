"""The classroom kit: base and app images in one archive with a checksum manifest, saved
once by an instructor and loaded on machines with no registry (copied from a USB stick).

A kit is a tar file with two members: `images.tar` (one `docker save` of every image) and
`kit.json` (references, image ids, architecture, size and the SHA-256 of images.tar).

A kit is read once: images.tar is copied into a private temporary file while it is hashed,
and everything after that (the checks and `docker load`) uses that copy, so what is loaded
is exactly what was verified. Before anything reaches the engine, loading checks the
checksum, that images.tar names only the images kit.json lists and holds each under the id
kit.json gives, the architecture written in the image configurations, and that no tag
already on the engine would be moved to another image. A load that fails half-way (a full
disk, say) removes whatever it added.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from docker.errors import APIError, ImageNotFound

from helpers.bases import provision as bases
from helpers.catalog import SCRATCH
from helpers.engine import daemon, proc
from helpers.engine.images import existing, unpacked_bytes
from helpers.errors import KitError, KitMissing
from helpers.labels import IMAGE_LABEL, learner
from helpers.progress import transient_line
from helpers.replay import replayable

IMAGES_MEMBER, MANIFEST_MEMBER, FORMAT = "images.tar", "kit.json", 1
CHUNK = 1 << 20
MAX_MANIFEST = 1 << 20  # kit.json: about 250 bytes per image
MAX_IMAGES = 2000
MAX_METADATA = 4 << 20  # one index, manifest or image config inside images.tar
MAX_ARCHIVE_MEMBERS = 200_000
MAX_NESTING = 4  # an index of indexes of manifests is already unusual
Say = Callable[[str], None]

_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_ARCHITECTURE = re.compile(r"[a-z0-9_]{1,32}")
_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_DOMAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_MANIFEST_KEYS = {"format": int, "created": str, "sha256": str, "bytes": int, "images": list}
_IMAGE_KEYS = {"ref": str, "id": str, "architecture": str, "size": int}
_ENGINE_ARCHITECTURES = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm"}
_NAME_ANNOTATION, _TAG_ANNOTATION = "io.containerd.image.name", "org.opencontainers.image.ref.name"
_ATTESTATION = "attestation-manifest"


@dataclass(frozen=True)
class KitImage:
    ref: str
    id: str
    architecture: str
    size: int


@dataclass(frozen=True)
class _Held:
    """What images.tar holds under one of kit.json's references."""

    ids: frozenset[str]  # the ids an engine can give it once loaded (either image store)
    architectures: frozenset[str]  # from its image configurations


# -- saving -------------------------------------------------------------------------------


def default_refs() -> list[str]:
    """Every present catalog base, plus the images this learner built from the apps."""
    refs = sorted(bases.present_refs() - {SCRATCH})
    for image in existing(filters={"label": f"{IMAGE_LABEL}={learner()}"}):
        refs += [tag for tag in image.tags if not tag.startswith(("127.0.0.1:", "localhost:"))]
    return refs


@replayable
def save(path: str | Path, refs: list[str] | None = None, say: Say = print) -> list[KitImage]:
    """Write every image in `refs` (default: default_refs()) into one kit file."""
    client = daemon.client()
    refs = [ref if ref.rfind(":") > ref.rfind("/") else ref + ":latest" for ref in refs or default_refs()]
    images, stored = [], 0
    for ref in refs:
        if canonical(ref) is None or "@" in ref:
            raise KitError(f"Cannot put {ref!r} into the kit: a kit names each image by a tag, like busybox:1.37")
        try:
            image = client.images.get(ref)
        except ImageNotFound:
            raise KitError(
                f"Cannot put {ref} into the kit: it is not on this engine",
                hint="build or pull it first, or leave it out",
            ) from None
        images.append(KitImage(ref, str(image.id), str(image.attrs.get("Architecture", "")), unpacked_bytes(image)))
        # What `docker save` writes is the image as its store keeps it: unpacked layers on the
        # classic store, compressed ones on the containerd store. `Size` is that on both.
        stored += int(image.attrs.get("Size") or 0)
    target = Path(path)
    say(f"Saving {len(images)} images ({stored / 1e6:,.0f} MB as stored, before layer sharing) to {target}")
    with tempfile.NamedTemporaryFile(dir=target.parent, prefix=".kit-", suffix=".tar") as spool:
        digest = hashlib.sha256()
        progress = _Progress("saving", stored, say)
        for chunk in _save_stream(refs):
            spool.write(chunk)
            digest.update(chunk)
            progress.advance(len(chunk))
        spool.flush()
        progress.done()
        manifest = {
            "format": FORMAT,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "sha256": digest.hexdigest(),
            "bytes": spool.tell(),
            "images": [vars(image) for image in images],
        }
        # An image retagged by someone else while it was saved would make a kit that never loads.
        _check_images(Path(spool.name), manifest, target)
        partial = target.with_name(target.name + ".partial")
        with tarfile.open(partial, "w") as kit:
            kit.add(spool.name, arcname=IMAGES_MEMBER)
            _add_bytes(kit, MANIFEST_MEMBER, json.dumps(manifest, indent=1).encode())
        partial.replace(target)
    say(f"Kit written: {target} ({target.stat().st_size / 1e6:,.0f} MB, sha256 {manifest['sha256'][:16]}...)")
    return images


def _save_stream(refs: list[str]) -> Iterator[bytes]:
    """One `docker save` of all refs (shared layers stored once)."""
    yield from proc.stream_bytes(["docker", "save", "--", *refs], what="docker save failed")


# -- reading and verifying ----------------------------------------------------------------


@replayable(local=True)
def read_manifest(path: str | Path) -> dict[str, Any]:
    """Read and fully verify a kit: its manifest, the checksum of its images, and that the
    images hold what the manifest says. Bad input of any kind raises KitError."""
    with _verified(path) as (manifest, _spool, _held):
        return manifest


@contextmanager
def _verified(path: str | Path) -> Iterator[tuple[dict[str, Any], Path, dict[str, _Held]]]:
    """The verified manifest, the private copy of images.tar it describes, and what that copy
    holds per reference; the copy is removed on leaving."""
    source = Path(path)
    if not source.is_file():
        raise KitMissing(f"There is no kit file at {source}", hint="check the path (and that the USB stick is mounted)")
    with tempfile.TemporaryDirectory(prefix="workbook-kit-") as private:  # mode 0700
        spool = Path(private) / IMAGES_MEMBER
        raw, size, digest = _spool(source, spool)
        manifest = _parsed_manifest(source, raw)
        if size != manifest["bytes"]:
            raise _damaged(source, f"it is incomplete: {size:,} bytes of images read, {manifest['bytes']:,} expected")
        if digest != manifest["sha256"]:
            raise _damaged(source, "its SHA-256 checksum does not match: the content was changed or corrupted")
        held = _check_images(spool, manifest, source)
        yield manifest, spool, held


def _spool(source: Path, spool: Path) -> tuple[bytes | None, int, str]:
    """One pass over the kit: kit.json's bytes, and images.tar copied to `spool` while hashed."""
    digest, size, raw, seen = hashlib.sha256(), 0, None, set()
    try:
        with tarfile.open(source, "r|") as kit, open(spool, "xb") as copy:
            for member in kit:
                if member.name in seen:
                    raise _damaged(source, f"it holds {member.name} twice")
                seen.add(member.name)
                if member.name not in (IMAGES_MEMBER, MANIFEST_MEMBER):
                    raise _damaged(source, f"it holds {member.name[:80]!r}, which a kit never holds")
                if member.type not in (tarfile.REGTYPE, tarfile.AREGTYPE):
                    raise _damaged(source, f"its {member.name} is not a plain file")
                stream = kit.extractfile(member)
                assert stream is not None  # a plain file always has a stream
                if member.name == MANIFEST_MEMBER:
                    if member.size > MAX_MANIFEST:
                        raise _damaged(
                            source,
                            f"its kit.json is too large ({member.size:,} bytes; a kit manifest is "
                            f"at most {MAX_MANIFEST:,})",
                        )
                    raw = stream.read(MAX_MANIFEST + 1)
                    continue
                while chunk := stream.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    _write(copy, chunk, spool)
    except KitError:
        raise
    except (tarfile.TarError, EOFError, ValueError, OverflowError) as exc:
        raise _damaged(source, f"it is not a complete tar archive ({exc})") from None
    except OSError as exc:
        raise KitError(
            f"Could not read the kit {source.name}",
            where=str(source),
            detail=str(exc),
            hint="check that the file (and the USB stick) can be read; nothing was loaded",
        ) from None
    return raw, size, digest.hexdigest()


def _write(copy: IO[bytes], chunk: bytes, spool: Path) -> None:
    try:
        copy.write(chunk)
    except OSError as exc:
        raise KitError(
            "There is no room to copy the kit's images before loading them",
            where=str(spool.parent),
            detail=str(exc),
            hint="free disk space there, or point TMPDIR at a folder with room for the kit's size; nothing was loaded",
        ) from None


def _parsed_manifest(source: Path, raw: bytes | None) -> dict[str, Any]:
    """kit.json, checked field by field."""
    if raw is None:
        raise _damaged(source, "it has no kit manifest (kit.json)")
    try:
        manifest = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise _damaged(source, f"its kit.json is not valid JSON ({str(exc)[:120]})") from None
    if isinstance(manifest, dict) and manifest.get("format") != FORMAT and isinstance(manifest.get("format"), int):
        raise _damaged(source, f"its kit.json has format {manifest['format']}; this workbook reads format {FORMAT}")
    _check_fields(source, manifest, _MANIFEST_KEYS, "kit.json")
    if not re.fullmatch(r"[0-9a-f]{64}", manifest["sha256"]):
        raise _damaged(source, "its kit.json field sha256 is not a SHA-256 checksum")
    if manifest["bytes"] < 0:
        raise _damaged(source, "its kit.json field bytes is negative")
    images = manifest["images"]
    if not 1 <= len(images) <= MAX_IMAGES:
        raise _damaged(source, f"its kit.json lists {len(images)} images (a kit holds 1 to {MAX_IMAGES})")
    refs: set[str] = set()
    for number, image in enumerate(images):
        where = f"kit.json images[{number}]"
        _check_fields(source, image, _IMAGE_KEYS, where)
        name = canonical(image["ref"])
        if name is None or "@" in image["ref"]:
            raise _damaged(source, f"its {where}.ref {image['ref'][:80]!r} is not an image tag like busybox:1.37")
        if name in refs:
            raise _damaged(source, f"its kit.json lists {image['ref']} twice")
        refs.add(name)
        if not _DIGEST.fullmatch(image["id"]):
            raise _damaged(source, f"its {where}.id is not an image id (sha256:<64 hex digits>)")
        if not _ARCHITECTURE.fullmatch(image["architecture"]):
            raise _damaged(source, f"its {where}.architecture {image['architecture'][:40]!r} is not an architecture")
        if image["size"] < 0:
            raise _damaged(source, f"its {where}.size is negative")
    return manifest


def _check_fields(source: Path, value: Any, fields: dict[str, type], where: str) -> None:
    if not isinstance(value, dict):
        raise _damaged(source, f"its {where} is {_kind(value)}, not an object")
    missing = [key for key in fields if key not in value]
    if missing:
        raise _damaged(source, f"its {where} has no {', '.join(missing)}")
    unknown = sorted(set(value) - set(fields))
    if unknown:
        raise _damaged(source, f"its {where} has fields a kit never has: {', '.join(k[:40] for k in unknown[:5])}")
    for key, wanted in fields.items():
        if not isinstance(value[key], wanted) or isinstance(value[key], bool):
            raise _damaged(source, f"its {where} field {key} is {_kind(value[key])}, not {_kind(wanted())}")


def _kind(value: Any) -> str:
    return {
        bool: "true/false",
        int: "a number",
        float: "a number",
        str: "text",
        list: "a list",
        dict: "an object",
        type(None): "null",
    }.get(type(value), type(value).__name__)


# -- what images.tar holds ------------------------------------------------------------------


def canonical(ref: str) -> str | None:
    """A reference in full, as the engine stores it (busybox:1.37 -> docker.io/library/busybox:1.37);
    None when it is not a valid reference."""
    if not isinstance(ref, str) or not 0 < len(ref) <= 255 or not ref.isascii():
        return None
    name, tag = ref, "latest"
    if ref.rfind(":") > ref.rfind("/"):
        name, tag = ref.rsplit(":", 1)
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        domain, path = first, rest
    else:
        domain, path = "docker.io", name
    if domain == "index.docker.io":
        domain = "docker.io"
    if domain == "docker.io" and "/" not in path:
        path = "library/" + path
    if not (
        _DOMAIN.fullmatch(domain) and _TAG.fullmatch(tag) and all(_COMPONENT.fullmatch(p) for p in path.split("/"))
    ):
        return None
    return f"{domain}/{path}:{tag}"


class _ImagesArchive:
    """images.tar opened for its metadata: every read bounded, every blob checked by digest."""

    def __init__(self, archive: tarfile.TarFile, source: Path) -> None:
        self.archive, self.source = archive, source
        self.files: dict[str, tarfile.TarInfo] = {}
        for count, member in enumerate(archive, start=1):
            if count > MAX_ARCHIVE_MEMBERS:
                raise self.bad(f"it has more than {MAX_ARCHIVE_MEMBERS:,} members")
            if member.name in self.files:
                raise self.bad(f"it holds {member.name[:80]} twice")
            if member.isfile():
                self.files[member.name] = member

    def bad(self, why: str) -> KitError:
        return _damaged(self.source, f"its images.tar does not match kit.json: {why}")

    def json(self, name: str, digest: str | None = None) -> Any:
        member = self.files.get(name)
        if member is None:
            raise self.bad(f"{name} is missing")
        if member.size > MAX_METADATA:
            raise self.bad(f"{name} is {member.size:,} bytes, too large to be image metadata")
        stream = self.archive.extractfile(member)
        data = stream.read(MAX_METADATA + 1) if stream else b""
        if digest is not None and "sha256:" + hashlib.sha256(data).hexdigest() != digest:
            raise self.bad(f"{name} does not match its digest")
        try:
            return json.loads(data)
        except (ValueError, RecursionError):
            raise self.bad(f"{name} is not valid JSON") from None

    def blob(self, digest: str) -> str:
        return "blobs/" + digest.replace(":", "/", 1)

    def configs(self, digest: str, depth: int = 0) -> frozenset[str]:
        """The image configs an index or manifest blob leads to (attestations left out);
        empty when the blob is not in the archive (a platform the engine did not have)."""
        if not _DIGEST.fullmatch(digest) or self.blob(digest) not in self.files:
            return frozenset()
        if depth > MAX_NESTING:
            raise self.bad(f"its indexes nest more than {MAX_NESTING} deep")
        document = self.json(self.blob(digest), digest)
        if not isinstance(document, dict):
            raise self.bad(f"{self.blob(digest)} is not an index or a manifest")
        if isinstance(document.get("manifests"), list):
            found: set[str] = set()
            for child in document["manifests"]:
                if not isinstance(child, dict):
                    raise self.bad(f"{self.blob(digest)} lists a manifest that is not an object")
                annotations = child.get("annotations") or {}
                if isinstance(annotations, dict) and annotations.get("vnd.docker.reference.type") == _ATTESTATION:
                    continue
                found |= self.configs(str(child.get("digest", "")), depth + 1)
            return frozenset(found)
        config = document.get("config")
        if not isinstance(config, dict) or not _DIGEST.fullmatch(str(config.get("digest", ""))):
            raise self.bad(f"{self.blob(digest)} names no image config")
        return frozenset({str(config["digest"])})

    def architecture(self, config: str) -> str:
        names = [n for n in (self.blob(config), config.removeprefix("sha256:") + ".json") if n in self.files]
        document = self.json(names[0], config) if names else None
        if not isinstance(document, dict) or not isinstance(document.get("architecture"), str):
            raise self.bad(f"the image config {config[:19]}... is missing or names no architecture")
        return str(document["architecture"])


@dataclass(frozen=True)
class _Naming:
    """One place in images.tar that gives an image a name."""

    place: str
    ids: frozenset[str]  # what the engine reading this place calls the image once loaded
    configs: frozenset[str]


def _namings(images: _ImagesArchive) -> dict[str, list[_Naming]]:
    """Every name images.tar gives, in every place `docker load` reads names from."""
    names: dict[str, list[_Naming]] = {}

    def add(raw: Any, naming: _Naming) -> None:
        name = canonical(raw) if isinstance(raw, str) else None
        if name is None:
            raise images.bad(f"{naming.place} names an image {str(raw)[:80]!r}, which is not a valid reference")
        names.setdefault(name, []).append(naming)

    has_index, has_manifest = "index.json" in images.files, "manifest.json" in images.files
    if not (has_index or has_manifest):
        raise images.bad("it is not a `docker save` archive (no index.json or manifest.json)")
    if has_index:  # the containerd image store loads from here; the image id is the descriptor's digest
        index = images.json("index.json")
        entries = index.get("manifests") if isinstance(index, dict) else None
        if not isinstance(entries, list):
            raise images.bad("index.json lists no images")
        for entry in entries:
            digest = str(entry.get("digest", "")) if isinstance(entry, dict) else ""
            if not _DIGEST.fullmatch(digest):
                raise images.bad("index.json lists an image without a valid digest")
            annotations = entry.get("annotations") or {}
            if not isinstance(annotations, dict):
                raise images.bad("index.json has annotations that are not an object")
            naming = _Naming("index.json", frozenset({digest}), images.configs(digest))
            full, short = annotations.get(_NAME_ANNOTATION), annotations.get(_TAG_ANNOTATION)
            if full is None and short is None:
                raise images.bad(f"index.json holds an image with no name ({digest[:19]}...)")
            if full is not None and short is not None and short not in (full, str(full).rpartition(":")[2]):
                raise images.bad(
                    f"index.json gives one image two different names ({str(full)[:80]!r}, {str(short)[:80]!r})"
                )
            add(full if full is not None else short, naming)
    if has_manifest:  # the classic image store loads from here; the image id is the config's digest
        entries = images.json("manifest.json")
        if not isinstance(entries, list):
            raise images.bad("manifest.json is not a list")
        for entry in entries:
            config_file = str(entry.get("Config", "")) if isinstance(entry, dict) else ""
            tags = entry.get("RepoTags") if isinstance(entry, dict) else None
            config = _config_digest(config_file)
            if config is None:
                raise images.bad(f"manifest.json names the config {config_file[:80]!r}, which is not a digest")
            if not isinstance(tags, list) or not tags:
                raise images.bad(f"manifest.json holds an image with no name ({config[:19]}...)")
            images.json(config_file, config)  # present, and the content its name promises
            for tag in tags:
                add(tag, _Naming("manifest.json", frozenset({config}), frozenset({config})))
    if "repositories" in images.files:  # the oldest format: names only
        repositories = images.json("repositories")
        if not isinstance(repositories, dict) or not all(isinstance(t, dict) for t in repositories.values()):
            raise images.bad("repositories is not a map of names to tags")
        for repository, tags in repositories.items():
            for tag in tags:
                add(f"{repository}:{tag}", _Naming("repositories", frozenset(), frozenset()))
    return names


def _config_digest(member: str) -> str | None:
    """The digest a manifest.json Config member is named by (blobs/sha256/HEX or HEX.json)."""
    hexdigits = member.removeprefix("blobs/sha256/").removesuffix(".json")
    digest = "sha256:" + hexdigits
    return (
        digest if _DIGEST.fullmatch(digest) and member in (f"blobs/sha256/{hexdigits}", f"{hexdigits}.json") else None
    )


def _check_images(spool: Path, manifest: dict[str, Any], source: Path) -> dict[str, _Held]:
    """That images.tar names exactly kit.json's images, under kit.json's ids, and what each holds."""
    try:
        with tarfile.open(spool, "r:") as archive:
            images = _ImagesArchive(archive, source)
            names = _namings(images)
            return _compare(images, names, manifest)
    except KitError:
        raise
    except (tarfile.TarError, EOFError, ValueError, OverflowError, OSError) as exc:
        raise _damaged(source, f"its images.tar is not a readable `docker save` archive ({exc})") from None


def _same_image(images: _ImagesArchive, image_id: str, naming: _Naming) -> bool:
    """kit.json's id is what the saving engine called the image: the config digest on the
    classic store, the index or manifest digest on the containerd store."""
    if naming.place == "index.json":  # loads under the descriptor's digest
        return image_id in naming.ids or image_id in naming.configs
    return image_id in naming.configs or naming.configs <= images.configs(image_id)


def _compare(images: _ImagesArchive, names: dict[str, list[_Naming]], manifest: dict[str, Any]) -> dict[str, _Held]:
    listed = {canonical(entry["ref"]): entry for entry in manifest["images"]}
    for name, namings in names.items():
        if name not in listed:
            raise images.bad(f"it holds {name} ({namings[0].place}), which kit.json does not list")
    held: dict[str, _Held] = {}
    for name, entry in listed.items():
        ref, image_id = entry["ref"], entry["id"]
        namings = [n for n in names.get(str(name), []) if n.place != "repositories"]
        if not namings:
            raise images.bad(f"kit.json lists {ref}, which images.tar does not hold")
        configs: set[str] = set()
        ids = {image_id}
        for naming in namings:
            if not naming.configs or not _same_image(images, image_id, naming):
                raise images.bad(
                    f"its {naming.place} holds {ref} as another image than kit.json's id {image_id[:19]}..."
                )
            configs |= naming.configs
            ids |= naming.ids
        architectures = frozenset(images.architecture(config) for config in configs) - {"unknown"}
        if entry["architecture"] not in architectures:
            raise images.bad(
                f"kit.json says {ref} is {entry['architecture']}, but its image configuration says "
                f"{'/'.join(sorted(architectures)) or 'nothing'}"
            )
        held[ref] = _Held(frozenset(ids | configs), architectures)
    return held


# -- loading ---------------------------------------------------------------------------------


@replayable
def load(path: str | Path, say: Say = print, *, replace: bool = False) -> list[str]:
    """Verify a kit, then load exactly the verified bytes; on a failed load, remove what this
    load added. A tag on this engine that names another image is only moved with replace=True."""
    with _verified(path) as (manifest, spool, held):
        client = daemon.client()
        native = str(client.info().get("Architecture", ""))
        wanted = _ENGINE_ARCHITECTURES.get(native, native)
        foreign = sorted({arch for h in held.values() if wanted not in h.architectures for arch in h.architectures})
        if foreign:
            raise KitError(
                f"This kit holds {'/'.join(foreign)} images but this engine runs {wanted}",
                where=str(path),
                hint=f"ask for a kit saved on a {wanted} machine; nothing was loaded",
            )
        moved = _moved_tags(held)
        if moved and not replace:
            raise KitError(
                "Loading this kit would move tags that name other images on this engine; nothing was loaded",
                where=str(path),
                detail="\n".join(
                    f"{ref}: here {now[:19]}..., in the kit {_kit_id(manifest, ref)[:19]}..." for ref, now in moved
                ),
                hint="keep your image under another name (`docker tag REF REF-mine`), remove the tag "
                "(`docker image rm REF`) and load again; or, to let the kit's images take these names, "
                "load with replace=True",
            )
        for ref, now in moved:
            say(f"  {ref} moves from {now[:19]}... to the kit's image")
        say(f"Kit verified: {len(manifest['images'])} images, sha256 {manifest['sha256'][:16]}...")
        # One listing call, no inspect per image: no race with images others delete meanwhile.
        before = {str(image["Id"]) for image in client.api.images(all=True)}
        try:
            with open(spool, "rb") as stream:
                progress = _Progress("loading", manifest["bytes"], say)
                for answer in client.api.load_image(_chunks(stream, progress), quiet=True):
                    if isinstance(answer, dict) and (answer.get("error") or answer.get("errorDetail")):
                        raise APIError(str(answer.get("error") or answer.get("errorDetail")))
                progress.done()
        except (APIError, OSError) as exc:
            _remove_new(held, before)
            raise KitError(
                "Loading the kit failed; nothing from it was kept",
                where=str(path),
                detail=str(exc)[-800:],
                hint="check free disk space (`df -h`, `python -m helpers doctor`) and load again",
            ) from None
        missing = [ref for ref, h in held.items() if not _present(ref, h)]
        if missing:
            _remove_new(held, before)
            raise KitError(
                "The kit loaded incompletely; nothing from it was kept",
                detail=", ".join(missing),
                hint="save the kit again on the instructor's machine",
            )
        say(f"Loaded {len(manifest['images'])} images.")
        return [i["ref"] for i in manifest["images"]]


def _kit_id(manifest: dict[str, Any], ref: str) -> str:
    return next(str(i["id"]) for i in manifest["images"] if i["ref"] == ref)


def _moved_tags(held: dict[str, _Held]) -> list[tuple[str, str]]:
    """(ref, id here) for each of the kit's tags that names another image on this engine."""
    moved = []
    for ref, image in held.items():
        with suppress(ImageNotFound):
            now = str(daemon.client().images.get(ref).id)
            if now not in image.ids:
                moved.append((ref, now))
    return moved


def _present(ref: str, held: _Held) -> bool:
    try:
        return str(daemon.client().images.get(ref).id) in held.ids
    except ImageNotFound:
        return False


def _remove_new(held: dict[str, _Held], before: set[str]) -> None:
    client = daemon.client()
    for image_id in {i for h in held.values() for i in h.ids} - before:
        with suppress(APIError):  # not loaded at all, or not an id on this store
            client.images.remove(image_id, force=True)


def _damaged(source: Path, why: str) -> KitError:
    return KitError(
        f"The kit {source.name} is damaged or not a kit: {why}",
        where=str(source),
        hint="copy it again from the instructor's original and check its size; nothing was loaded",
    )


def _chunks(stream: IO[bytes], progress: _Progress) -> Iterator[bytes]:
    while chunk := stream.read(CHUNK):
        progress.advance(len(chunk))
        yield chunk


def _add_bytes(kit: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(time.time())
    info.mode = 0o644
    kit.addfile(info, io.BytesIO(data))


class _Progress:
    """A text progress bar every 10 %; in a notebook each replaces the last, leaving the 100 % line."""

    def __init__(self, what: str, total: int, say: Say) -> None:
        self.what, self.total, self.seen, self.next_step = what, max(total, 1), 0, 10
        self.say = transient_line() if say is print else say

    def advance(self, count: int) -> None:
        self.seen += count
        percent = min(100, self.seen * 100 // self.total)
        if percent >= self.next_step and percent < 100:
            bar = "#" * (percent // 5)
            self.say(f"  {self.what} [{bar:<20}] {percent:3d}%  {self.seen / 1e6:,.0f} MB")
            self.next_step = percent // 10 * 10 + 10

    def done(self) -> None:
        self.say(f"  {self.what} [{'#' * 20}] 100%  {self.seen / 1e6:,.0f} MB")
