#!/usr/bin/env bash
# Locates (or installs) etcd and etcdctl for the quorum tests and prints their
# paths on stdout, one per line (etcd first, then etcdctl), nothing else.
#
#   scripts/etcd.sh            # paths, installing the Debian packages when root
#   scripts/etcd.sh --check    # paths or exit 1, never installs
#
# Order: $ETCD_BIN / $ETCDCTL_BIN, `etcd`/`etcdctl` on PATH, /usr/bin; else,
# when running as root (CI, `.ci/run`), `apt-get update && apt-get install -y
# etcd-server etcd-client` (Debian packages). Otherwise a loud message on
# stderr and exit 1.
#
# Debian's etcd-server starts a single-member system service on :2379/:2380 on
# machines with an init system. Our tests never use it: they start their OWN
# 3- and 5-member clusters on 127.0.0.1 with free ports and temporary data
# directories (test/helpers/etcd.ts). The service is stopped and disabled here
# so it holds no port.
set -euo pipefail

mode="${1:-install}"

locate() {
  local env="$1" name="$2"
  if [[ -n "${!env:-}" && -x "${!env}" ]]; then printf '%s\n' "${!env}"; return 0; fi
  if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return 0; fi
  if [[ -x "/usr/bin/$name" ]]; then printf '%s\n' "/usr/bin/$name"; return 0; fi
  return 1
}

found_both() {
  local etcd etcdctl
  etcd="$(locate ETCD_BIN etcd)" || return 1
  etcdctl="$(locate ETCDCTL_BIN etcdctl)" || return 1
  printf '%s\n%s\n' "$etcd" "$etcdctl"
}

if found_both; then exit 0; fi

loud() {
  {
    echo '################################################################################'
    echo "## etcd is not installed: $*"
    echo '## The quorum tests need it (Debian packages `etcd-server` and `etcd-client`).'
    echo '## Install them with:  sudo apt-get update && sudo apt-get install -y etcd-server etcd-client'
    echo '## or point ETCD_BIN and ETCDCTL_BIN at the binaries.'
    echo '################################################################################'
  } >&2
}

if [[ "$mode" == "--check" ]]; then
  loud 'not found on PATH or in /usr/bin'
  exit 1
fi

recheck() {
  if found_both; then exit 0; fi
}
# shellcheck source=lib/debian-install.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/debian-install.sh"
debian_install etcd etcd etcd-server etcd-client

if found_both; then exit 0; fi
loud 'apt-get install finished but etcd or etcdctl was not found'
exit 1
