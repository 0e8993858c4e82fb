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

# shellcheck source=lib/locate-tool.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/locate-tool.sh"
locate_or_install "${1:-install}" Alertmanager ALERTMANAGER_BIN 'prometheus-alertmanager' \
  "The alert-gate and silence tests need it" 'prometheus-alertmanager' \
  prometheus-alertmanager alertmanager /usr/bin/prometheus-alertmanager
