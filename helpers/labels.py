"""The labels and names that mark what the workbook creates, per learner."""

from __future__ import annotations

import getpass
import hashlib
import os
import re

from helpers import sessions
from helpers.errors import InvalidInput

PREFIX = "org.dockerworkbook"
# Set on images that helpers build; the value is the learner.
IMAGE_LABEL = f"{PREFIX}.image"
# The reference an image was built as, so derived images (which inherit labels) are not ours.
REF_LABEL = f"{PREFIX}.ref"
# Set on containers, volumes and networks that helpers create; the value is the learner.
OBJECT_LABEL = f"{PREFIX}.object"
# Set on workbook containers too: which Python process made them, so an orphan (its kernel
# was killed) can be told from a container a live notebook still uses.
SESSION_LABEL = f"{PREFIX}.session"  # a random id per process
HOST_LABEL = f"{PREFIX}.host"  # the machine's boot id and the process's pid namespace
PID_LABEL = f"{PREFIX}.pid"
PID_START_LABEL = f"{PREFIX}.pid-start"  # the process's start time (clock ticks since boot)
# Set on stand-in base images: the reference they stand in for, and what they hold.
STANDIN_LABEL = f"{PREFIX}.standin"
STANDIN_VERSIONS_LABEL = f"{PREFIX}.standin.versions"
# Set on stand-ins built with an extra CA certificate: the SHA-256 of the certificates they carry.
EXTRA_CA_LABEL = f"{PREFIX}.extra-ca"

LEARNER_ENV = "WORKBOOK_LEARNER"
# Names many people share: the OS user in containers, JupyterHub pods and classroom images.
GENERIC_NAMES = frozenset({"root", "jovyan", "learner"})
# Between the learner and an object's own name in container, volume and network names. The
# learner's form never holds it, so `ana` + `b-web` and `ana-b` + `web` differ.
SEPARATOR = "_"
READABLE_MAX = 32
MAX_RAW = 256
# A learner form: a readable name ([a-z0-9] words joined by single hyphens), optionally followed
# by "--" and six hex digits of the raw name's hash. Only hashed forms hold "--".
FORM = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*(?:--[0-9a-f]{6})?")
_replayed_learner: str | None = None


def replaying_as(name: str | None) -> None:
    """While replaying, the learner a recording was made by (its names carry that namespace);
    None ends it. Kept in this process only: the environment is left as it is."""
    global _replayed_learner
    _replayed_learner = name


def raw_learner() -> str:
    """The learner's name as given: $WORKBOOK_LEARNER, else the OS user."""
    return os.environ.get(LEARNER_ENV) or _os_user()


def learner() -> str:
    """The learner's namespace: $WORKBOOK_LEARNER, else the OS user, made safe for image names.

    Distinct names give distinct namespaces: a name already in the safe form ([a-z0-9] words
    joined by hyphens, e.g. `ana-b`) is kept; any other gets its readable part plus "--" and six
    hex digits of its hash (`José` -> `jos--…`, `Мария` -> `learner--…`)."""
    if _replayed_learner:
        return _replayed_learner if FORM.fullmatch(_replayed_learner) else learner_form(_replayed_learner)
    return learner_form(raw_learner())


def learner_form(raw: str) -> str:
    """The namespace for the raw name `raw` (see learner()); refuses a name with no letter or digit."""
    if len(raw) > MAX_RAW or not any(ch.isalnum() for ch in raw):
        shown = raw if len(raw) <= 40 else raw[:40] + "…"
        raise InvalidInput(
            f"The learner name {shown!r} is not usable: it needs a letter or a digit"
            + (f" and at most {MAX_RAW} characters" if len(raw) > MAX_RAW else ""),
            where=f"${LEARNER_ENV}" if os.environ.get(LEARNER_ENV) else "the OS user name",
            hint=f"set {LEARNER_ENV} to your name before starting Jupyter, e.g. {LEARNER_ENV}=ana",
        )
    readable = re.sub(r"[^a-z0-9]+", "-", raw.lower()).strip("-")
    if readable == raw and len(readable) <= READABLE_MAX:
        return readable
    short = readable[:READABLE_MAX].strip("-") or "learner"
    return f"{short}--{hashlib.sha256(raw.encode('utf-8', 'surrogatepass')).hexdigest()[:6]}"


def generic_learner_warning() -> str | None:
    """One line to print when the learner is a name many people share and was not chosen."""
    if os.environ.get(LEARNER_ENV) or _replayed_learner:
        return None
    raw = _os_user()
    if raw.strip().lower() not in GENERIC_NAMES:
        return None
    return (
        f"{raw!r} is a name many people share: on a shared Docker engine set {LEARNER_ENV} to your own "
        f"name (e.g. {LEARNER_ENV}=ana) so your images and containers stay apart"
    )


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "learner"


def image_name(name: str, tag: str = "latest") -> str:
    """The learner-namespaced reference for a workbook image, e.g. `wb-ana/hello-python:1.0`."""
    return f"wb-{learner()}/{name}:{tag}"


def object_name(name: str) -> str:
    """A learner-namespaced name for a container, volume or network, e.g. `wb-ana_web`."""
    return f"wb-{learner()}{SEPARATOR}{name}"


def image_labels(ref: str) -> dict[str, str]:
    return {IMAGE_LABEL: learner(), REF_LABEL: ref}


def object_labels() -> dict[str, str]:
    """The learner's label, and the labels naming this process (see helpers.sessions)."""
    me = sessions.this_process()
    return {
        OBJECT_LABEL: learner(),
        SESSION_LABEL: sessions.SESSION_ID,
        HOST_LABEL: me.host,
        PID_LABEL: str(me.pid),
        PID_START_LABEL: me.start,
    }


def made_by(labels: dict[str, str]) -> sessions.Process | None:
    """The process a workbook object's labels name, or None when they do not name one completely."""
    host, pid, start = labels.get(HOST_LABEL, ""), labels.get(PID_LABEL, ""), labels.get(PID_START_LABEL, "")
    if not host or not start or not pid.isdigit() or len(pid) > 10:
        return None
    return sessions.Process(host, int(pid), start)
