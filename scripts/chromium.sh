#!/usr/bin/env bash
# Locates (or installs) the headless Chromium that opens `fleetgate report`'s HTML
# (test/report/browser.test.ts, driven by playwright-core), and prints the path of the
# binary on stdout, nothing else.
#
#   scripts/chromium.sh            # path, installing the Debian package when root
#   scripts/chromium.sh --check    # path or exit 1, never installs
#
# Order: $CHROMIUM_BIN, /usr/bin/chromium, `chromium` on PATH; else, when running as
# root (CI, `.ci/run`), `apt-get update && apt-get install -y chromium` (Debian
# package `chromium`). Otherwise a loud message on stderr and exit 1. Playwright's
# own browser download is never used: the machines reach no host but the registries.
set -euo pipefail

# shellcheck source=lib/locate-tool.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/locate-tool.sh"
locate_or_install "${1:-install}" Chromium CHROMIUM_BIN '' \
  "The report's browser test needs it" 'chromium' \
  /usr/bin/chromium chromium
