"""Pending Debian security fixes in an image, found offline from a scanner's point of view:
the image's dpkg database against the current index of Debian's security archive.

    wb.vulns.report(ref)      one row per installed package that has a newer version in
                              <release>-security: installed version, fixed version, source

It reads /etc/os-release and dpkg's status (or distroless' status.d) out of a container that
never starts, downloads `dists/<codename>-security/main/binary-<arch>/Packages.xz` (checked
against the suite's InRelease hashes), and compares versions the way dpkg does. It knows
Debian packages only: no pip or npm dependency, no CVE ids (the index carries none).
"""

from __future__ import annotations

import hashlib
import io
import lzma
import os
import posixpath
import shutil
import ssl
import tarfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pandas as pd

from helpers.analysis import debpackages, debversion
from helpers.analysis.debversion import compare as compare_versions
from helpers.bases.extra_ca import extra_ca_file
from helpers.engine import daemon
from helpers.engine.images import get as get_image
from helpers.engine.run import remove_after_use
from helpers.errors import InvalidInput, SecurityIndexUnavailable
from helpers.labels import object_labels
from helpers.replay import replayable

# The security suite of the mirror the stand-in bases install from (deb.debian.org).
MIRROR = os.environ.get("WORKBOOK_SECURITY_MIRROR", "https://deb.debian.org/debian-security")
STATUS, STATUS_D, OS_RELEASE = "/var/lib/dpkg/status", "/var/lib/dpkg/status.d", "/etc/os-release"
MAX_STATUS = 32 << 20  # a full python image's status is about 1 MB
MAX_OS_RELEASE = 64 << 10
MAX_RELEASE = 4 << 20  # trixie-security's InRelease: about 42 kB
MAX_INDEX = 32 << 20  # trixie-security's Packages.xz: about 0.3 MB
MAX_INDEX_TEXT = 256 << 20  # ... and decompressed about 2.3 MB
TIMEOUT = 60.0
# Go's architecture names (the image config) -> Debian's (the archive's folders)
DEBIAN_ARCH = {"386": "i386", "arm": "armhf", "ppc64le": "ppc64el"}
REPORT_COLUMNS = ["package", "installed", "fixed", "source", "matched by"]


# -- what the image holds --------------------------------------------------------------------
@replayable
def installed(ref: str) -> pd.DataFrame:
    """The packages dpkg lists as installed in the image (package, version, architecture, source,
    source_version); attrs: os (PRETTY_NAME), codename, arch. Nothing in the image is run."""
    image = get_image(ref)
    arch = str(image.attrs.get("Architecture") or "amd64")
    container = daemon.client().containers.create(ref, command=["/none"], labels=object_labels())
    try:
        release = _files(container, OS_RELEASE, MAX_OS_RELEASE) or _files(
            container, "/usr/lib/os-release", MAX_OS_RELEASE
        )
        status = _files(container, STATUS, MAX_STATUS) or _files(container, STATUS_D, MAX_STATUS)
    finally:
        remove_after_use(container)
    info = debpackages.os_release(b"\n".join(release.values()), f"{OS_RELEASE} in {ref}") if release else {}
    where = f"the dpkg database ({STATUS}) of {ref}"
    frame = debpackages.packages(b"\n\n".join(status.values()), where, installed_only=True) if status else None
    if frame is None:
        frame = pd.DataFrame(columns=debpackages.COLUMNS)
    frame = frame.sort_values("package", ignore_index=True)
    frame.attrs = {
        "image": ref,
        "os": info.get("PRETTY_NAME", ""),
        "id": info.get("ID", ""),
        "codename": info.get("VERSION_CODENAME", ""),
        "arch": DEBIAN_ARCH.get(arch, arch),
        "dpkg database": bool(status),
    }
    return frame


def _files(container: Any, path: str, limit: int, hops: int = 8) -> dict[str, bytes]:
    """The regular files at `path` in a created container (a file, or a folder's files), symlinks
    followed; {} when there is nothing there. At most `limit` bytes are read."""
    from docker.errors import NotFound

    try:
        chunks, stat = container.get_archive(path)
    except NotFound:
        return {}
    if not (int(stat.get("mode", 0)) & (1 << 31)) and int(stat.get("size", 0)) > limit:  # not a folder
        raise _too_large(path, limit)
    data = bytearray()
    for chunk in chunks:
        data += chunk
        if len(data) > limit + (1 << 20):  # tar headers and padding on top of the files
            raise _too_large(path, limit)
    found: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(bytes(data))) as archive:
        for member in archive:
            if member.issym() and member.name.rstrip("/") == posixpath.basename(path) and hops:
                target = posixpath.normpath(posixpath.join(posixpath.dirname(path), member.linkname))
                return _files(container, target, limit, hops - 1)
            if member.isfile():
                stream = archive.extractfile(member)
                found[member.name] = stream.read() if stream else b""
    return dict(sorted(found.items()))


def _too_large(path: str, limit: int) -> InvalidInput:
    return InvalidInput(
        f"{path} in the image is larger than {limit >> 20} MiB, more than a package list can be",
        where=path,
        hint="the image's dpkg database is damaged or not what its name says",
    )


# -- what Debian has fixed ---------------------------------------------------------------------
@replayable
def security_index(codename: str, arch: str = "amd64") -> pd.DataFrame:
    """Every binary package in `<codename>-security` main for `arch` (and `all`): package,
    version, architecture, source, source_version; attrs: url, date, bytes, seconds."""
    if not codename.isalnum() or not arch.replace("-", "").isalnum():
        raise InvalidInput(f"{codename!r}/{arch!r} is not a Debian release codename and architecture")
    suite = f"{MIRROR}/dists/{codename}-security"
    member = f"main/binary-{arch}/Packages.xz"
    started = time.monotonic()
    release = _download(f"{suite}/InRelease", MAX_RELEASE)
    fields = next(debpackages.paragraphs(_signed_text(release), f"{suite}/InRelease"), {})
    expected = _hash_of(fields.get("sha256", ""), member)
    if expected is None:
        raise SecurityIndexUnavailable(
            f"{codename}-security lists no {member}",
            where=f"{suite}/InRelease",
            hint=f"check the release codename ({codename}) and architecture ({arch}): "
            "Debian's security archive serves only supported releases",
        )
    packed = _download(f"{suite}/{member}", min(MAX_INDEX, expected[1]))
    if len(packed) != expected[1] or hashlib.sha256(packed).hexdigest() != expected[0]:
        raise SecurityIndexUnavailable(
            f"The downloaded {member} does not match the SHA-256 in InRelease",
            where=f"{suite}/{member}",
            hint="the archive was probably updated during the download: try again in a minute",
        )
    try:
        text = lzma.LZMADecompressor().decompress(packed, max_length=MAX_INDEX_TEXT + 1)
    except lzma.LZMAError as exc:
        raise InvalidInput(f"{member} from {suite} is not valid xz data ({exc})", where=suite) from None
    if len(text) > MAX_INDEX_TEXT:
        raise InvalidInput(f"{member} from {suite} unpacks to more than {MAX_INDEX_TEXT >> 20} MiB", where=suite)
    frame = debpackages.packages(text, f"{suite}/{member}")
    frame.attrs = {
        "url": f"{suite}/{member}",
        "date": fields.get("date", ""),
        "bytes": len(packed),
        "unpacked bytes": len(text),
        "seconds": round(time.monotonic() - started, 2),
    }
    return frame


def _download(url: str, limit: int) -> bytes:
    context = ssl.create_default_context()
    ca = extra_ca_file()  # a TLS-inspecting proxy's CA, when the host names one
    if ca is not None:
        context.load_verify_locations(cafile=str(ca))
    request = urllib.request.Request(url, headers={"User-Agent": "docker-images-workbook"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT, context=context) as answer:
            data = answer.read(limit + 1)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise SecurityIndexUnavailable(
            f"Debian's security archive did not answer ({str(reason)[:200]})",
            where=url,
            hint="check the network (`curl -I URL` on the host); behind a TLS-inspecting proxy, point "
            "WORKBOOK_EXTRA_CA at its CA file; another mirror can be named with WORKBOOK_SECURITY_MIRROR",
        ) from None
    if len(data) > limit:
        raise SecurityIndexUnavailable(
            f"{url} sent more than {limit} bytes, more than it should hold", where=url, hint="try another mirror"
        )
    return data


def _signed_text(data: bytes) -> bytes:
    """The body of a clear-signed InRelease (the signature is not checked here: TLS and the hashes are)."""
    text = data.replace(b"\r\n", b"\n")
    if text.startswith(b"-----BEGIN PGP SIGNED MESSAGE-----"):
        text = text.split(b"\n\n", 1)[-1].split(b"\n-----BEGIN PGP SIGNATURE-----", 1)[0]
    return text


def _hash_of(table: str, member: str) -> tuple[str, int] | None:
    for line in table.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == member and parts[1].isdigit():
            return parts[0].lower(), int(parts[1])
    return None


# -- the comparison ------------------------------------------------------------------------------
def pending(installed: pd.DataFrame, index: pd.DataFrame) -> pd.DataFrame:
    """Installed packages with a newer version in the security index: by binary package name when
    the index has it, else by source package (a fix may ship under new binary names)."""
    newest_binary: dict[str, str] = {}
    newest_source: dict[str, str] = {}
    for row in index.itertuples(index=False):
        if row.package not in newest_binary or debversion.newer(row.version, newest_binary[row.package]):
            newest_binary[row.package] = row.version
        if row.source not in newest_source or debversion.newer(row.source_version, newest_source[row.source]):
            newest_source[row.source] = row.source_version
    rows = []
    for row in installed.itertuples(index=False):
        if row.package in newest_binary:
            if debversion.newer(newest_binary[row.package], row.version):
                rows.append([row.package, row.version, newest_binary[row.package], row.source, "package"])
        elif row.source in newest_source and debversion.newer(newest_source[row.source], row.source_version):
            rows.append([row.package, row.version, newest_source[row.source], row.source, "source"])
    return pd.DataFrame(rows, columns=REPORT_COLUMNS)


@replayable
def report(ref: str) -> pd.DataFrame:
    """Installed packages of the image that Debian's security archive has a newer version of.
    attrs: image, os, codename, installed (count), index url/date/bytes/seconds."""
    packages = installed(ref)
    info = dict(packages.attrs)
    if not info["dpkg database"]:
        found = pd.DataFrame(columns=REPORT_COLUMNS)
        found.attrs = {**info, "installed": 0, "checked": False, "why": "no dpkg database: no Debian package"}
        return found
    if info["id"] != "debian" or not info["codename"]:
        raise InvalidInput(
            f"{ref} is not a Debian release with a codename (os-release says {info['os'] or 'nothing'})",
            where=OS_RELEASE,
            hint="this check knows Debian's security archive only; testing and unstable have no -security suite",
        )
    index = security_index(info["codename"], info["arch"])
    found = pending(packages, index)
    found.attrs = {
        **info,
        "installed": len(packages),
        "checked": True,
        **{f"index {key}": value for key, value in index.attrs.items()},
    }
    return found


@replayable
def summary(refs: list[str]) -> pd.DataFrame:
    """One row per image: release, installed packages, packages with a pending security fix."""
    rows = []
    for ref in refs:
        found = report(ref)
        rows.append(
            {
                "image": ref,
                "release": found.attrs["os"] or "-",
                "deb packages": found.attrs["installed"],
                "pending security fixes": len(found) if found.attrs["checked"] else None,
                "source packages": found.source.nunique() if found.attrs["checked"] else None,
            }
        )
    frame = pd.DataFrame(rows).set_index("image")
    return frame.astype({"pending security fixes": "Int64", "source packages": "Int64"})


# -- the scanners with an online database ---------------------------------------------------------
SCANNERS = {
    "trivy": ["trivy", "image", "--quiet", "--scanners", "vuln"],
    "grype": ["grype", "--quiet"],
    "docker scout": ["docker", "scout", "cves"],
}
PLUGIN_FOLDERS = ("~/.docker/cli-plugins", "/usr/local/lib/docker/cli-plugins", "/usr/libexec/docker/cli-plugins")


def installed_scanners() -> dict[str, str]:
    """Trivy, Grype and Docker Scout (a docker CLI plugin) found on this machine: name -> path."""
    found = {name: shutil.which(name) for name in ("trivy", "grype")}
    plugins = (Path(folder).expanduser() / "docker-scout" for folder in PLUGIN_FOLDERS)
    found["docker scout"] = next((str(path) for path in plugins if path.is_file()), None)
    return {name: path for name, path in found.items() if path}


@replayable
def scan_with_a_scanner(ref: str, *, timeout: float = 600) -> str:
    """Run the first installed scanner on the image when a registry answers (its database is
    online); otherwise say in one line why not. Returns the scanner's last 25 lines."""
    from helpers.bases.provision import registry_answers
    from helpers.engine import proc

    found = installed_scanners()
    if not found:
        return "Trivy, Grype and Docker Scout: none is installed here, so no scanner with an online database can run."
    if not registry_answers():
        return (
            f"Installed: {', '.join(found)}; but no registry answers, so its vulnerability database cannot "
            "be downloaded and a scan would tell nothing."
        )
    name = next(iter(found))
    done = proc.run(
        [*SCANNERS[name], ref],
        timeout=timeout,
        check=False,
        env={**os.environ, "DOCKER_HOST": daemon.docker_host()},
        what=f"{name} could not scan {ref}",
    )
    return "\n".join(done.output.splitlines()[-25:])


__all__ = [
    "SecurityIndexUnavailable",
    "compare_versions",
    "installed",
    "installed_scanners",
    "pending",
    "report",
    "scan_with_a_scanner",
    "security_index",
    "summary",
]
