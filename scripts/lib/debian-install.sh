#!/usr/bin/env bash
# Installs Debian packages for a test's real neighbour (Prometheus, HAProxy, etcd, OpenSSH, ShellCheck),
# the one way every scripts/<tool>.sh does it (single-binary tools through scripts/lib/locate-tool.sh).
# Sourced, not run. The caller defines:
#
#   loud MESSAGE   say loudly on stderr why the tool is missing (and how to get it)
#   recheck        exit 0 (printing the path) when the tool is there now, else return
#
# debian_install NAME SERVICES PACKAGE...
#   NAME      the tool, for the lock file and messages
#   SERVICES  comma-separated system services the packages may start (stopped and disabled:
#             the tests start their own, on loopback, with their own configuration)
#
# Root only (CI, `.ci/run`); otherwise `loud` and exit 1. Parallel callers install once, under
# a lock. The packages' postinst scripts are kept from starting services (policy-rc.d 101,
# removed afterwards), and any service that started anyway is stopped.

debian_install() {
  local name="$1" services="$2"
  shift 2
  if [[ "$(id -u)" != "0" ]]; then
    loud 'not running as root, so this script will not install it'
    exit 1
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    loud 'apt-get is not available on this machine'
    exit 1
  fi
  if command -v flock >/dev/null 2>&1; then
    exec 9>"${TMPDIR:-/tmp}/fleetgate-${name}-install.lock"
    flock -w 600 9 || true
    recheck
  fi

  echo "${name}.sh: installing the Debian package(s) $*" >&2
  export DEBIAN_FRONTEND=noninteractive
  local policy=/usr/sbin/policy-rc.d
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    # shellcheck disable=SC2064 # expand now: the path is fixed
    trap "rm -f '$policy'" EXIT
  fi

  apt-get update -qq >&2
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "$@" >&2

  local service
  local -a list
  IFS=, read -ra list <<<"$services"
  for service in "${list[@]}"; do
    if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
      systemctl stop "$service" >/dev/null 2>&1 || true
      systemctl disable "$service" >/dev/null 2>&1 || true
    elif command -v service >/dev/null 2>&1; then
      service "$service" stop >/dev/null 2>&1 || true
    fi
  done
}
