#!/usr/bin/env bash
# Bring up what the test suite needs on this machine, starting only what is not running:
# Debian packages, redis-server, dockerd, PostgreSQL, and the sandbox image.
# Idempotent; run as root (the CI machines are). Fails loudly when something cannot start.
# With ONLY=stores it brings up Redis and PostgreSQL (and installs bubblewrap) alone: what
# `make test-fast` needs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
PY="${PY:-$root/.venv/bin/python}"

ONLY="${ONLY:-all}"
need=()
[ "$ONLY" = stores ] || command -v dockerd >/dev/null || need+=(docker.io)
command -v redis-server >/dev/null || need+=(redis-server)
command -v bwrap >/dev/null || need+=(bubblewrap)
if [ "$ONLY" != stores ]; then
  command -v debootstrap >/dev/null || need+=(debootstrap)
  command -v docker-compose >/dev/null || need+=(docker-compose)
  [ -x /usr/bin/chromium ] || need+=(chromium)
fi
[ -x /usr/lib/postgresql/15/bin/postgres ] || ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need[*]}"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/tmp/shipyard-apt.log 2>&1 || {
    echo "apt-get install failed; see /tmp/shipyard-apt.log" >&2; exit 1; }
fi

wait_for() {  # wait_for <seconds> <description> <command…>
  local secs=$1 what=$2; shift 2
  for _ in $(seq 1 $((secs * 5))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "$what did not come up within ${secs}s" >&2; return 1
}

if [ "$ONLY" != stores ] && ! docker info >/dev/null 2>&1; then
  echo "starting dockerd"
  nohup dockerd >/var/log/shipyard-dockerd.log 2>&1 &
  wait_for 60 "dockerd (log: /var/log/shipyard-dockerd.log)" docker info
fi

if ! redis-cli -p 6379 ping >/dev/null 2>&1; then
  # Loopback only. Tests that need a host service on another address (the hostile sandbox
  # suite's probes on Docker's bridge) start their own listener.
  echo "starting redis-server on 127.0.0.1:6379"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no >/dev/null
  wait_for 15 redis-server redis-cli -p 6379 ping
fi

pgver=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
  echo "starting PostgreSQL $pgver"
  pg_lsclusters -h | grep -q "^$pgver main" || pg_createcluster "$pgver" main >/dev/null
  pg_ctlcluster "$pgver" main start
  wait_for 30 PostgreSQL pg_isready -h 127.0.0.1 -p 5432
fi
su postgres -c "psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname='shipyard'\"" | grep -q 1 ||
  su postgres -c "psql -qc \"CREATE ROLE shipyard LOGIN SUPERUSER PASSWORD 'shipyard'\""

[ "$ONLY" = stores ] || "$PY" -m sandboxes.images ensure
