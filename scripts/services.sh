#!/usr/bin/env bash
# Make sure the local PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) used by the tests are up, and that
# the tests can connect to PostgreSQL over TCP as the `postgres` role.
#
# A stock Debian PostgreSQL asks for a password on 127.0.0.1 (scram-sha-256) and the postgres role has none:
# this script then gives the role a random password (through the unix socket, as the postgres OS user) and
# keeps it in the project's .pgpass (mode 0600, git-ignored); when that file exists, tests/fixtures/services.py
# points libpq's PGPASSFILE at it, so the tests and every process they start (gunicorn, workers, CLI) find it.
# Nothing changes where the tests can already connect (trust auth, PGPASSWORD or a .pgpass of your own).
# Idempotent. PTCE_PG_PORT only serves to try this script on another cluster; the tests use 5432.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
port="${PTCE_PG_PORT:-5432}"
pgpass="$root/.pgpass"
if [ -f "$pgpass" ]; then export PGPASSFILE="$pgpass"; fi  # as tests/fixtures/services.py does
marker="password set by ptce_aap scripts/services.sh for the test suite"

if ! pg_isready -q -h 127.0.0.1 -p "$port" 2>/dev/null; then
  echo "Starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p "$port" && break; sleep 0.5; done
fi

pg_tcp_ok() {
  psql -X -w -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc "select 1" >/dev/null 2>&1
}

as_postgres() {  # run a command as the postgres OS user (peer authentication on the unix socket)
  if [ "$(id -un)" = "postgres" ]; then "$@"
  elif [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"
  else sudo -u postgres -- "$@"
  fi
}

if ! pg_tcp_ok; then
  # What does the role look like? (unix socket: works on a stock install whatever the TCP rules are)
  state="$(as_postgres psql -X -p "$port" -d postgres -tA \
    -c "select coalesce(rolpassword is not null, false)::text || '|' || coalesce(shobj_description(oid, 'pg_authid'), '')
        from pg_authid where rolname = 'postgres'")"
  if [ "${state%%|*}" = "true" ] && [ "${state#*|}" != "$marker" ]; then
    echo "PostgreSQL asks a password for postgres@127.0.0.1:$port and the role has one that this script did not" >&2
    echo "set: export PGPASSWORD, or write it in $pgpass as 127.0.0.1:$port:*:postgres:PASSWORD (mode 0600)." >&2
    exit 1
  fi
  echo "PostgreSQL asks a password on 127.0.0.1: setting one for the postgres role, kept in $pgpass"
  password="$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"  # hex: nothing to quote
  # Through stdin, so the password appears in no process list.
  as_postgres psql -X -q -p "$port" -d postgres -v ON_ERROR_STOP=1 >/dev/null <<SQL
ALTER ROLE postgres PASSWORD '$password';
COMMENT ON ROLE postgres IS '$marker';
SQL
  (umask 077; printf '127.0.0.1:%s:*:postgres:%s\nlocalhost:%s:*:postgres:%s\n' \
    "$port" "$password" "$port" "$password" > "$pgpass")
  export PGPASSFILE="$pgpass"
  if ! pg_tcp_ok; then
    echo "Still cannot connect as postgres@127.0.0.1:$port: check pg_hba.conf (host lines for 127.0.0.1)." >&2
    exit 1
  fi
fi

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "Starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.2; done
fi
pg_isready -h 127.0.0.1 -p "$port" >/dev/null && redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null
