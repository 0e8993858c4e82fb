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

# shellcheck source=lib/locate-tool.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/locate-tool.sh"
locate_or_install "${1:-install}" HAProxy HAPROXY_BIN 'haproxy' \
  "The load-balancer tests need it" 'haproxy' \
  haproxy /usr/sbin/haproxy
