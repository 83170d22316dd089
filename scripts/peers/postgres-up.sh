#!/usr/bin/env bash
# Starts a PostgreSQL server of its own under STATE: a new cluster (initdb) owned by the
# `postgres` system user when we are root (initdb and postgres refuse to run as root),
# listening only on 127.0.0.1 at a free port, its unix socket in STATE; a database
# PG_DATABASE owned by the role PG_USER, which logs in over TCP with a password
# (scram-sha-256; the password is also in STATE/password). Prints the settings as KEY=VALUE
# lines (also saved in STATE/postgres.env). Running it again while the server runs only
# prints the settings.
#
# usage: scripts/peers/postgres-up.sh STATE
#   PG_DATABASE   the database to create (default smsd)
#   PG_USER       its owner, the role clients log in as (default smsd)
#   PG_FSYNC=off  a server that does not fsync (faster, loses data on a machine crash; default on)
#   PG_OPTIONS    more server settings, space-separated NAME=VALUE (e.g. synchronous_standby_names=*)
#
# STATE/data          the cluster, STATE/postgres.log the server's log, its socket in STATE —
#                     or, when the `postgres` user cannot enter STATE (a parent folder closed to
#                     it), all three in a folder of its own /tmp/metergate-postgres-*, named in
#                     STATE/home and removed by postgres-down.sh
# STATE/postgres.pid  the postmaster's pid (postgres-down.sh stops it, nothing else)
set -euo pipefail
state=${1:?usage: postgres-up.sh STATE}
mkdir -p "$state"
state=$(cd "$state" && pwd)
home=$state
[[ -s $state/home ]] && home=$(cat "$state/home")
database=${PG_DATABASE:-smsd}
user=${PG_USER:-smsd}

bindir=""
for candidate in /usr/lib/postgresql/*/bin; do
    [[ -x $candidate/initdb && -x $candidate/postgres ]] && bindir=$candidate
done
[[ -n $bindir ]] || { echo "postgres-up.sh: PostgreSQL server is not installed (scripts/peers/postgres.packages)" >&2; exit 127; }
command -v psql >/dev/null || { echo "postgres-up.sh: psql is not installed (scripts/peers/postgres.packages)" >&2; exit 127; }

# As the cluster's owner: `postgres` when we are root.
as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

settings() {
    local port pid
    port=$(cat "$state/port")
    pid=$(cat "$state/postgres.pid" 2>/dev/null || echo 0)
    cat <<SETTINGS
PG_STATE=$state
PG_HOST=127.0.0.1
PG_PORT=$port
PG_SOCKET_DIR=$home
PG_DATABASE=$database
PG_USER=$user
PG_PASSWORD_FILE=$state/password
PG_URL=postgresql://$user@127.0.0.1:$port/$database
PG_BIN=$bindir
PG_PID=$pid
SETTINGS
}

running() {
    local pid
    pid=$(cat "$state/postgres.pid" 2>/dev/null) || return 1
    [[ -n $pid && -r /proc/$pid/cmdline ]] || return 1
    [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) != Z ]] || return 1
    tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q -- "-D $home/data"
}

if running; then
    settings | tee "$state/postgres.env"
    exit 0
fi

# A free loopback port: the one of the last start when it is still free (clients keep their
# URL across a restart), otherwise one outside the ephemeral range (free-ports.py).
port=$(/usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/free-ports.py" 1 --reuse-address --prefer "$(cat "$state/port" 2>/dev/null || echo 0)")
echo "$port" > "$state/port"

if [[ ! -s $home/data/PG_VERSION ]]; then
    [[ -s $state/password ]] || /usr/bin/python3 -c 'import secrets; print(secrets.token_hex(12))' > "$state/password"
    if [[ $(id -u) -eq 0 ]]; then
        # The owner must reach the cluster's folder and own it.
        chmod 755 "$state"
        home=$state
        if ! runuser -u postgres -- test -x "$state"; then
            home=$(mktemp -d /tmp/metergate-postgres-XXXXXX)
            chmod 755 "$home"
            echo "$home" > "$state/home"
        fi
    fi
    rm -rf "$home/data"
    mkdir -p "$home/data"
    [[ $(id -u) -eq 0 ]] && chown postgres "$home/data"
    as_owner "$bindir/initdb" -D "$home/data" -U postgres -E UTF8 --locale=C.UTF-8 --auth-local=trust --auth-host=scram-sha-256 \
        >"$state/initdb.log" 2>&1 || { echo "postgres-up.sh: initdb failed; see $state/initdb.log" >&2; tail -5 "$state/initdb.log" >&2; exit 1; }
    cat > "$home/data/pg_hba.conf" <<HBA
local all postgres trust
local replication postgres trust
local all all scram-sha-256
host all all 127.0.0.1/32 scram-sha-256
HBA
    fresh=1
fi
if [[ $(id -u) -eq 0 ]]; then
    touch "$home/postgres.log"
    chown postgres "$home/postgres.log"
    chown postgres "$home"
fi

rm -f "$state/postgres.pid"
# The server must not keep any descriptor of our caller open (a test runner's pipe would
# never see its end): close everything above stderr first.
for fd in $(ls /proc/$$/fd); do
    [[ $fd -gt 2 ]] && eval "exec $fd>&-" 2>/dev/null || true
done
as_owner setsid "$bindir/postgres" -D "$home/data" -c listen_addresses=127.0.0.1 -c port="$port" \
    -c unix_socket_directories="$home" -c timezone=UTC -c log_timezone=UTC -c fsync="${PG_FSYNC:-on}" \
    -c max_connections=60 -c shared_buffers=32MB $(for option in ${PG_OPTIONS:-}; do printf -- '-c %s ' "$option"; done) \
    </dev/null >>"$home/postgres.log" 2>&1 &
for _ in $(seq 1 200); do
    pid=$(head -1 "$home/data/postmaster.pid" 2>/dev/null || true)
    if [[ -n $pid ]] && "$bindir/pg_isready" -q -h "$home" -p "$port" -U postgres; then
        echo "$pid" > "$state/postgres.pid"
        break
    fi
    sleep 0.05
done
running || { echo "postgres-up.sh: the server did not start; see $home/postgres.log:" >&2; tail -5 "$home/postgres.log" >&2; exit 1; }

if [[ ${fresh:-0} == 1 ]]; then
    password=$(cat "$state/password")
    psql -X -q -v ON_ERROR_STOP=1 -h "$home" -p "$port" -U postgres -d postgres \
        -v user="$user" -v password="$password" -v database="$database" >/dev/null <<'SQL'
CREATE ROLE :"user" LOGIN PASSWORD :'password';
CREATE DATABASE :"database" OWNER :"user" ENCODING 'UTF8';
SQL
fi
settings | tee "$state/postgres.env"
