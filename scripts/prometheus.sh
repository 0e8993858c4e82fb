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

# shellcheck source=lib/locate-tool.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/locate-tool.sh"
locate_or_install "${1:-install}" Prometheus PROMETHEUS_BIN 'prometheus' \
  "The analysis tests need it" 'prometheus' \
  prometheus /usr/bin/prometheus
