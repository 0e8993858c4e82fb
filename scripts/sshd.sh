#!/usr/bin/env bash
# Locates (or installs) OpenSSH's server and client used by the ssh step tests
# (test/ssh/) and prints the path of the sshd binary on stdout, nothing else.
#
#   scripts/sshd.sh            # path, installing the Debian packages when root
#   scripts/sshd.sh --check    # path or exit 1, never installs
#
# Order: $SSHD_BIN, /usr/sbin/sshd, `sshd` on PATH; else, when running as root
# (CI, `.ci/run`), `apt-get update && apt-get install -y openssh-server
# openssh-client` (Debian packages). Otherwise a loud message on stderr and exit 1.
#
# Debian's package starts a system sshd on :22 on machines with an init system.
# Our tests never use it: they start their OWN sshd processes on 127.0.0.1 with
# a temporary sshd_config, host keys and authorized_keys, free ports, key-only
# auth (test/ssh/helpers/sshd.ts). The service is stopped and disabled here.
set -euo pipefail

mode="${1:-install}"

found() {
  if ! command -v ssh >/dev/null 2>&1 || ! command -v ssh-keygen >/dev/null 2>&1; then
    return 0 # the server is there but the client is not: install below
  fi
  printf '%s\n' "$1"
  exit 0
}

locate() {
  if [[ -n "${SSHD_BIN:-}" && -x "${SSHD_BIN}" ]]; then found "${SSHD_BIN}"; fi
  if [[ -x /usr/sbin/sshd ]]; then found /usr/sbin/sshd; fi
  if command -v sshd >/dev/null 2>&1; then found "$(command -v sshd)"; fi
}
locate

loud() {
  {
    echo '################################################################################'
    echo "## OpenSSH is not installed: $*"
    echo '## The ssh step tests need sshd, ssh and ssh-keygen (Debian packages'
    echo '## `openssh-server` and `openssh-client`).'
    echo '## Install them with:  sudo apt-get update && sudo apt-get install -y openssh-server openssh-client'
    echo '## or point SSHD_BIN at an sshd binary.'
    echo '################################################################################'
  } >&2
}

if [[ "$mode" == "--check" ]]; then
  loud 'sshd, ssh or ssh-keygen not found'
  exit 1
fi

recheck() {
  locate
}
# shellcheck source=lib/debian-install.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/debian-install.sh"
debian_install sshd ssh openssh-server openssh-client

locate
loud 'apt-get install finished but no sshd binary was found'
exit 1
