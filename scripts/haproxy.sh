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

recheck() {
  if [[ -x /usr/sbin/haproxy ]]; then found /usr/sbin/haproxy; fi
}
# shellcheck source=lib/debian-install.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/debian-install.sh"
debian_install haproxy haproxy haproxy

if [[ -x /usr/sbin/haproxy ]]; then found /usr/sbin/haproxy; fi
if command -v haproxy >/dev/null 2>&1; then found "$(command -v haproxy)"; fi
loud 'apt-get install finished but no haproxy binary was found'
exit 1
