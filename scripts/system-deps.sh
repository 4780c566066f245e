#!/usr/bin/env bash
# Installs the Debian packages the tests need when a command is missing. Needs root (or sudo).
set -euo pipefail

# command -> Debian package: Node for the client build and contract tests, Chromium for the
# browser tests, redis-server for scale-out tests, PostgreSQL for the chat store tests, nginx
# for the load-balancer test. Debian keeps the PostgreSQL server binaries off PATH, and
# /usr/sbin is often not on a user's PATH, so those entries are file paths instead.
declare -A NEEDED=([node]=nodejs [npm]=npm [chromium]=chromium [redis-server]=redis-server
  ["/usr/lib/postgresql/*/bin/postgres"]=postgresql [/usr/sbin/nginx]=nginx)

missing=()
for cmd in "${!NEEDED[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || compgen -G "$cmd" >/dev/null || missing+=("${NEEDED[$cmd]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "==> Installing system packages: ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo_cmd=(sudo)
  else
    echo "system-deps: need root to install ${missing[*]}; install them and rerun" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
