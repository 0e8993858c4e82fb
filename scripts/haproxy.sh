#!/usr/bin/env bash
# Locates (or installs) the HAProxy used by the load-balancer tests and the
# zero-downtime benchmark, and prints the path of the binary on stdout, nothing else.
#
#   scripts/haproxy.sh            # path, installing the Debian package when root
#   scripts/haproxy.sh --check    # path or exit 1, never installs
#
# Order: $HAPROXY_BIN, `haproxy` on PATH, /usr/sbin/haproxy; else, when running
# as root (CI, `.ci/run`), `apt-get update && apt-get install -y haproxy`
# (Debian package `haproxy`). Otherwise a loud message on stderr and exit 1.
#
# Debian's package starts a system service (config /etc/haproxy/haproxy.cfg) on
# machines with an init system. Our tests never use it: they start their OWN
# haproxy in the foreground on 127.0.0.1 with a temporary config, a free port
# and a stats socket in a temporary folder (test/lb/haproxy.ts). The service is
# stopped and disabled here so it holds no port.
set -euo pipefail

mode="${1:-install}"

found() {
  printf '%s\n' "$1"
  exit 0
}

if [[ -n "${HAPROXY_BIN:-}" && -x "${HAPROXY_BIN}" ]]; then found "${HAPROXY_BIN}"; fi
if command -v haproxy >/dev/null 2>&1; then found "$(command -v haproxy)"; fi
if [[ -x /usr/sbin/haproxy ]]; then found /usr/sbin/haproxy; fi

loud() {
  {
    echo '################################################################################'
    echo "## HAProxy is not installed: $*"
    echo '## The load-balancer tests need it (Debian package `haproxy`).'
    echo '## Install it with:  sudo apt-get update && sudo apt-get install -y haproxy'
    echo '## or point HAPROXY_BIN at a haproxy binary.'
    echo '################################################################################'
  } >&2
}

if [[ "$mode" == "--check" ]]; then
  loud 'not found on PATH or in /usr/sbin'
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
  exec 9>"${TMPDIR:-/tmp}/fleetgate-haproxy-install.lock"
  flock -w 600 9 || true
  if [[ -x /usr/sbin/haproxy ]]; then found /usr/sbin/haproxy; fi
fi

echo 'haproxy.sh: installing the Debian package haproxy' >&2
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
apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends haproxy >&2

# Stop and disable the system service if one started: tests run their own.
if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
  systemctl stop haproxy >/dev/null 2>&1 || true
  systemctl disable haproxy >/dev/null 2>&1 || true
elif command -v service >/dev/null 2>&1; then
  service haproxy stop >/dev/null 2>&1 || true
fi

if [[ -x /usr/sbin/haproxy ]]; then found /usr/sbin/haproxy; fi
if command -v haproxy >/dev/null 2>&1; then found "$(command -v haproxy)"; fi
loud 'apt-get install finished but no haproxy binary was found'
exit 1
