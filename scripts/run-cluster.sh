#!/usr/bin/env bash
# A local cluster: redis-server, a shared database and two nodes, in the foreground.
# Ctrl-C (or SIGTERM, SIGHUP) stops the nodes first, so they can store their runs, then the rest.
#
#   WS_CLUSTER_REDIS_PORT     redis-server port (default 6390)
#   WS_CLUSTER_PORTS          node ports (default "8080 8081")
#   WS_CLUSTER_POSTGRES=1     history in a throwaway PostgreSQL instead of SQLite
#   WS_CLUSTER_POSTGRES_PORT  its port (default 5440)
#   WS_JWT_SECRET             shared secret (default: made once into data/cluster/secret)
#   WS_DATABASE_URL           shared database (default: sqlite:///./data/cluster/netra.db)
# Any other WS_* setting is passed to every node.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

PY=${PY:-.venv/bin/python}
DIR=data/cluster
REDIS_PORT=${WS_CLUSTER_REDIS_PORT:-6390}
read -r -a NODE_PORTS <<<"${WS_CLUSTER_PORTS:-8080 8081}"
postgres_port=${WS_CLUSTER_POSTGRES_PORT:-5440}
START_TIMEOUT_S=30

redis_pid=""
pg_pid=""
pg_root=""
node_pids=()
node_names=()

say() { printf '==> %s\n' "$*"; }
die() {
  printf 'run-cluster: %s\n' "$*" >&2
  exit 1
}

# Prefixes each line of a child's output; ignores Ctrl-C so the last lines still get out.
prefix() {
  trap '' INT TERM
  exec sed -u "s/^/$1 /"
}

port_busy() { (: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The status code of GET path on a local port, or nothing.
# shellcheck disable=SC2317 # called through wait_until
http_status() {
  local status=""
  {
    printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1:%s\r\n\r\n' "$2" "$1" >&3
    IFS=' ' read -r -t 2 _ status _ <&3
  } 2>/dev/null 3<>"/dev/tcp/127.0.0.1/$1" || true
  printf '%s' "$status"
}

# shellcheck disable=SC2317 # called through wait_until
redis_answers() {
  local reply=""
  {
    printf 'PING\r\n' >&3
    IFS= read -r -t 2 reply <&3
  } 2>/dev/null 3<>"/dev/tcp/127.0.0.1/$1" || true
  [[ $reply == +PONG* ]]
}

alive() { kill -0 "$1" 2>/dev/null; }

# Waits until `check` succeeds, failing if process `pid` ends or time runs out.
wait_until() {
  local what=$1 pid=$2 deadline=$((SECONDS + START_TIMEOUT_S))
  shift 2
  until "$@"; do
    alive "$pid" || die "$what exited during start-up (its output is above)"
    ((SECONDS < deadline)) || die "$what not ready after ${START_TIMEOUT_S}s"
    sleep 0.2
  done
}

# shellcheck disable=SC2317 # called from cleanup, a trap
stop() {
  local signal=$1 pid=$2
  [ -n "$pid" ] || return 0
  kill "-$signal" "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# shellcheck disable=SC2317 # a trap
cleanup() {
  local status=$?
  # A second Ctrl-C must not leave children behind: stopping is bounded by the nodes'
  # WS_SHUTDOWN_GRACE_S (10 s) and a moment more.
  trap - EXIT
  trap '' INT TERM HUP
  if [ ${#node_pids[@]} -eq 0 ] && [ -z "$redis_pid$pg_pid$pg_root" ]; then
    exit "$status"
  fi
  if [ ${#node_pids[@]} -gt 0 ]; then
    say "stopping (answers still being written get up to ${WS_SHUTDOWN_GRACE_S:-10}s to finish)"
  else
    say "stopping"
  fi
  # Nodes first: they store their runs as stopped and tell their clients while Redis and
  # the database are still there.
  for pid in "${node_pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${node_pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  stop TERM "$redis_pid"
  # SIGINT is PostgreSQL's fast shutdown.
  stop INT "$pg_pid"
  if [ -n "$pg_root" ]; then
    rm -rf "$pg_root"
  fi
  wait # any job still running
  say "stopped"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

[ -x "$PY" ] || die "$PY not found: run \`make setup\` first"
command -v redis-server >/dev/null || die "redis-server not found: run \`make system-deps\`"
command -v setsid >/dev/null || die "setsid not found (Debian package util-linux)"
for port in "$REDIS_PORT" "${NODE_PORTS[@]}"; do
  if port_busy "$port"; then
    die "port $port is in use (set WS_CLUSTER_REDIS_PORT / WS_CLUSTER_PORTS to others)"
  fi
done
mkdir -p "$DIR"

# Every child runs in a session of its own: a Ctrl-C in the terminal reaches this script
# alone, which then stops them in order, each with a single signal.

say "redis on 127.0.0.1:$REDIS_PORT (no persistence, dir $DIR)"
setsid redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
  --dir "$DIR" --loglevel warning > >(prefix "[redis]") 2>&1 &
redis_pid=$!
wait_until redis-server "$redis_pid" redis_answers "$REDIS_PORT"

if [ -n "${WS_JWT_SECRET:-}" ]; then
  secret=$WS_JWT_SECRET
else
  if [ ! -s "$DIR/secret" ]; then
    (umask 077 && "$PY" -c 'import secrets; print(secrets.token_urlsafe(48))' >"$DIR/secret")
  fi
  secret=$(<"$DIR/secret")
fi

# Debian keeps the server binaries off PATH, one directory per major version: the newest.
pg_bindir() {
  local dir
  while IFS= read -r dir; do
    if [ -x "$dir/initdb" ] && [ -x "$dir/postgres" ] && [ -x "$dir/pg_isready" ] \
      && [ -x "$dir/createdb" ]; then
      printf '%s' "$dir"
      return 0
    fi
  done < <(compgen -G "/usr/lib/postgresql/*/bin" | sort -t/ -k5 -rn
    dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)")
  return 1
}

# Runs a PostgreSQL program without the caller's PG* variables, which would redirect it.
pg_clean() { (unset "${!PG@}" && exec "$@"); }

# A throwaway PostgreSQL in a temporary directory, removed at exit. PostgreSQL refuses to
# run as root, so as root it runs as the postgres user (or nobody).
start_postgres() {
  local bindir run_as=() owner
  bindir=$(pg_bindir) || die "PostgreSQL server binaries not found: run \`make system-deps\`"
  port_busy "$postgres_port" && die "port $postgres_port is in use (set WS_CLUSTER_POSTGRES_PORT)"
  pg_root=$(mktemp -d /tmp/netra-cluster-pg.XXXXXX)
  if [ "$(id -u)" -eq 0 ]; then
    owner=postgres
    id -u "$owner" >/dev/null 2>&1 || owner=nobody
    chown "$owner:$(id -gn "$owner")" "$pg_root"
    run_as=(setpriv --reuid="$(id -u "$owner")" --regid="$(id -g "$owner")" --clear-groups)
  fi
  say "postgres on 127.0.0.1:$postgres_port (throwaway, in $pg_root)"
  if ! (cd "$pg_root" && pg_clean "${run_as[@]}" "$bindir/initdb" -D "$pg_root/data" \
    -U postgres -A trust -E UTF8 --no-locale --no-sync) >"$pg_root/initdb.log" 2>&1; then
    cat "$pg_root/initdb.log" >&2
    die "initdb failed"
  fi
  (
    unset "${!PG@}"
    cd "$pg_root"
    exec setsid "${run_as[@]}" "$bindir/postgres" -D "$pg_root/data" -p "$postgres_port" \
      -k "$pg_root" -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
      -c full_page_writes=off -c shared_buffers=32MB
  ) > >(prefix "[postgres]") 2>&1 &
  pg_pid=$!
  wait_until postgres "$pg_pid" \
    pg_clean "$bindir/pg_isready" -q -h 127.0.0.1 -p "$postgres_port" -U postgres
  pg_clean "$bindir/createdb" -h 127.0.0.1 -p "$postgres_port" -U postgres netra
  database_url="postgresql://postgres@127.0.0.1:$postgres_port/netra"
}

if [ "${WS_CLUSTER_POSTGRES:-0}" = 1 ]; then
  start_postgres
else
  database_url=${WS_DATABASE_URL:-sqlite:///./$DIR/netra.db}
fi
say "database $database_url"

n=0
for port in "${NODE_PORTS[@]}"; do
  n=$((n + 1))
  say "node $n on http://127.0.0.1:$port"
  WS_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" WS_JWT_SECRET="$secret" \
    WS_DATABASE_URL="$database_url" WS_PORT="$port" \
    setsid "$PY" -m server serve > >(prefix "[node$n]") 2>&1 &
  node_pids+=($!)
  node_names+=("node $n")
done

# shellcheck disable=SC2317 # called through wait_until
ready() { [ "$(http_status "$1" /readyz)" = 200 ]; }
for i in "${!NODE_PORTS[@]}"; do
  wait_until "${node_names[$i]}" "${node_pids[$i]}" ready "${NODE_PORTS[$i]}"
done
say "cluster ready: $(printf 'http://127.0.0.1:%s ' "${NODE_PORTS[@]}")(Ctrl-C stops everything)"

# Whichever child ends first (or a signal) ends the cluster.
set +e
wait -n "${node_pids[@]}" "$redis_pid" ${pg_pid:+"$pg_pid"}
status=$?
set -e
for i in "${!node_pids[@]}"; do
  alive "${node_pids[$i]}" || say "${node_names[$i]} exited (status $status)"
done
alive "$redis_pid" || say "redis-server exited"
[ -z "$pg_pid" ] || alive "$pg_pid" || say "postgres exited"
exit 1
