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

mode="${1:-install}"

found() {
  printf '%s\n' "$1"
  exit 0
}

if [[ -n "${CHROMIUM_BIN:-}" && -x "${CHROMIUM_BIN}" ]]; then found "${CHROMIUM_BIN}"; fi
if [[ -x /usr/bin/chromium ]]; then found /usr/bin/chromium; fi
if command -v chromium >/dev/null 2>&1; then found "$(command -v chromium)"; fi

loud() {
  {
    echo '################################################################################'
    echo "## Chromium is not installed: $*"
    echo "## The report's browser test needs it (Debian package 'chromium')."
    echo '## Install it with:  sudo apt-get update && sudo apt-get install -y chromium'
    echo '## or point CHROMIUM_BIN at a chromium binary.'
    echo '################################################################################'
  } >&2
}

if [[ "$mode" == "--check" ]]; then
  loud 'not found on PATH or in /usr/bin'
  exit 1
fi

recheck() {
  if [[ -x /usr/bin/chromium ]]; then found /usr/bin/chromium; fi
}
# shellcheck source=lib/debian-install.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/debian-install.sh"
debian_install chromium '' chromium

if [[ -x /usr/bin/chromium ]]; then found /usr/bin/chromium; fi
if command -v chromium >/dev/null 2>&1; then found "$(command -v chromium)"; fi
loud 'apt-get install finished but no chromium binary was found'
exit 1
