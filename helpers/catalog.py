"""THE list of base images the workbook uses: every FROM in apps/ and notebooks/ is one of these.

Each entry is pinned to a release supported in late 2026; distroless publishes only rolling
tags (latest, nonroot) per Debian release, so its pin is the release in its name. Where no registry answers,
`helpers.bases.ensure_bases()` builds an honest stand-in under the same reference
(same Debian release, same language major.minor), labelled as a stand-in. A base
with no honest stand-in (alpine: its packages cannot be reached here) has
`standin=None` and is reported as unavailable offline, never faked.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Base:
    ref: str
    what: str
    standin: str | None  # the recipe name in helpers.standins, None: no honest stand-in
    needs: tuple[str, ...] = ()  # catalog refs its stand-in is built FROM


DEBIAN = "debian:trixie-slim"
BUILDPACK = "buildpack-deps:trixie"
PYTHON_SLIM = "python:3.13-slim-trixie"
PYTHON_FULL = "python:3.13-trixie"
NODE_SLIM = "node:24-trixie-slim"
GOLANG = "golang:1.27-trixie"
BUSYBOX = "busybox:1.37"
DISTROLESS = "gcr.io/distroless/static-debian13"
DISTROLESS_NONROOT = "gcr.io/distroless/static-debian13:nonroot"
# registry:3 is the current major, but no honest stand-in of it can be made offline: Debian
# (through its testing suite, forky) packages Distribution 2.8.3 only, and registry 3 ships as
# a Docker Hub image or as Go source, neither reachable here (no registry, no Go module proxy).
# registry:2 (2.8.3, still published) stays, so the stand-in and a pulled image are the same.
REGISTRY = "registry:2"
ALPINE = "alpine:3.23"
SCRATCH = "scratch"

CATALOG: tuple[Base, ...] = (
    Base(DEBIAN, "Debian 13 (trixie), slim: the base most official images build on", "debian"),
    Base(BUILDPACK, "Debian 13 with compilers and dev tools (gcc, make, git)", "buildpack", (DEBIAN,)),
    Base(PYTHON_SLIM, "Python 3.13 on Debian 13 slim", "python_slim", (DEBIAN,)),
    Base(PYTHON_FULL, "Python 3.13 on the full build image: the big base", "python_full", (BUILDPACK,)),
    Base(NODE_SLIM, "Node.js 24 LTS (official binary) with npm 11 on Debian 13 slim", "node_slim", (DEBIAN,)),
    Base(GOLANG, "Go 1.27 toolchain on the Debian 13 build image", "golang", (BUILDPACK,)),
    Base(BUSYBOX, "BusyBox 1.37: a static shell and core tools, about 4 MB", "busybox", (DEBIAN,)),
    Base(DISTROLESS, "distroless static: CA certificates, time zones, users; no shell", "distroless", (DEBIAN,)),
    Base(DISTROLESS_NONROOT, "distroless static running as uid 65532", "distroless_nonroot", (DEBIAN,)),
    Base(REGISTRY, "the Distribution registry 2.8 (a private image registry)", "registry", (DEBIAN,)),
    Base(ALPINE, "Alpine Linux 3.23: musl and busybox, about 8 MB", None),
)


def normalize(ref: str) -> str:
    """`python:3.13-slim-trixie` and `docker.io/library/python:3.13-slim-trixie` are one image."""
    for prefix in ("docker.io/library/", "docker.io/", "index.docker.io/library/"):
        if ref.startswith(prefix):
            ref = ref[len(prefix) :]
    name, _, tag = ref.partition("@")[0].rpartition(":")
    if not name or "/" in tag:
        return ref.partition("@")[0] + ":latest"
    return ref.partition("@")[0]


def in_catalog(ref: str) -> bool:
    """True for `scratch` and for any catalog reference (with or without a digest)."""
    return ref == SCRATCH or normalize(ref) in BY_REF


BY_REF: dict[str, Base] = {normalize(base.ref): base for base in CATALOG}
