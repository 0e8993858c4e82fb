#!/usr/bin/env bash
# The whole test suite, as CI runs it (`npm test`; .ci/run calls `npm ci && npm test`).
# Builds the bundle (the tests spawn dist/cli.js and dist/agent.js), type-checks,
# lints (code and every workflow/action file), and runs vitest.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "build"
node scripts/build.mjs

step "typecheck"
npx tsc --noEmit -p .

step "lint"
npx eslint .
npx prettier --check . >/dev/null || { npx prettier --check .; exit 1; }

step "tests"
npx vitest run "$@"
