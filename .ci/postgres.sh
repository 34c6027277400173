#!/usr/bin/env bash
# Start a throw-away local PostgreSQL for the test suite and print its URL as the last line.
#
#   export EMERGENCY_TEST_DATABASE_URL="$(.ci/postgres.sh | tail -1)"
#
# Installs PostgreSQL from the Debian packages when missing (needs root), creates a cluster
# under $EMERGENCY_PGDATA (default /tmp/emergency-pg) listening on localhost:$EMERGENCY_PGPORT
# (default 55432), a user and a database. Idempotent: a second run reuses all of it.
set -euo pipefail

PGDATA="${EMERGENCY_PGDATA:-/tmp/emergency-pg}"
PGPORT="${EMERGENCY_PGPORT:-55432}"
DB_USER="${EMERGENCY_PGUSER:-emergency}"
DB_PASS="${EMERGENCY_PGPASSWORD:-emergency}"
DB_NAME="${EMERGENCY_PGDATABASE:-emergency_test}"

log() { echo "postgres.sh: $*" >&2; }

find_bin() {
    local dir
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
    if [[ -n "$dir" && -x "$dir/pg_ctl" ]]; then
        echo "$dir"
    elif command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v pg_ctl)"
    fi
}

BIN="$(find_bin)"
if [[ -z "$BIN" ]]; then
    if [[ "$(id -u)" != 0 ]]; then
        log "PostgreSQL is not installed and this is not root: apt-get install postgresql"
        exit 1
    fi
    log "installing PostgreSQL (apt-get) ..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
    BIN="$(find_bin)"
fi

# The server refuses to run as root: run it as the `postgres` system user then.
as_owner() {
    if [[ "$(id -u)" == 0 ]]; then
        id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql postgres
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

SOCKET_DIR="$PGDATA/socket"
if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
    log "creating a cluster in $PGDATA ..."
    mkdir -p "$PGDATA"
    [[ "$(id -u)" == 0 ]] && chown postgres: "$PGDATA"
    chmod 700 "$PGDATA"
    as_owner "$BIN/initdb" -D "$PGDATA" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
        --encoding=UTF8 --locale=C.UTF-8 >&2
    as_owner mkdir -p "$SOCKET_DIR"
fi

if ! as_owner "$BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
    log "starting PostgreSQL on localhost:$PGPORT ..."
    as_owner "$BIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w start \
        -o "-p $PGPORT -c listen_addresses=localhost -k $SOCKET_DIR -c fsync=off" >&2
fi

psql_admin() { as_owner "$BIN/psql" -h "$SOCKET_DIR" -p "$PGPORT" -U postgres -v ON_ERROR_STOP=1 -qAt "$@"; }

if [[ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$DB_USER'")" != 1 ]]; then
    psql_admin -c "CREATE ROLE \"$DB_USER\" LOGIN PASSWORD '$DB_PASS'"
fi
if [[ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" != 1 ]]; then
    psql_admin -c "CREATE DATABASE \"$DB_NAME\" OWNER \"$DB_USER\""
fi

echo "postgresql+psycopg://$DB_USER:$DB_PASS@localhost:$PGPORT/$DB_NAME"
