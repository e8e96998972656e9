"""Recipes for honest stand-ins of the catalog's base images, built from Debian packages
and from official binaries that a package registry carries.

Each recipe is a Dockerfile built FROM other catalog bases (only `debian` starts from a
debootstrap root filesystem), so stand-ins share layers the way the real images do.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from helpers import catalog as c

EXTRA_CA_FILE = "workbook-extra-ca.crt"

# Trust the host's extra CA (a TLS-inspecting proxy) when one was given; a no-op otherwise.
TRUST_EXTRA_CA = f"""COPY ca/ /usr/local/share/ca-certificates/
RUN if [ -s /usr/local/share/ca-certificates/{EXTRA_CA_FILE} ]; then update-ca-certificates; \\
    else rm -f /usr/local/share/ca-certificates/{EXTRA_CA_FILE}; fi
"""

APT_INSTALL = "apt-get update && apt-get install -y --no-install-recommends {packages} && rm -rf /var/lib/apt/lists/*"


def apt(*packages: str) -> str:
    return APT_INSTALL.format(packages=" ".join(packages))


@dataclass(frozen=True)
class Recipe:
    dockerfile: str
    probe: str  # a shell command printing what versions the image holds ("" = no shell)
    context: tuple[str, ...] = field(default=())  # extra context parts: "ca", "node"
    target: str | None = None


BUILDPACK = Recipe(
    dockerfile=f"""FROM {c.DEBIAN}
RUN {
        apt(
            "ca-certificates",
            "curl",
            "wget",
            "gnupg",
            "git",
            "openssh-client",
            "procps",
            "make",
            "gcc",
            "g++",
            "libc6-dev",
            "pkg-config",
            "file",
            "patch",
            "xz-utils",
            "bzip2",
            "unzip",
            "libssl-dev",
            "zlib1g-dev",
            "libffi-dev",
        )
    }
{TRUST_EXTRA_CA}CMD ["bash"]
""",
    probe='echo "debian $(cat /etc/debian_version), $(gcc --version | head -1)"',
    context=("ca",),
)

_PYTHON_TAIL = """RUN rm -f /usr/lib/python3*/EXTERNALLY-MANAGED \\
 && ln -s /usr/bin/python3 /usr/local/bin/python \\
 && ln -s /usr/bin/pip3 /usr/local/bin/pip
ENV LANG=C.UTF-8 PIP_CERT=/etc/ssl/certs/ca-certificates.crt
CMD ["python3"]
"""

PYTHON_SLIM = Recipe(
    dockerfile=f"""FROM {c.DEBIAN}
RUN {apt("python3", "python3-pip", "python3-venv", "ca-certificates")}
{TRUST_EXTRA_CA}{_PYTHON_TAIL}""",
    probe='echo "python $(python3 -c "import platform;print(platform.python_version())"), '
    'pip $(pip --version | cut -d" " -f2), debian $(cat /etc/debian_version)"',
    context=("ca",),
)

PYTHON_FULL = Recipe(
    dockerfile=f"""FROM {c.BUILDPACK}
RUN {apt("python3", "python3-pip", "python3-venv", "python3-dev")}
{_PYTHON_TAIL}""",
    probe=PYTHON_SLIM.probe,
)

NODE_SLIM = Recipe(
    dockerfile=f"""FROM {c.DEBIAN}
RUN groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
COPY node/ /usr/local/
COPY npm/ /usr/local/lib/node_modules/npm/
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && node --version && npm --version
COPY ca/ /usr/local/share/ca-certificates/
ENV NODE_EXTRA_CA_CERTS=/usr/local/share/ca-certificates/{EXTRA_CA_FILE}
CMD ["node"]
""",
    probe='echo "node $(node --version), npm $(npm --version), debian $(cat /etc/debian_version)"',
    context=("ca", "node"),
)

GOLANG = Recipe(
    dockerfile=f"""FROM {c.BUILDPACK}
RUN sed 's/ trixie / trixie-backports /' /etc/apt/sources.list \\
      > /etc/apt/sources.list.d/backports.list \\
 && apt-get update && apt-get install -y --no-install-recommends -t trixie-backports \\
      golang-1.27-go \\
 && rm -rf /var/lib/apt/lists/* /etc/apt/sources.list.d/backports.list \\
 && ln -s /usr/lib/go-1.27 /usr/local/go
ENV GOTOOLCHAIN=local GOPATH=/go PATH=/go/bin:/usr/local/go/bin:$PATH
RUN mkdir -p /go/src /go/bin && chmod -R 1777 /go
WORKDIR /go
""",
    probe='echo "$(go version | cut -d" " -f3-), debian $(cat /etc/debian_version)"',
)

BUSYBOX = Recipe(
    dockerfile=f"""FROM {c.DEBIAN} AS fetch
RUN {apt("busybox-static")}
RUN mkdir -p /rootfs/bin /rootfs/etc /rootfs/root /rootfs/tmp /rootfs/home /rootfs/var/spool/mail \\
 && cp /bin/busybox /rootfs/bin/busybox \\
 && for tool in $(busybox --list); do [ -e /rootfs/bin/$tool ] || ln -s busybox /rootfs/bin/$tool; done \\
 && chmod 1777 /rootfs/tmp \\
 && printf 'root:x:0:0:root:/root:/bin/sh\\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\\n\
nobody:x:65534:65534:nobody:/home:/bin/false\\n' > /rootfs/etc/passwd \\
 && printf 'root:x:0:\\ndaemon:x:1:\\nnogroup:x:65534:\\n' > /rootfs/etc/group

FROM scratch
COPY --from=fetch /rootfs/ /
CMD ["sh"]
""",
    probe="busybox | head -1",
)

_DISTROLESS = f"""FROM {c.DEBIAN} AS fetch
RUN {apt("ca-certificates", "tzdata", "netbase", "media-types")}
RUN mkdir -p /rootfs/etc/ssl/certs /rootfs/usr/share /rootfs/tmp /rootfs/root \\
      /rootfs/home/nonroot /rootfs/var/lib/dpkg/status.d \\
 && chmod 1777 /rootfs/tmp && chmod 700 /rootfs/root && chown 65532:65532 /rootfs/home/nonroot \\
 && cp /etc/ssl/certs/ca-certificates.crt /rootfs/etc/ssl/certs/ \\
 && cp -a /usr/share/zoneinfo /rootfs/usr/share/ \\
 && cp /etc/services /etc/protocols /etc/os-release /etc/debian_version /rootfs/etc/ \\
 && cp /etc/mime.types /rootfs/etc/ \\
 && for p in base-files netbase tzdata ca-certificates media-types; do \\
      dpkg-query -s $p > /rootfs/var/lib/dpkg/status.d/$p; done \\
 && printf 'root:x:0:0:root:/root:/sbin/nologin\\n\
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\\n\
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\\n' > /rootfs/etc/passwd \\
 && printf 'root:x:0:\\nnobody:x:65534:\\ntty:x:5:\\nstaff:x:50:\\nnonroot:x:65532:\\n' \\
      > /rootfs/etc/group \\
 && printf 'hosts: files dns\\n' > /rootfs/etc/nsswitch.conf

FROM scratch AS root
COPY --from=fetch /rootfs/ /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt

FROM root AS nonroot
USER 65532:65532
WORKDIR /home/nonroot
"""

DISTROLESS = Recipe(dockerfile=_DISTROLESS, probe="", target="root")
DISTROLESS_NONROOT = Recipe(dockerfile=_DISTROLESS, probe="", target="nonroot")

REGISTRY = Recipe(
    dockerfile=f"""FROM {c.DEBIAN}
RUN {apt("docker-registry")} \\
 && ln -s /usr/bin/docker-registry /bin/registry \\
 && mkdir -p /var/lib/registry
RUN printf 'version: 0.1\\nlog:\\n  fields:\\n    service: registry\\nstorage:\\n\
  filesystem:\\n    rootdirectory: /var/lib/registry\\nhttp:\\n  addr: :5000\\n' \\
      > /etc/docker/registry/config.yml
VOLUME ["/var/lib/registry"]
EXPOSE 5000
ENTRYPOINT ["registry", "serve"]
CMD ["/etc/docker/registry/config.yml"]
""",
    probe='echo "distribution $(registry --version | cut -d" " -f3), debian $(cat /etc/debian_version)"',
)

RECIPES: dict[str, Recipe] = {
    "buildpack": BUILDPACK,
    "python_slim": PYTHON_SLIM,
    "python_full": PYTHON_FULL,
    "node_slim": NODE_SLIM,
    "golang": GOLANG,
    "busybox": BUSYBOX,
    "distroless": DISTROLESS,
    "distroless_nonroot": DISTROLESS_NONROOT,
    "registry": REGISTRY,
}
