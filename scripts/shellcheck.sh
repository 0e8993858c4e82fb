#!/usr/bin/env bash
# Locates (or installs) the ShellCheck that lints every `run:` block of the
# workflows and composite actions (test/workflows/shellcheck.test.ts), and prints
# the path of the binary on stdout, nothing else.
#
#   scripts/shellcheck.sh            # path, installing the Debian package when root
#   scripts/shellcheck.sh --check    # path or exit 1, never installs
#
# Order: $SHELLCHECK_BIN, `shellcheck` on PATH, /usr/bin/shellcheck; else, when
# running as root (CI, `.ci/run`), `apt-get update && apt-get install -y shellcheck`
# (Debian package `shellcheck`). Otherwise a loud message on stderr and exit 1.
set -euo pipefail

mode="${1:-install}"

found() {
  printf '%s\n' "$1"
  exit 0
}

if [[ -n "${SHELLCHECK_BIN:-}" && -x "${SHELLCHECK_BIN}" ]]; then found "${SHELLCHECK_BIN}"; fi
if command -v shellcheck >/dev/null 2>&1; then found "$(command -v shellcheck)"; fi
if [[ -x /usr/bin/shellcheck ]]; then found /usr/bin/shellcheck; fi

loud() {
  {
    echo '################################################################################'
    echo "## ShellCheck is not installed: $*"
    echo "## The shellcheck test over every run: block needs it (Debian package 'shellcheck')."
    echo '## Install it with:  sudo apt-get update && sudo apt-get install -y shellcheck'
    echo '## or point SHELLCHECK_BIN at a shellcheck binary.'
    echo '################################################################################'
  } >&2
}

if [[ "$mode" == "--check" ]]; then
  loud 'not found on PATH or in /usr/bin'
  exit 1
fi

# shellcheck disable=SC2317 # called by debian_install
recheck() {
  if [[ -x /usr/bin/shellcheck ]]; then found /usr/bin/shellcheck; fi
}
# shellcheck source=lib/debian-install.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/debian-install.sh"
debian_install shellcheck '' shellcheck

if [[ -x /usr/bin/shellcheck ]]; then found /usr/bin/shellcheck; fi
if command -v shellcheck >/dev/null 2>&1; then found "$(command -v shellcheck)"; fi
loud 'apt-get install finished but no shellcheck binary was found'
exit 1
