#!/usr/bin/env bash
# Runs Fleetgate's bundled CLI (dist/cli.js of the Fleetgate checkout this action
# comes from) with the arguments given; every composite action's `run:` blocks call
# it as `bash "$GITHUB_ACTION_PATH/../lib/fleetgate.sh" <command> …`. It takes no
# input but its arguments: actions pass their inputs to it through `env:` only.
set -euo pipefail
cli="$(dirname "${BASH_SOURCE[0]}")/../../dist/cli.js"
if [ ! -f "$cli" ]; then
  echo "::error title=fleetgate::dist/cli.js is missing next to this action: use a release tag of Fleetgate (it carries dist/), or build it (npm ci)"
  exit 1
fi
exec node "$cli" "$@"
