#!/usr/bin/env bash
# Make sure a Docker engine answers. Where one runs (Docker Desktop, Linux with Docker, a
# remote DOCKER_HOST or context) this only checks it. On Debian/Ubuntu without one, it
# installs the distribution's engine, QEMU user emulation and debootstrap, then starts it.
set -euo pipefail

log() { printf '[setup-engine] %s\n' "$*"; }
die() { printf '[setup-engine] ERROR: %s\n' "$*" >&2; exit 1; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
DOCKERD_LOG=${DOCKERD_LOG:-/var/log/workbook-dockerd.log}

engine_answers() { docker info >/dev/null 2>&1; }

wait_for_engine() {
  for _ in $(seq 1 60); do engine_answers && return 0; sleep 1; done
  return 1
}

install_packages() {
  # Debian/Ubuntu: the distribution's engine and buildx, QEMU for other platforms,
  # debootstrap for offline stand-in bases, zstd for compressed archives, npm for Node.js.
  command -v apt-get >/dev/null || return 1
  local wanted=(qemu-user-static binfmt-support debootstrap zstd)
  command -v npm >/dev/null || wanted+=(npm)
  command -v dockerd >/dev/null || wanted+=(docker.io)
  command -v docker >/dev/null || wanted+=(docker-cli)
  docker buildx version >/dev/null 2>&1 || wanted+=(docker-buildx)
  local missing=()
  for p in "${wanted[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ "${#missing[@]}" -gt 0 ] || return 0
  log "installing ${missing[*]}"
  $SUDO apt-get update -qq
  if [[ " ${missing[*]} " == *" docker"* ]] && ! apt-cache show docker-buildx >/dev/null 2>&1; then
    # Debian 12 has no buildx and a 20.10 engine without current BuildKit features: take
    # the engine, containerd and buildx of Debian 13 (they need only glibc >= 2.34).
    local debs
    debs=$(fetch_debian13_engine) || return 1
    missing=("${missing[@]/docker.io}")
    missing=("${missing[@]/docker-buildx}")
    missing=("${missing[@]/docker-cli}")
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $debs ${missing[*]} >/dev/null
  else
    # Where docker.io carries the client itself, there is no docker-cli package.
    apt-cache show docker-cli >/dev/null 2>&1 || missing=("${missing[@]/docker-cli}")
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq ${missing[*]} >/dev/null
  fi
}

fetch_debian13_engine() {
  # Download docker.io, containerd and docker-buildx from Debian 13 through the host's own
  # Debian mirror, with a throwaway apt list: the host's package sources stay as they are.
  local uri work
  uri=$(grep -rhoE '^(URIs:|deb) +[a-z]+://[^ ]+/debian/?( |$)' /etc/apt/sources.list \
        /etc/apt/sources.list.d/ 2>/dev/null | awk '{print $2}' | head -1)
  [ -n "$uri" ] || { log "no Debian mirror found in the apt sources"; return 1; }
  work=$(mktemp -d /var/tmp/workbook-engine.XXXXXX)
  mkdir -p "$work/lists/partial"
  echo "deb $uri trixie main" > "$work/sources.list"
  local opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
              -o "Dir::State::Lists=$work/lists" -o Debug::NoLocking=1)
  $SUDO apt-get "${opts[@]}" update -qq >&2
  (cd "$work" && $SUDO apt-get "${opts[@]}" download docker.io containerd docker-buildx docker-cli >&2) \
    2>&1 | grep -v unsandboxed >&2 || true
  local debs=("$work"/docker.io_*.deb "$work"/containerd_*.deb "$work"/docker-buildx_*.deb)
  command -v docker >/dev/null || debs+=("$work"/docker-cli_*.deb)
  ls "${debs[@]}"
}

start_engine() {
  if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    $SUDO systemctl start docker
  else
    log "starting dockerd (log: $DOCKERD_LOG)"
    $SUDO sh -c "setsid dockerd >>'$DOCKERD_LOG' 2>&1 < /dev/null &"
  fi
}

enable_emulation() {
  # Run other platforms' binaries (linux/arm64 on amd64, ...) through QEMU.
  [ -d /proc/sys/fs/binfmt_misc ] || return 0
  if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
    $SUDO mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || return 0
  fi
  command -v update-binfmts >/dev/null && $SUDO update-binfmts --enable >/dev/null 2>&1 || true
}

if engine_answers; then
  log "a Docker engine answers: $(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})')"
else
  if [ -n "${DOCKER_HOST:-}" ]; then
    die "DOCKER_HOST=$DOCKER_HOST does not answer. Start that engine, or unset DOCKER_HOST."
  fi
  install_packages || die "No Docker engine answers and none can be installed here.
Start Docker Desktop (macOS/Windows) or install Docker Engine, then run this again."
  command -v dockerd >/dev/null || die "No Docker engine is installed and none answers.
Install Docker Engine (or start Docker Desktop), then run this again."
  start_engine
  wait_for_engine || die "dockerd did not answer within 60 s; see $DOCKERD_LOG"
  log "engine started: $(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})')"
fi
docker buildx version >/dev/null 2>&1 \
  || log "note: the docker buildx plugin is missing; BuildKit lessons will say so and skip"
[ -z "${DOCKER_HOST:-}" ] && enable_emulation
exit 0
