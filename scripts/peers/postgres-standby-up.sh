#!/usr/bin/env bash
# Starts a streaming standby of the server postgres-up.sh runs in PRIMARY_STATE: a copy of its
# cluster (pg_basebackup over the primary's unix socket, as the `postgres` user, with
# standby.signal and primary_conninfo written by -R), listening on 127.0.0.1 at a free port, its
# socket in STATE. Prints its settings as KEY=VALUE lines (also in STATE/postgres.env), with
# PG_URL naming the standby; PG_PAIR_URL names both servers, the primary first, with
# target_session_attrs=read-write. postgres-down.sh STATE stops it; postgres-promote.sh STATE
# makes it the primary.
#
# Once the standby streams, the primary is made to wait for it at every commit
# (synchronous_standby_names = '*', ALTER SYSTEM): a commit acknowledged on the primary is on
# the standby too, so promoting the standby loses nothing acknowledged.
# usage: scripts/peers/postgres-standby-up.sh PRIMARY_STATE STATE
set -euo pipefail
primary=${1:?usage: postgres-standby-up.sh PRIMARY_STATE STATE}
state=${2:?usage: postgres-standby-up.sh PRIMARY_STATE STATE}
primary=$(cd "$primary" && pwd)
# shellcheck disable=SC1091
source <(grep '^PG_' "$primary/postgres.env")
primary_port=$PG_PORT
primary_socket=$PG_SOCKET_DIR
mkdir -p "$state"
state=$(cd "$state" && pwd)
bindir=$PG_BIN

as_owner() {
    if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

home=$state
if [[ $(id -u) -eq 0 ]]; then
    chmod 755 "$state"
    if ! runuser -u postgres -- test -x "$state"; then
        home=$(mktemp -d /tmp/metergate-postgres-XXXXXX)
        echo "$home" > "$state/home"
    fi
    chmod 755 "$home"
    chown postgres "$home"
fi
# Outside the kernel's ephemeral range: no outgoing connection takes the port before the server binds it (free-ports.py).
port=$(/usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/free-ports.py" 1)
echo "$port" > "$state/port"
cp "$primary/password" "$state/password"
rm -rf "$home/data"
as_owner "$bindir/pg_basebackup" -D "$home/data" -h "$primary_socket" -p "$primary_port" -U postgres -R -X stream \
    -c fast >"$state/basebackup.log" 2>&1 || { echo "postgres-standby-up.sh: pg_basebackup failed; see $state/basebackup.log" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] && { touch "$home/postgres.log"; chown postgres "$home/postgres.log"; }
rm -f "$state/postgres.pid"
for fd in $(ls /proc/$$/fd); do
    [[ $fd -gt 2 ]] && eval "exec $fd>&-" 2>/dev/null || true
done
as_owner setsid "$bindir/postgres" -D "$home/data" -c listen_addresses=127.0.0.1 -c port="$port" \
    -c unix_socket_directories="$home" -c timezone=UTC -c log_timezone=UTC -c max_connections=60 -c shared_buffers=32MB \
    -c hot_standby=on </dev/null >>"$home/postgres.log" 2>&1 &
for _ in $(seq 1 200); do
    pid=$(head -1 "$home/data/postmaster.pid" 2>/dev/null || true)
    if [[ -n $pid ]] && "$bindir/pg_isready" -q -h "$home" -p "$port" -U postgres; then
        echo "$pid" > "$state/postgres.pid"
        break
    fi
    sleep 0.05
done
[[ -s $state/postgres.pid ]] || { echo "postgres-standby-up.sh: the standby did not start; see $home/postgres.log" >&2; tail -5 "$home/postgres.log" >&2; exit 1; }
psql -X -q -h "$primary_socket" -p "$primary_port" -U postgres -d postgres \
    -c "ALTER SYSTEM SET synchronous_standby_names = '*'" -c "SELECT pg_reload_conf()" >/dev/null
cat <<SETTINGS | tee "$state/postgres.env"
PG_STATE=$state
PG_HOST=127.0.0.1
PG_PORT=$port
PG_SOCKET_DIR=$home
PG_DATABASE=$PG_DATABASE
PG_USER=$PG_USER
PG_PASSWORD_FILE=$state/password
PG_URL=postgresql://$PG_USER@127.0.0.1:$port/$PG_DATABASE
PG_PAIR_URL=postgresql://$PG_USER@127.0.0.1:$primary_port,127.0.0.1:$port/$PG_DATABASE?target_session_attrs=read-write
PG_BIN=$bindir
PG_PID=$(cat "$state/postgres.pid")
SETTINGS
