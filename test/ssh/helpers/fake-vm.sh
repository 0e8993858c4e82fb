#!/bin/sh
# A fake Debian VM's tools for the ssh step tests: installed as dpkg-query, apt-get,
# systemctl, sudo, touch and rm first on PATH of one test sshd (sshd_config SetEnv),
# working on that host's folder $FAKEVM_ROOT. Every call is logged to
# $FAKEVM_ROOT/commands.log, one argument per line-separated field, so the tests see
# exactly which arguments arrived. Anything it does not expect fails loudly.
set -eu
name=$(basename "$0")
{
  printf '%s' "$name"
  for a in "$@"; do printf ' [%s]' "$a"; done
  printf '\n'
} >>"$FAKEVM_ROOT/commands.log"
state="$FAKEVM_ROOT/nginx.version"
broken() { grep -qxF "$1" "$FAKEVM_ROOT/../../broken-versions" 2>/dev/null; }
case "$name" in
sudo) exec "$@" ;;
env)
  while [ $# -gt 0 ] && case "$1" in *=*) true ;; *) false ;; esac; do export "$1"; shift; done
  exec "$@"
  ;;
touch | rm)
  last=""
  for a in "$@"; do last="$a"; done
  case "$last" in /*) ;; *) echo "$name: fake VM expects an absolute path" >&2; exit 2 ;; esac
  mkdir -p "$(dirname "$FAKEVM_ROOT$last")"
  if [ "$name" = touch ]; then /usr/bin/touch "$FAKEVM_ROOT$last"; else /bin/rm -f "$FAKEVM_ROOT$last"; fi
  ;;
dpkg-query)
  [ "$*" = '-W -f=${source:Upstream-Version} nginx' ] || { echo "dpkg-query: unexpected arguments: $*" >&2; exit 2; }
  v=$(cat "$state")
  printf '%s' "${v%-*}"
  ;;
apt-get)
  pkg=""
  downgrades=no
  for a in "$@"; do
    case "$a" in
    nginx=*) pkg="$a" ;;
    --allow-downgrades) downgrades=yes ;;
    esac
  done
  case "$pkg" in nginx=*-\*) ;; *) echo "E: unexpected package argument: $pkg" >&2; exit 100 ;; esac
  want=${pkg#nginx=}
  want=${want%-\*}
  have=$(cat "$state")
  if dpkg --compare-versions "$want" lt "${have%-*}" && [ "$downgrades" = no ]; then
    echo "E: Packages were downgraded and -y was used without --allow-downgrades." >&2
    exit 100
  fi
  printf '%s-1\n' "$want" >"$state"
  ;;
systemctl)
  [ "$*" = 'is-active --quiet nginx' ] || { echo "systemctl: unexpected arguments: $*" >&2; exit 2; }
  v=$(cat "$state")
  if broken "${v%-*}"; then exit 3; fi
  ;;
*)
  echo "fake VM: $name is not a tool it knows" >&2
  exit 127
  ;;
esac
