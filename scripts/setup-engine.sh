#!/usr/bin/env bash
# Make sure a Docker engine answers.
#
#   setup-engine.sh               the engine the lessons use
#   setup-engine.sh second-store  also a second daemon with the other image store (make test)
#
# Where an engine answers already (Docker Desktop, Linux with Docker, a remote DOCKER_HOST or
# context) this only checks it: it never reconfigures or restarts an engine it did not start.
# On Debian/Ubuntu without one it installs a current engine (Debian's testing suite: docker.io
# >= 28, docker-buildx >= 0.29, containerd >= 2.1; Debian 13's 26.1 engine as a fall-back, with
# a warning), QEMU user emulation and debootstrap, then starts it with the containerd image
# store (what Docker Desktop and Engine 29 give learners). WORKBOOK_IMAGE_STORE=classic starts
# it with the classic store instead. What was installed is recorded in $STATE_DIR/engine.json.
set -euo pipefail

log() { printf '[setup-engine] %s\n' "$*" >&2; }
warn() { printf '[setup-engine] WARNING: %s\n' "$*" >&2; }
die() { printf '[setup-engine] ERROR: %s\n' "$*" >&2; exit 1; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
STATE_DIR=/var/lib/workbook-engine
STATE_FILE=$STATE_DIR/engine.json
DOCKERD_LOG=/var/log/workbook-dockerd.log
STORE=${WORKBOOK_IMAGE_STORE:-containerd}
case "$STORE" in containerd|classic) ;; *) die "WORKBOOK_IMAGE_STORE must be containerd or classic, not '$STORE'" ;; esac

# Minimum versions of the current engine; Debian's testing suite keeps only its newest build.
MIN_DOCKER=28
MIN_BUILDX=0.29
MIN_CONTAINERD=2.1
CURRENT_SUITE=forky
FALLBACK_SUITE=trixie

# The second daemon (make test runs the engine tests on the other image store there too). It runs
# in a network namespace of its own: a starting dockerd rewrites Docker's iptables chains and
# removes a default bridge it does not use, so two daemons in one namespace cut each other's
# containers off the network. The tests of that pass run in the same namespace, where the
# ports it publishes on 127.0.0.1 are.
SECOND_NETNS=workbook-second
SECOND_SOCKET=unix:///run/workbook-second/docker.sock
SECOND_DIR=$STATE_DIR/second
SECOND_LINK=wbsecond   # veth pair: wbsecond-h on the host, wbsecond-n in the namespace
SECOND_LINK_NET=10.211.255.0/30

engine_answers() { docker info >/dev/null 2>&1; }

wait_for() {  # wait_for SECONDS COMMAND...
  local seconds=$1; shift
  for _ in $(seq 1 "$seconds"); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
  return 1
}

debian_mirror() {
  { cat /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null || true; } \
    | awk '/^(URIs:|deb) +[a-z]+:\/\/[^ ]+\/debian\/?( |$)/ {print $2; exit}'
}

fetch_suite_debs() {
  # fetch_suite_debs SUITE PACKAGE...: download the packages of another Debian suite through
  # the host's own mirror with a throwaway apt list (the host's sources stay as they are);
  # prints the .deb paths.
  local suite=$1; shift
  local uri work
  uri=$(debian_mirror)
  [ -n "$uri" ] || { log "no Debian mirror in the apt sources"; return 1; }
  work=$(mktemp -d /var/tmp/workbook-engine.XXXXXX)
  mkdir -p "$work/lists/partial"
  echo "deb $uri $suite main" > "$work/sources.list"
  local opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
              -o "Dir::State::Lists=$work/lists" -o Debug::NoLocking=1)
  $SUDO apt-get "${opts[@]}" update -qq >&2 || return 1
  (cd "$work" && $SUDO apt-get "${opts[@]}" download "$@" 2>&1 | grep -v unsandboxed >&2) || true
  local pkg debs=()
  for pkg in "$@"; do
    compgen -G "$work/${pkg}_*.deb" >/dev/null || { log "$suite has no $pkg"; return 1; }
    debs+=("$work/${pkg}_"*.deb)
  done
  printf '%s\n' "${debs[@]}"
}

deb_version() { dpkg-deb -f "$1" Version; }
at_least() { dpkg --compare-versions "$1" ge "$2"; }

current_enough() {
  # current_enough DEB...: the engine, buildx and containerd packages meet the minimum versions.
  local deb name version
  for deb in "$@"; do
    name=$(dpkg-deb -f "$deb" Package); version=$(deb_version "$deb")
    case "$name" in
      docker.io) at_least "$version" "$MIN_DOCKER" || { log "$name $version < $MIN_DOCKER"; return 1; } ;;
      docker-buildx) at_least "$version" "$MIN_BUILDX" || { log "$name $version < $MIN_BUILDX"; return 1; } ;;
      containerd) at_least "$version" "$MIN_CONTAINERD" || { log "$name $version < $MIN_CONTAINERD"; return 1; } ;;
    esac
  done
}

engine_packages() {
  local pkgs=(docker.io containerd docker-buildx)
  command -v docker >/dev/null || pkgs+=(docker-cli)
  # The testing suite's docker.io needs tini-static, which Debian 12 does not have.
  apt-cache show tini-static >/dev/null 2>&1 || pkgs+=(tini-static)
  printf '%s\n' "${pkgs[@]}"
}

install_debs() {
  # The engine packages need glibc >= 2.34 only; runc, iptables and tini come from the host's
  # own release (the testing suite's runc needs a newer glibc than Debian 12 has).
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --allow-downgrades "$@" >/dev/null
}

install_tools() {
  local wanted=(qemu-user-static binfmt-support debootstrap zstd iproute2 iptables)
  command -v npm >/dev/null || wanted+=(npm)
  local missing=() p
  for p in "${wanted[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ "${#missing[@]}" -gt 0 ] || return 0
  log "installing ${missing[*]}"
  install_debs "${missing[@]}"
}

install_suite_engine() {
  # install_suite_engine SUITE [check]: fetch and install that suite's engine packages.
  local suite=$1 check=${2:-}
  local debs
  mapfile -t debs < <(fetch_suite_debs "$suite" $(engine_packages)) || return 1
  [ "${#debs[@]}" -gt 0 ] || return 1
  if [ "$check" = check ]; then current_enough "${debs[@]}" || return 1; fi
  log "installing from Debian $suite: $(for d in "${debs[@]}"; do printf '%s %s, ' "$(dpkg-deb -f "$d" Package)" "$(deb_version "$d")"; done)"
  install_debs "${debs[@]}"
}

write_daemon_config() {
  # The store is chosen only in a daemon.json this script writes; a learner's own file is kept.
  local conf=/etc/docker/daemon.json snapshotter=false
  [ "$STORE" = containerd ] && snapshotter=true
  if [ -e "$conf" ] && ! $SUDO grep -q '"workbook-written"' "$STATE_DIR/daemon-config" 2>/dev/null; then
    warn "$conf exists and is not the workbook's: the engine starts with it as it is (image store unchanged)"
    return 0
  fi
  $SUDO mkdir -p /etc/docker "$STATE_DIR"
  printf '{\n  "features": {"containerd-snapshotter": %s}\n}\n' "$snapshotter" | $SUDO tee "$conf" >/dev/null
  echo '"workbook-written"' | $SUDO tee "$STATE_DIR/daemon-config" >/dev/null
}

start_dockerd() {
  # start_dockerd LOG ARG...: dockerd in the background, detached from this shell.
  local log_file=$1; shift
  $SUDO touch "$log_file"
  # shellcheck disable=SC2024  # the log belongs to the user running the set-up
  $SUDO setsid dockerd "$@" >>"$log_file" 2>&1 </dev/null &
  disown || true
}

start_engine() {
  if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    $SUDO systemctl restart docker
  else
    log "starting dockerd (log: $DOCKERD_LOG)"
    start_dockerd "$DOCKERD_LOG"
  fi
  wait_for 60 engine_answers
}

stop_engine() {
  if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    $SUDO systemctl stop docker || true
  else
    $SUDO pkill -x dockerd || true
    wait_for 30 bash -c '! pgrep -x dockerd'
    $SUDO pkill -x containerd || true
  fi
}

server_field() { docker "$@" version --format '{{.Server.Version}}' 2>/dev/null || echo unknown; }

record_state() {
  # record_state SUITE FALLBACK: what the set-up installed and started, for doctor and recordings.
  local suite=$1 fallback=$2 containerd_version buildx_version
  containerd_version=$(dpkg-query -W -f '${Version}' containerd 2>/dev/null || echo unknown)
  buildx_version=$(docker buildx version 2>/dev/null | awk '{print $2}' || echo unknown)
  $SUDO mkdir -p "$STATE_DIR"
  printf '{"started_by_workbook": true, "suite": "%s", "fallback": %s, "docker": "%s", "buildx": "%s", "containerd": "%s", "store": "%s", "date": "%s"}\n' \
    "$suite" "$fallback" "$(server_field)" "$buildx_version" "$containerd_version" "$STORE" "$(date -u +%FT%TZ)" \
    | $SUDO tee "$STATE_FILE" >/dev/null
}

install_and_start() {
  command -v apt-get >/dev/null || die "No Docker engine answers and this is not Debian/Ubuntu.
Start Docker Desktop (macOS/Windows) or install Docker Engine, then run this again."
  $SUDO apt-get update -qq
  install_tools
  local suite=$CURRENT_SUITE fallback=false
  if ! command -v dockerd >/dev/null || ! $SUDO test -e "$STATE_FILE"; then
    if ! install_suite_engine "$CURRENT_SUITE" check; then
      warn "Debian $CURRENT_SUITE's engine (docker >= $MIN_DOCKER, buildx >= $MIN_BUILDX, containerd >= $MIN_CONTAINERD) could not be had; falling back to Debian $FALLBACK_SUITE's older engine. Lessons about current BuildKit features will say what it refuses."
      suite=$FALLBACK_SUITE; fallback=true
      install_suite_engine "$FALLBACK_SUITE" || die "No engine could be installed from Debian $CURRENT_SUITE or $FALLBACK_SUITE.
Install Docker Engine yourself (docs.docker.com/engine/install), then run this again."
    fi
  else
    suite=$(sed -n 's/.*"suite": "\([a-z]*\)".*/\1/p' "$STATE_FILE"); suite=${suite:-$CURRENT_SUITE}
    grep -q '"fallback": true' "$STATE_FILE" && fallback=true
  fi
  write_daemon_config
  if ! start_engine; then
    [ "$fallback" = false ] || die "dockerd did not answer within 60 s; see $DOCKERD_LOG"
    warn "Debian $CURRENT_SUITE's dockerd did not answer within 60 s (see $DOCKERD_LOG); falling back to Debian $FALLBACK_SUITE's engine"
    stop_engine
    install_suite_engine "$FALLBACK_SUITE" || die "Debian $FALLBACK_SUITE's engine could not be installed either."
    suite=$FALLBACK_SUITE; fallback=true
    start_engine || die "dockerd did not answer within 60 s; see $DOCKERD_LOG"
  fi
  record_state "$suite" "$fallback"
  log "engine started: Docker $(server_field), $(docker info --format '{{.DriverStatus}}' 2>/dev/null | grep -q snapshotter && echo 'containerd image store' || echo 'classic image store')"
}

enable_emulation() {
  # Run other platforms' binaries (linux/arm64 on amd64, ...) through QEMU.
  [ -d /proc/sys/fs/binfmt_misc ] || return 0
  if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
    $SUDO mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || return 0
  fi
  command -v update-binfmts >/dev/null && $SUDO update-binfmts --enable >/dev/null 2>&1 || true
}

main_engine() {
  if engine_answers; then
    log "a Docker engine answers: $(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})')"
  else
    [ -z "${DOCKER_HOST:-}" ] || die "DOCKER_HOST=$DOCKER_HOST does not answer. Start that engine, or unset DOCKER_HOST."
    install_and_start
  fi
  docker buildx version >/dev/null 2>&1 \
    || log "note: the docker buildx plugin is missing; BuildKit lessons will say so and skip"
  [ -n "${DOCKER_HOST:-}" ] || enable_emulation
}

ensure_rule() {  # ensure_rule TABLE CHAIN RULE...: add the rule unless it is there
  local table=$1 chain=$2; shift 2
  $SUDO iptables -t "$table" -C "$chain" "$@" 2>/dev/null || $SUDO iptables -t "$table" -I "$chain" "$@"
}

# nsenter switches only the network namespace (ip netns exec would also remount /sys, without cgroups).
in_second() { $SUDO nsenter --net="/run/netns/$SECOND_NETNS" "$@"; }

second_namespace() {
  # The namespace, a veth pair to the host, and NAT on the host so builds reach package
  # registries. Forwarding rules go in DOCKER-USER, the chain Docker keeps for its users.
  if ! $SUDO ip netns list | grep -qw "$SECOND_NETNS"; then
    $SUDO ip netns add "$SECOND_NETNS"
    $SUDO ip link add "$SECOND_LINK-h" type veth peer name "$SECOND_LINK-n"
    $SUDO ip link set "$SECOND_LINK-n" netns "$SECOND_NETNS"
    $SUDO ip addr add 10.211.255.1/30 dev "$SECOND_LINK-h"
    $SUDO ip link set "$SECOND_LINK-h" up
    in_second ip addr add 10.211.255.2/30 dev "$SECOND_LINK-n"
    in_second ip link set "$SECOND_LINK-n" up
    in_second ip link set lo up
    in_second ip route add default via 10.211.255.1
  fi
  $SUDO sysctl -qw net.ipv4.ip_forward=1
  $SUDO iptables -N DOCKER-USER 2>/dev/null || true
  $SUDO iptables -C FORWARD -j DOCKER-USER 2>/dev/null || $SUDO iptables -I FORWARD -j DOCKER-USER
  ensure_rule filter DOCKER-USER -i "$SECOND_LINK-h" -j ACCEPT
  ensure_rule filter DOCKER-USER -o "$SECOND_LINK-h" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
  ensure_rule nat POSTROUTING -s "$SECOND_LINK_NET" ! -o "$SECOND_LINK-h" -j MASQUERADE
}

second_store() {
  # A second daemon with the other image store, only beside an engine this script started:
  # own network namespace, data root, exec root, pidfile, socket and containerd.
  # Prints "DOCKER_HOST NAMESPACE" for the tests of that store.
  if [ -n "${DOCKER_HOST:-}" ] || ! $SUDO test -e "$STATE_FILE"; then
    log "second store skipped: the engine here was not started by this set-up"
    exit 3
  fi
  local main_store other snapshotter
  main_store=$(docker info --format '{{.DriverStatus}}' | grep -q snapshotter && echo containerd || echo classic)
  if [ "$main_store" = containerd ]; then other=classic; snapshotter=false; else other=containerd; snapshotter=true; fi
  second_namespace
  if ! DOCKER_HOST=$SECOND_SOCKET wait_for 1 docker info; then
    log "starting a second dockerd with the $other image store on $SECOND_SOCKET (network namespace $SECOND_NETNS)"
    $SUDO mkdir -p "$SECOND_DIR/data" /run/workbook-second
    cat <<EOF | $SUDO tee "$SECOND_DIR/daemon.json" >/dev/null
{
  "data-root": "$SECOND_DIR/data",
  "exec-root": "/run/workbook-second/exec",
  "pidfile": "/run/workbook-second/docker.pid",
  "hosts": ["$SECOND_SOCKET"],
  "features": {"containerd-snapshotter": $snapshotter}
}
EOF
    local log_file=/var/log/workbook-dockerd-second.log
    $SUDO touch "$log_file"
    # shellcheck disable=SC2024
    $SUDO setsid nsenter --net="/run/netns/$SECOND_NETNS" dockerd --config-file "$SECOND_DIR/daemon.json" \
      >>"$log_file" 2>&1 </dev/null &
    disown || true
    DOCKER_HOST=$SECOND_SOCKET wait_for 60 docker info \
      || die "the second dockerd did not answer within 60 s; see $log_file"
  fi
  echo "$SECOND_SOCKET $SECOND_NETNS"
}

case "${1:-}" in
  "") main_engine ;;
  second-store) second_store ;;
  *) die "usage: setup-engine.sh [second-store]" ;;
esac
