"""The engine room: everything that talks to the Docker engine.

daemon     connecting: DOCKER_HOST, contexts, the image store, the host platform
proc       running CLI tools (docker buildx, docker save, ...) with time limits
build      builds (BuildKit or the classic builder) and their step tables
buildlog   reading BuildKit and classic build logs
livelog    a live tail of a long log in a notebook
run        containers: run to completion or keep running, always labelled and removed
images     what an image holds: layers, history, config, sizes per image store
platforms  which platforms this engine runs, natively or emulated
registry   a local registry container, push and pull
saveload   docker save / docker load archives
cleanup    removing what the workbook created, and nothing else
outputs    builds sent elsewhere: registry, cache folder, bake (with attest, bake, buildcache, buildx_run)
"""

from helpers.engine.build import buildkit_version, buildx, buildx_available
from helpers.engine.daemon import (
    CLASSIC,
    CONTAINERD,
    EngineInfo,
    available,
    client,
    docker_host,
    image_store,
    info,
    native_platform,
)

__all__ = [
    "CLASSIC",
    "CONTAINERD",
    "EngineInfo",
    "available",
    "buildkit_version",
    "buildx",
    "buildx_available",
    "client",
    "docker_host",
    "image_store",
    "info",
    "native_platform",
]
