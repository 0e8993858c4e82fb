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

# shellcheck source=lib/locate-tool.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/locate-tool.sh"
locate_or_install "${1:-install}" ShellCheck SHELLCHECK_BIN '' \
  "The shellcheck test over every run: block needs it" 'shellcheck' \
  shellcheck /usr/bin/shellcheck
