#!/bin/sh
# Start Debian's PostgreSQL on $PGDATA as the postgres user; on first start create the cluster with
# POSTGRES_USER as its superuser (password from POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE) and
# the database POSTGRES_DB, reachable from other containers with that password (scram-sha-256).
set -eu
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
user="${POSTGRES_USER:-postgres}"
db="${POSTGRES_DB:-$user}"
if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
  password=$(cat "$POSTGRES_PASSWORD_FILE")
else
  password="${POSTGRES_PASSWORD:-}"
fi
mkdir -p "$PGDATA" /run/postgresql
chown postgres:postgres "$PGDATA" /run/postgresql
chmod 700 "$PGDATA"
as_postgres() { runuser -u postgres -- "$@"; }
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "$password" ]; then
    echo "postgres: set POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE (the first start creates the cluster)" >&2
    exit 1
  fi
  pwfile=$(mktemp)
  printf '%s\n' "$password" >"$pwfile"
  chown postgres "$pwfile"
  as_postgres "$bin/initdb" -D "$PGDATA" -U "$user" --pwfile="$pwfile" -E UTF8 --locale=C.UTF-8 \
    --auth-local=peer --auth-host=scram-sha-256 >/dev/null
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
  if [ "$db" != postgres ]; then
    # Single-user mode: no server, no socket; the session is the cluster's superuser.
    printf 'CREATE DATABASE "%s" OWNER "%s";\n' "$db" "$user" | as_postgres "$bin/postgres" --single -D "$PGDATA" postgres >/dev/null
  fi
  echo "postgres: created the cluster in $PGDATA (superuser $user, database $db)"
fi
exec setpriv --reuid=postgres --regid=postgres --init-groups "$bin/postgres" -D "$PGDATA"
