#!/usr/bin/env bash
# Locates (or installs) the Prometheus Alertmanager used by the alert-gate and
# silence tests and prints the path of the binary on stdout, nothing else.
#
#   scripts/alertmanager.sh            # path, installing the Debian package when root
#   scripts/alertmanager.sh --check    # path or exit 1, never installs
#
# Order: $ALERTMANAGER_BIN, `prometheus-alertmanager` or `alertmanager` on PATH,
# /usr/bin/prometheus-alertmanager; else, when running as root (CI, `.ci/run`),
# `apt-get update && apt-get install -y prometheus-alertmanager` (Debian package
# `prometheus-alertmanager`). Otherwise a loud message on stderr and exit 1.
#
# Debian's package starts a system service listening on :9093 on machines with
# an init system. Our tests never use it: they start their OWN alertmanager on
# 127.0.0.1 with a temporary config, a temporary --storage.path, a free port and
# clustering off (test/alerts/helpers/alertmanager.ts). The service is stopped
# and disabled here so it holds no port.
set -euo pipefail

mode="${1:-install}"

found() {
  printf '%s\n' "$1"
  exit 0
}

if [[ -n "${ALERTMANAGER_BIN:-}" && -x "${ALERTMANAGER_BIN}" ]]; then found "${ALERTMANAGER_BIN}"; fi
if command -v prometheus-alertmanager >/dev/null 2>&1; then found "$(command -v prometheus-alertmanager)"; fi
if command -v alertmanager >/dev/null 2>&1; then found "$(command -v alertmanager)"; fi
if [[ -x /usr/bin/prometheus-alertmanager ]]; then found /usr/bin/prometheus-alertmanager; fi

loud() {
  {
    echo '################################################################################'
    echo "## Alertmanager is not installed: $*"
    echo '## The alert-gate and silence tests need it (Debian package `prometheus-alertmanager`).'
    echo '## Install it with:  sudo apt-get update && sudo apt-get install -y prometheus-alertmanager'
    echo '## or point ALERTMANAGER_BIN at an alertmanager binary.'
    echo '################################################################################'
  } >&2
}

if [[ "$mode" == "--check" ]]; then
  loud 'not found on PATH or in /usr/bin'
  exit 1
fi

recheck() {
  if [[ -x /usr/bin/prometheus-alertmanager ]]; then found /usr/bin/prometheus-alertmanager; fi
}
# shellcheck source=lib/debian-install.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/debian-install.sh"
debian_install alertmanager prometheus-alertmanager prometheus-alertmanager

if [[ -x /usr/bin/prometheus-alertmanager ]]; then found /usr/bin/prometheus-alertmanager; fi
if command -v prometheus-alertmanager >/dev/null 2>&1; then found "$(command -v prometheus-alertmanager)"; fi
loud 'apt-get install finished but no alertmanager binary was found'
exit 1
