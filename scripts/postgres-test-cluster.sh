#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the control plane's Postgres test suite.
#
#   scripts/postgres-test-cluster.sh start   # init + start; last line: FOUNDEROS_TEST_DATABASE_URL=postgres://...
#   scripts/postgres-test-cluster.sh stop    # stop it and delete its files
#
# Needs the Debian/Ubuntu postgresql package (binaries under /usr/lib/postgresql/<version>/bin). PostgreSQL
# refuses to run as root, so as root the cluster is owned by and run as the `postgres` user. It listens on
# 127.0.0.1 only, with trust auth (no password): for tests, never for data you care about.
#
#   eval "$(scripts/postgres-test-cluster.sh start | tail -n 1 | sed 's/^/export /')"
#   npx vitest run test/control-plane
#   scripts/postgres-test-cluster.sh stop
#
# Env: FOUNDEROS_PG_PORT (first port to try, default 55432), FOUNDEROS_PG_STATE (state file,
# default ${TMPDIR:-/tmp}/founderos-pg-test-cluster.state).
set -euo pipefail

STATE_FILE="${FOUNDEROS_PG_STATE:-${TMPDIR:-/tmp}/founderos-pg-test-cluster.state}"
FIRST_PORT="${FOUNDEROS_PG_PORT:-55432}"
DB_NAME="founderos_test"
DB_USER="postgres"

die() { echo "postgres-test-cluster: $*" >&2; exit 1; }

pg_bin() {
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  [[ -n "$dir" && -x "$dir/initdb" ]] || die "no PostgreSQL binaries under /usr/lib/postgresql/*/bin; install them (apt-get install postgresql)."
  echo "$dir"
}

# Runs a command as the cluster's owner: `postgres` when we are root, else ourselves.
as_owner() {
  if [[ "$(id -u)" == 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
  local port
  for ((port = FIRST_PORT; port < FIRST_PORT + 100; port++)); do
    if ! port_in_use "$port"; then echo "$port"; return; fi
  done
  die "no free port in ${FIRST_PORT}..$((FIRST_PORT + 99)); set FOUNDEROS_PG_PORT to another range."
}

url_for() { echo "postgres://${DB_USER}@127.0.0.1:$1/${DB_NAME}"; }

start() {
  local bin dir port
  bin="$(pg_bin)"
  if [[ -f "$STATE_FILE" ]]; then
    # shellcheck disable=SC1090
    source "$STATE_FILE"
    if as_owner "$bin/pg_ctl" -D "$CLUSTER_DIR/data" status >/dev/null 2>&1; then
      echo "already running (stop it with: $0 stop)"
      echo "FOUNDEROS_TEST_DATABASE_URL=$(url_for "$CLUSTER_PORT")"
      return
    fi
    rm -rf "$CLUSTER_DIR" "$STATE_FILE"
  fi

  dir="$(mktemp -d "${TMPDIR:-/tmp}/founderos-pg-test.XXXXXX")"
  port="$(free_port)"
  if [[ "$(id -u)" == 0 ]]; then
    id postgres >/dev/null 2>&1 || die "there is no 'postgres' user to run the cluster as (PostgreSQL will not run as root)."
    chown postgres: "$dir"
  fi
  printf 'CLUSTER_DIR=%q\nCLUSTER_PORT=%q\n' "$dir" "$port" >"$STATE_FILE"

  as_owner "$bin/initdb" -D "$dir/data" -U "$DB_USER" --auth=trust --encoding=UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; die "initdb failed (log above)."; }
  # Tests churn databases and care nothing for durability: skip fsync for speed.
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null \
    || { cat "$dir/server.log" >&2; die "the server did not start (log above)."; }
  as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U "$DB_USER" "$DB_NAME"

  echo "started PostgreSQL $("$bin/postgres" --version | awk '{print $3}') in $dir on 127.0.0.1:$port (stop it with: $0 stop)"
  echo "FOUNDEROS_TEST_DATABASE_URL=$(url_for "$port")"
}

stop() {
  [[ -f "$STATE_FILE" ]] || { echo "not running (no $STATE_FILE)"; return; }
  # shellcheck disable=SC1090
  source "$STATE_FILE"
  as_owner "$(pg_bin)/pg_ctl" -D "$CLUSTER_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$CLUSTER_DIR" "$STATE_FILE"
  echo "stopped and removed $CLUSTER_DIR"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
