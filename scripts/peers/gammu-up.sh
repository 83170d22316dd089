#!/usr/bin/env bash
# Starts gammu-smsd with Gammu's dummy phone driver (a folder, no modem) and an SQLite
# database, everything under STATE; prints its settings as KEY=VALUE lines (also saved in
# STATE/gammu.env). Running it again while the daemon runs only prints the settings.
#
# usage: scripts/peers/gammu-up.sh STATE
#   GAMMU_POLL_S       seconds between SMSD's loops and inbox reads (default 1)
#   GAMMU_SCHEMA       the SQLite schema file (default: gammu-smsd's examples/sqlite.sql)
#   GAMMU_PHONE_ID     SMSD's PhoneID (default harness)
#   GAMMU_WAL=1        put the new database in WAL mode (SMSD ingests ~10x faster; default:
#                      the rollback journal SMSD's schema comes with)
#   GAMMU_DRIVER       sqlite3 (default) or pgsql: SMSD's `native_pgsql` driver against a
#                      PostgreSQL server of its own started by postgres-up.sh in STATE/postgres
#                      (schema: examples/pgsql.sql; GAMMU_DATABASE is then its URL, without the
#                      password, which is in GAMMU_PASSWORD_FILE)
# GAMMU_POLL_S=0 makes SMSD loop without pausing: it then "sends" one outbox row per loop,
# ~12/s with the dummy phone (1/s at the default), at the price of a busy CPU core.
#
# STATE/smsd.db        SMSD's database (inbox, outbox, sentitems)
# STATE/phone/sms/1/N  where gammu-inject.sh puts SMS "received" by the dummy phone
# STATE/smsd.log       SMSD's log; STATE/smsd.pid its pid
# gammu-smsd runs with TZ=UTC: its outbox query compares with datetime('now','localtime').
set -euo pipefail
state=${1:?usage: gammu-up.sh STATE}
mkdir -p "$state"
state=$(cd "$state" && pwd)
poll=${GAMMU_POLL_S:-1}
phone_id=${GAMMU_PHONE_ID:-harness}
driver=${GAMMU_DRIVER:-sqlite3}
[[ $driver == sqlite3 || $driver == pgsql ]] || { echo "gammu-up.sh: GAMMU_DRIVER must be sqlite3 or pgsql" >&2; exit 2; }
if [[ $driver == pgsql ]]; then
    schema=${GAMMU_SCHEMA:-/usr/share/doc/gammu-smsd/examples/pgsql.sql}
else
    schema=${GAMMU_SCHEMA:-/usr/share/doc/gammu-smsd/examples/sqlite.sql}
fi
here=$(cd "$(dirname "$0")" && pwd)

command -v gammu-smsd >/dev/null || { echo "gammu-up.sh: gammu-smsd is not installed (scripts/peers/gammu.packages)" >&2; exit 127; }
[[ $driver == pgsql ]] || [[ -e /usr/lib/x86_64-linux-gnu/dbd/libdbdsqlite3.so || -n $(find /usr/lib -name 'libdbdsqlite3.so' -print -quit 2>/dev/null) ]] \
    || { echo "gammu-up.sh: libdbd-sqlite3 is not installed (scripts/peers/gammu.packages)" >&2; exit 127; }

# The PostgreSQL server (pgsql): started, or only its settings when it runs.
if [[ $driver == pgsql ]]; then
    pg_settings=$("$here/postgres-up.sh" "$state/postgres") || exit 1
    eval "$(grep -E '^PG_[A-Z_]+=' <<<"$pg_settings" | sed 's/^/export /')"
    export PGPASSWORD
    PGPASSWORD=$(cat "$PG_PASSWORD_FILE")
fi
pg() {
    psql -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d "$PG_DATABASE" "$@"
}

settings() {
    if [[ $driver == pgsql ]]; then
        cat <<SETTINGS
GAMMU_DRIVER=pgsql
GAMMU_DATABASE=$PG_URL
GAMMU_PASSWORD_FILE=$PG_PASSWORD_FILE
GAMMU_PG_PORT=$PG_PORT
GAMMU_PG_USER=$PG_USER
GAMMU_PG_DATABASE=$PG_DATABASE
GAMMU_PG_STATE=$PG_STATE
SETTINGS
    else
        echo "GAMMU_DATABASE=$state/smsd.db"
    fi
    cat <<SETTINGS
GAMMU_STATE=$state
GAMMU_PHONE_DIR=$state/phone
GAMMU_PHONE_ID=$phone_id
GAMMU_PID=$(cat "$state/smsd.pid" 2>/dev/null || echo 0)
SETTINGS
}

running() {
    local pid
    pid=$(cat "$state/smsd.pid" 2>/dev/null) || return 1
    [[ -n $pid && -r /proc/$pid/cmdline ]] || return 1
    [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) != Z ]] || return 1
    tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q -- "gammu-smsd -c $state/smsdrc"
}

if running; then
    settings | tee "$state/gammu.env"
    exit 0
fi

if [[ $driver == pgsql ]]; then
    if [[ $(pg -c "SELECT to_regclass('inbox') IS NOT NULL") != t ]]; then
        [[ -r $schema ]] || { echo "gammu-up.sh: schema $schema not found (set GAMMU_SCHEMA)" >&2; exit 1; }
        # PostgreSQL >= 9 has plpgsql already: the schema's CREATE LANGUAGE would fail.
        grep -v '^CREATE LANGUAGE plpgsql;' "$schema" | pg >/dev/null
    fi
elif [[ ! -s $state/smsd.db ]]; then
    [[ -r $schema ]] || { echo "gammu-up.sh: schema $schema not found (set GAMMU_SCHEMA)" >&2; exit 1; }
    sqlite3 "$state/smsd.db" < "$schema"
    [[ ${GAMMU_WAL:-0} == 1 ]] && sqlite3 "$state/smsd.db" "PRAGMA journal_mode = WAL" >/dev/null
fi
mkdir -p "$state/phone/sms/1" "$state/phone/sms/2" "$state/phone/sms/3" "$state/phone/sms/4" "$state/phone/sms/5"
cat > "$state/smsdrc" <<CONF
[gammu]
model = dummy
connection = none
device = $state/phone/

[smsd]
service = sql
$(if [[ $driver == pgsql ]]; then
    printf 'driver = native_pgsql\nhost = 127.0.0.1:%s\nuser = %s\npassword = %s\ndatabase = %s\n' \
        "$PG_PORT" "$PG_USER" "$PGPASSWORD" "$PG_DATABASE"
else
    printf 'driver = sqlite3\ndatabase = smsd.db\ndbdir = %s/\n' "$state"
fi)
logfile = $state/smsd.log
debuglevel = 0
phoneid = $phone_id
checksecurity = 0
checkbattery = 0
checksignal = 0
commtimeout = 0
loopsleep = $poll
receivefrequency = $poll
statusfrequency = 0
CONF
rm -f "$state/smsd.pid"
# The daemon must not keep any descriptor of our caller open (a test runner's pipe would
# never see its end): close everything above stderr first.
for fd in $(ls /proc/$$/fd); do
    [[ $fd -gt 2 ]] && eval "exec $fd>&-" 2>/dev/null || true
done
TZ=UTC setsid gammu-smsd -c "$state/smsdrc" --pid "$state/smsd.pid" </dev/null >"$state/smsd.out" 2>&1 &
# Ready when SMSD has registered its phone.
for _ in $(seq 1 100); do
    if [[ -s $state/smsd.pid ]] && running \
        && [[ $(if [[ $driver == pgsql ]]; then pg -c "SELECT COUNT(*) FROM phones WHERE \"ID\" = '$phone_id'"; \
                else sqlite3 "$state/smsd.db" "SELECT COUNT(*) FROM phones WHERE ID = '$phone_id'"; fi 2>/dev/null) == 1 ]]; then
        settings | tee "$state/gammu.env"
        exit 0
    fi
    sleep 0.05
done
echo "gammu-up.sh: gammu-smsd did not start; see $state/smsd.log and $state/smsd.out:" >&2
tail -5 "$state/smsd.out" "$state/smsd.log" >&2 2>/dev/null || true
exit 1
