#!/usr/bin/env bash
# Locates a test's real neighbour (one binary), installing its Debian package when running as
# root, and prints the binary's path on stdout, nothing else — the one way every
# single-binary scripts/<tool>.sh does it. Sourced, not run.
#
# locate_or_install MODE LABEL ENV_VAR SERVICES PURPOSE PACKAGES CANDIDATE...
#   MODE       `install` (default) or `--check` (never installs)
#   LABEL      the tool for people and the install lock (`Prometheus`, `HAProxy`)
#   ENV_VAR    a variable that may point at the binary (checked first)
#   SERVICES   comma-separated system services the packages may start (stopped and disabled)
#   PURPOSE    which tests need it (for the message)
#   PACKAGES   space-separated Debian packages
#   CANDIDATE  where to look, in order: an absolute path, or a command name on PATH
#
# Found: prints the path, exit 0. Not found with --check, or not root: a loud message on
# stderr, exit 1 (see scripts/lib/debian-install.sh for the install itself).

# shellcheck source=debian-install.sh
source "$(dirname "${BASH_SOURCE[0]}")/debian-install.sh"

locate_or_install() {
  local mode="$1" label="$2" env_var="$3" services="$4" purpose="$5" packages="$6"
  shift 6
  TOOL_CANDIDATES=("$@")
  TOOL_ENV_VAR="$env_var"
  TOOL_LABEL="$label"
  TOOL_PURPOSE="$purpose"
  TOOL_PACKAGES="$packages"

  recheck
  if [[ "$mode" == "--check" ]]; then
    loud "not found (looked in \$${env_var} and for: ${TOOL_CANDIDATES[*]})"
    exit 1
  fi
  local -a package_list
  read -ra package_list <<<"$packages"
  debian_install "$(tr '[:upper:]' '[:lower:]' <<<"$label")" "$services" "${package_list[@]}"
  recheck
  loud "apt-get install finished but no ${label} binary was found"
  exit 1
}

# debian_install's contract: exit 0 printing the path when the tool is there now, else return.
recheck() {
  local candidate
  if [[ -n "${!TOOL_ENV_VAR:-}" && -x "${!TOOL_ENV_VAR}" ]]; then
    printf '%s\n' "${!TOOL_ENV_VAR}"
    exit 0
  fi
  for candidate in "${TOOL_CANDIDATES[@]}"; do
    if [[ "$candidate" == /* ]]; then
      if [[ -x "$candidate" ]]; then
        printf '%s\n' "$candidate"
        exit 0
      fi
    elif command -v "$candidate" >/dev/null 2>&1; then
      command -v "$candidate"
      exit 0
    fi
  done
}

# debian_install's contract: says loudly on stderr why the tool is missing and how to get it.
loud() {
  {
    echo '################################################################################'
    echo "## ${TOOL_LABEL} is not installed: $*"
    echo "## ${TOOL_PURPOSE} (Debian package(s) ${TOOL_PACKAGES})."
    echo "## Install with:  sudo apt-get update && sudo apt-get install -y ${TOOL_PACKAGES}"
    echo "## or point ${TOOL_ENV_VAR} at the binary."
    echo '################################################################################'
  } >&2
}
