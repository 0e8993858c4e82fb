#!/usr/bin/env bash
# Locates (or installs) etcd and etcdctl for the quorum tests and prints their
# paths on stdout, one per line (etcd first, then etcdctl), nothing else.
#
#   scripts/etcd.sh            # paths, installing the Debian packages when root
#   scripts/etcd.sh --check    # paths or exit 1, never installs
#
# Order: $ETCD_BIN / $ETCDCTL_BIN, `etcd`/`etcdctl` on PATH, /usr/bin; else,
# when running as root (CI, `.ci/run`), `apt-get update && apt-get install -y
# etcd-server etcd-client` (Debian packages). Otherwise a loud message on
# stderr and exit 1.
#
# Debian's etcd-server starts a single-member system service on :2379/:2380 on
# machines with an init system. Our tests never use it: they start their OWN
# 3- and 5-member clusters on 127.0.0.1 with free ports and temporary data
# directories (test/helpers/etcd.ts). The service is stopped and disabled here
# so it holds no port.
set -euo pipefail

mode="${1:-install}"

locate() {
  local env="$1" name="$2"
  if [[ -n "${!env:-}" && -x "${!env}" ]]; then printf '%s\n' "${!env}"; return 0; fi
  if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return 0; fi
  if [[ -x "/usr/bin/$name" ]]; then printf '%s\n' "/usr/bin/$name"; return 0; fi
  return 1
}

found_both() {
  local etcd etcdctl
  etcd="$(locate ETCD_BIN etcd)" || return 1
  etcdctl="$(locate ETCDCTL_BIN etcdctl)" || return 1
  printf '%s\n%s\n' "$etcd" "$etcdctl"
}

if found_both; then exit 0; fi

loud() {
  {
    echo '################################################################################'
    echo "## etcd is not installed: $*"
    echo '## The quorum tests need it (Debian packages `etcd-server` and `etcd-client`).'
    echo '## Install them with:  sudo apt-get update && sudo apt-get install -y etcd-server etcd-client'
    echo '## or point ETCD_BIN and ETCDCTL_BIN at the binaries.'
    echo '################################################################################'
  } >&2
}

if [[ "$mode" == "--check" ]]; then
  loud 'not found on PATH or in /usr/bin'
  exit 1
fi

if [[ "$(id -u)" != "0" ]]; then
  loud 'not running as root, so this script will not install it'
  exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
  loud 'apt-get is not available on this machine'
  exit 1
fi

# Parallel test workers may all get here at once: install once, under a lock.
if command -v flock >/dev/null 2>&1; then
  exec 9>"${TMPDIR:-/tmp}/fleetgate-etcd-install.lock"
  flock -w 600 9 || true
  if found_both; then exit 0; fi
fi

echo 'etcd.sh: installing the Debian packages etcd-server and etcd-client' >&2
export DEBIAN_FRONTEND=noninteractive
# The package's postinst may try to start the service; policy-rc.d 101 forbids
# that while installing (restored afterwards), and the service is stopped below
# in case it started anyway.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [[ ! -e "$policy" ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod +x "$policy"
  created_policy=1
fi
cleanup() { if [[ "$created_policy" == 1 ]]; then rm -f "$policy"; fi; }
trap cleanup EXIT

apt-get update -qq >&2
apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends etcd-server etcd-client >&2

# Stop and disable the system service if one started: tests run their own.
if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
  systemctl stop etcd >/dev/null 2>&1 || true
  systemctl disable etcd >/dev/null 2>&1 || true
elif command -v service >/dev/null 2>&1; then
  service etcd stop >/dev/null 2>&1 || true
fi

if found_both; then exit 0; fi
loud 'apt-get install finished but etcd or etcdctl was not found'
exit 1
