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

recheck() {
  if [[ -x /usr/bin/prometheus ]]; then found /usr/bin/prometheus; fi
}
# shellcheck source=lib/debian-install.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/debian-install.sh"
debian_install prometheus prometheus prometheus

if [[ -x /usr/bin/prometheus ]]; then found /usr/bin/prometheus; fi
if command -v prometheus >/dev/null 2>&1; then found "$(command -v prometheus)"; fi
loud 'apt-get install finished but no prometheus binary was found'
exit 1
