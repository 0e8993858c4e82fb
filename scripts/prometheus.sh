#!/usr/bin/env bash
# Locates (or installs) the Prometheus server used by the analysis tests and
# prints the path of the binary on stdout, nothing else.
#
#   scripts/prometheus.sh            # path, installing the Debian package when root
#   scripts/prometheus.sh --check    # path or exit 1, never installs
#
# Order: $PROMETHEUS_BIN, `prometheus` on PATH, /usr/bin/prometheus; else, when
# running as root (CI, `.ci/run`), `apt-get update && apt-get install -y
# prometheus` (Debian package `prometheus`). Otherwise a loud message on stderr
# and exit 1.
#
# Debian's package starts a system service listening on :9090 on machines with
# an init system. Our tests never use it: they start their OWN Prometheus on
# 127.0.0.1 with a temporary config, a temporary --storage.tsdb.path and a free
# port (test/analysis/helpers/prometheus.ts). The service is stopped and
# disabled here so it scrapes nothing and holds no port.
set -euo pipefail

mode="${1:-install}"

found() {
  printf '%s\n' "$1"
  exit 0
}

if [[ -n "${PROMETHEUS_BIN:-}" && -x "${PROMETHEUS_BIN}" ]]; then found "${PROMETHEUS_BIN}"; fi
if command -v prometheus >/dev/null 2>&1; then found "$(command -v prometheus)"; fi
if [[ -x /usr/bin/prometheus ]]; then found /usr/bin/prometheus; fi

loud() {
  {
    echo '################################################################################'
    echo "## Prometheus is not installed: $*"
    echo '## The analysis tests need it (Debian package `prometheus`).'
    echo '## Install it with:  sudo apt-get update && sudo apt-get install -y prometheus'
    echo '## or point PROMETHEUS_BIN at a prometheus binary.'
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
  exec 9>"${TMPDIR:-/tmp}/fleetgate-prometheus-install.lock"
  flock -w 600 9 || true
  if [[ -x /usr/bin/prometheus ]]; then found /usr/bin/prometheus; fi
fi

echo 'prometheus.sh: installing the Debian package prometheus' >&2
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
apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends prometheus >&2

# Stop and disable the system service if one started: tests run their own.
if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
  systemctl stop prometheus >/dev/null 2>&1 || true
  systemctl disable prometheus >/dev/null 2>&1 || true
elif command -v service >/dev/null 2>&1; then
  service prometheus stop >/dev/null 2>&1 || true
fi

if [[ -x /usr/bin/prometheus ]]; then found /usr/bin/prometheus; fi
if command -v prometheus >/dev/null 2>&1; then found "$(command -v prometheus)"; fi
loud 'apt-get install finished but no prometheus binary was found'
exit 1
