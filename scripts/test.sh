#!/usr/bin/env bash
# The whole test suite, as CI runs it (`npm test`; .ci/run calls `npm ci && npm test`).
# Builds the bundle (the tests spawn dist/cli.js and dist/agent.js), type-checks,
# lints (code and every workflow/action file), finds dead code (knip), and runs vitest.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "prometheus (for the analysis tests)"
# Installs Debian's package when running as root (CI); elsewhere locates it or says loudly why
# the Prometheus tests will be skipped.
bash scripts/prometheus.sh || echo "prometheus not available: the tests that need it are skipped (never in CI)" >&2

step "alertmanager (for the alert-gate and silence tests)"
# Same pattern: Debian's prometheus-alertmanager when root (CI); otherwise located, or the Alertmanager tests skip loudly.
bash scripts/alertmanager.sh >/dev/null || echo "alertmanager not available: the tests that need it are skipped (never in CI)" >&2

step "haproxy (for the zero-downtime load-balancer tests)"
# Same pattern: Debian's package when root (CI); otherwise located, or the HAProxy tests skip loudly.
bash scripts/haproxy.sh || echo "haproxy not available: the tests that need it are skipped (never in CI)" >&2

step "etcd (for the quorum tests)"
# Same pattern: Debian's etcd-server and etcd-client when root (CI); otherwise located, or the etcd tests skip loudly.
bash scripts/etcd.sh >/dev/null || echo "etcd not available: the tests that need it are skipped (never in CI)" >&2

step "openssh (for the ssh step tests)"
# Installs Debian's openssh-server and openssh-client when running as root (CI); elsewhere locates
# them or says loudly why the sshd tests will be skipped.
bash scripts/sshd.sh >/dev/null || echo "sshd not available: the tests that need it are skipped (never in CI)" >&2

step "shellcheck (for the run: blocks of the workflows and actions)"
# Same pattern: Debian's shellcheck when root (CI); otherwise located, or the shellcheck test skips loudly.
bash scripts/shellcheck.sh >/dev/null || echo "shellcheck not available: the test that needs it is skipped (never in CI)" >&2

step "chromium (for the report's browser test)"
# Same pattern: Debian's chromium when root (CI); otherwise located, or the report's browser test skips loudly.
bash scripts/chromium.sh >/dev/null || echo "chromium not available: the report's browser test is skipped (never in CI)" >&2

step "build"
node scripts/build.mjs

step "typecheck"
npx tsc --noEmit -p .

step "lint"
npx eslint .
npx prettier --check . >/dev/null || { npx prettier --check .; exit 1; }

step "dead code (knip: unused files, exports, types and dependencies; see knip.json)"
npx knip --no-progress

step "tests"
npx vitest run "$@"
