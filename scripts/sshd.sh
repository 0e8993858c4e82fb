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

if [[ "$(id -u)" != "0" ]]; then
  loud 'not running as root, so this script will not install it'
  exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
  loud 'apt-get is not available on this machine'
  exit 1
fi

# Parallel test workers may all get here at once: install once, under a lock.
if command -v flock >/dev/null 2>&1; then
  exec 9>"${TMPDIR:-/tmp}/fleetgate-sshd-install.lock"
  flock -w 600 9 || true
  locate
fi

echo 'sshd.sh: installing the Debian packages openssh-server openssh-client' >&2
export DEBIAN_FRONTEND=noninteractive
# The package's postinst may try to start the service; policy-rc.d 101 forbids
# that while installing (restored afterwards), and the service is stopped below
# in case it started anyway.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [[ ! -e "$policy" ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod +x "$policy"
  created_policy=1
fi
cleanup() { if [[ "$created_policy" == 1 ]]; then rm -f "$policy"; fi; }
trap cleanup EXIT

apt-get update -qq >&2
apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends openssh-server openssh-client >&2

# Stop and disable the system service if one started: tests run their own.
if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
  systemctl stop ssh >/dev/null 2>&1 || true
  systemctl disable ssh >/dev/null 2>&1 || true
elif command -v service >/dev/null 2>&1; then
  service ssh stop >/dev/null 2>&1 || true
fi

locate
loud 'apt-get install finished but no sshd binary was found'
exit 1
