#!/usr/bin/env bash
# The ledger on PostgreSQL (issue 16), release build: `accounts import` of ACCOUNTS rows, then
# `replay` of MESSAGES SMS against them with durable commits (fsync on, synchronous_commit on:
# PostgreSQL's defaults), and in the same run the floor: the very rows the replay wrote
# (`message`, `message_uin`, `submission`), dumped and written again by `psql` with `COPY` into a
# fresh database of the same schema (indexes, keys), in two durable transactions. Prints and
# appends to $RESULTS the figures and the ratio replay / floor, with the CPU time of metergate
# and of the PostgreSQL server (all its processes) for each step, and the load average: on this
# shared machine the wall-clock figures alone say little.
#
# Environment (defaults in brackets):
#   ACCOUNTS [1000000]  MESSAGES [1000000]  SEED [20261120]  BATCH [the replay default]
#   DATA [Benchmarks/.data]     inputs (Benchmarks/generate.py, made when missing) and the server
#   SCRATCH [.build-pg]         the release build's scratch path (built unless SKIP_BUILD=1)
#   PG_OPTIONS ["shared_buffers=1GB max_wal_size=8GB checkpoint_timeout=30min"]  server settings
#                               (none of them weakens durability)
#   RESULTS [Benchmarks/results.md]
set -euo pipefail

BENCH=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$BENCH")
ACCOUNTS=${ACCOUNTS:-1000000}
MESSAGES=${MESSAGES:-1000000}
SEED=${SEED:-20261120}
DATA=${DATA:-$BENCH/.data}
SCRATCH=${SCRATCH:-$REPO/.build-pg}
RESULTS=${RESULTS:-$BENCH/results.md}
export PG_OPTIONS=${PG_OPTIONS:-"shared_buffers=1GB max_wal_size=8GB checkpoint_timeout=30min"}

log() { printf '[pg-bench %s] %s\n' "$(date +%T)" "$*" >&2; }

if [[ -z "${SKIP_BUILD:-}" ]]; then
    log "building release (scratch $SCRATCH)"
    swift build -c release --product metergate --scratch-path "$SCRATCH" >"$DATA/build-pg.log" 2>&1
fi
METERGATE=$(swift build -c release --scratch-path "$SCRATCH" --show-bin-path)/metergate
COMMIT=$(git -C "$REPO" rev-parse --short HEAD)
INPUT=$DATA/a$ACCOUNTS-m$MESSAGES-s$SEED
if [[ ! -s $INPUT/sms.jsonl || ! -s $INPUT/accounts.csv ]]; then
    log "generating $INPUT"
    python3 "$BENCH/generate.py" --accounts "$ACCOUNTS" --messages "$MESSAGES" --seed "$SEED" --out "$INPUT"
fi

STATE=$DATA/pg-server
RUN=$DATA/pg-run
"$REPO/scripts/peers/postgres-down.sh" "$STATE" >/dev/null 2>&1 || true
rm -rf "$STATE" "$RUN"
mkdir -p "$RUN"
trap '"$REPO/scripts/peers/postgres-down.sh" "$STATE" >/dev/null 2>&1 || true' EXIT
PG_DATABASE=metergate PG_USER=metergate "$REPO/scripts/peers/postgres-up.sh" "$STATE" > "$RUN/server.env"
# shellcheck disable=SC1091
source "$RUN/server.env"
export PGPASSWORD
PGPASSWORD=$(cat "$PG_PASSWORD_FILE")
SOCKET_PSQL=(psql -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCKET_DIR" -p "$PG_PORT" -U postgres)
server_settings=$("${SOCKET_PSQL[@]}" -At -d postgres -c "SELECT string_agg(name || '=' || setting, ' ' ORDER BY name) FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'wal_sync_method', 'shared_buffers', 'max_wal_size', 'server_version')")
log "server: $server_settings"

config() {
    cat > "$RUN/$1.yaml" <<YAML
store:
  url: postgresql://$PG_USER@127.0.0.1:$PG_PORT/$2
  password_file: $PG_PASSWORD_FILE
log:
  level: warning
mailboxes: []
sms: []
YAML
}
config cfg metergate

server_cpu() {  # CPU seconds (user + sys) of the server: the postmaster, its live and its ended children
    python3 - "$PG_PID" <<'PY'
import os, sys
pid, hz = int(sys.argv[1]), os.sysconf('SC_CLK_TCK')
def stat(p):
    with open(f'/proc/{p}/stat') as f:
        text = f.read()
    return text[text.rindex(')') + 2:].split()
total = sum(int(x) for x in stat(pid)[11:15])
for p in filter(str.isdigit, os.listdir('/proc')):
    try:
        fields = stat(p)
    except OSError:
        continue
    if int(fields[1]) == pid:
        total += int(fields[11]) + int(fields[12])
print(f'{total / hz:.2f}')
PY
}
declare -A SERVER_CPU
measure() {  # NAME COMMAND…: /usr/bin/time -v into $RUN/NAME.time (the command's stdout in $RUN/NAME.out)
    local name=$1 before
    shift
    before=$(server_cpu)
    /usr/bin/time -v -o "$RUN/$name.time" "$@" > "$RUN/$name.out"
    SERVER_CPU[$name]=$(python3 -c "print(f'{$(server_cpu) - $before:.2f}')")
}
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
elapsed() {  # NAME: the wall-clock seconds of a measured step
    awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$RUN/$1.time"
}
field() { awk -F': ' -v key="$2" '$1 ~ key { print $2 }' "$RUN/$1.time" | head -1 | tr -d ' '; }

log "accounts import ($ACCOUNTS rows)"
measure import "$METERGATE" accounts import "$INPUT/accounts.csv" --config "$RUN/cfg.yaml" 2> "$RUN/import.err"
import_s=$(elapsed import)
log "import: $import_s s"

log "replay ($MESSAGES SMS)"
measure replay "$METERGATE" replay "$INPUT/sms.jsonl" --config "$RUN/cfg.yaml" ${BATCH:+--batch "$BATCH"}
replay_s=$(elapsed replay)
log "replay: $replay_s s"
outcomes=$(python3 -c '
import collections, json, sys
counts = collections.Counter()
for line in open(sys.argv[1], encoding="utf-8"):
    o = json.loads(line); counts[(o["status"], o.get("reason") or "")] += 1
print("; ".join(f"{s} {r} {n}".replace("  ", " ") for (s, r), n in counts.most_common()))
' "$RUN/replay.out")
rows=$("${SOCKET_PSQL[@]}" -At -d metergate -c "SELECT (SELECT COUNT(*) FROM message) || ' ' || (SELECT COUNT(*) FROM message_uin) || ' ' || (SELECT COUNT(*) FROM submission) || ' ' || (SELECT COUNT(*) FROM outbox)")
log "rows written by the replay (message message_uin submission outbox): $rows"

log "the floor: the same rows by psql COPY into a fresh database"
"${SOCKET_PSQL[@]}" -d metergate -c "\\copy message TO '$RUN/message.copy'" -c "\\copy message_uin TO '$RUN/message_uin.copy'" \
    -c "\\copy submission TO '$RUN/submission.copy'"
"${SOCKET_PSQL[@]}" -d postgres -c "CREATE DATABASE floor OWNER $PG_USER"
config floor floor
"$METERGATE" status --config "$RUN/floor.yaml" > /dev/null  # creates the schema (the migrations)
measure copy psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d floor \
    -c "BEGIN" -c "\\copy message FROM '$RUN/message.copy'" -c "COMMIT" \
    -c "BEGIN" -c "\\copy message_uin FROM '$RUN/message_uin.copy'" -c "\\copy submission FROM '$RUN/submission.copy'" -c "COMMIT"
copy_s=$(elapsed copy)
floor_rows=$("${SOCKET_PSQL[@]}" -At -d floor -c "SELECT (SELECT COUNT(*) FROM message) || ' ' || (SELECT COUNT(*) FROM message_uin) || ' ' || (SELECT COUNT(*) FROM submission)")
log "COPY: $copy_s s ($floor_rows)"

read -r rate floor ratio < <(python3 -c "
m = $MESSAGES; r = $replay_s; c = $copy_s
print(f'{m / r:.0f} {m / c:.0f} {c / r:.2f}')")
load=$(cut -d' ' -f1-3 /proc/loadavg)
summary=$(cat <<EOF

## PostgreSQL ledger: import and replay (\`Benchmarks/postgres.sh\`) — $(date -u +%Y-%m-%dT%H:%MZ), commit $COMMIT

Release build ($SCRATCH), $ACCOUNTS accounts and $MESSAGES SMS (seed $SEED), one PostgreSQL server
on 127.0.0.1 ($server_settings); machine: $(nproc) cores, shared with other work, load average
at the start $load_start, at the end $load.

| step | wall | rate | metergate user + sys | server CPU | max RSS |
|---|---|---|---|---|---|
| accounts import, $ACCOUNTS rows | ${import_s} s | $(python3 -c "print(f'{$ACCOUNTS / $import_s:.0f}')") rows/s | $(field import 'User time') + $(field import 'System time') s | ${SERVER_CPU[import]} s | $(( $(field import 'Maximum resident') / 1024 )) MiB |
| replay, $MESSAGES SMS, durable group commits | ${replay_s} s | **$rate msg/s** | $(field replay 'User time') + $(field replay 'System time') s | ${SERVER_CPU[replay]} s | $(( $(field replay 'Maximum resident') / 1024 )) MiB |
| floor: the replay's rows ($rows message/message_uin/submission/outbox) by \`psql\` \`COPY\` | ${copy_s} s | $floor msg/s | (psql) | ${SERVER_CPU[copy]} s | |

Ratio replay / floor (time of COPY over time of replay): **$ratio**.
Outcomes: $outcomes.
EOF
)
printf '%s\n' "$summary"
printf '%s\n' "$summary" >> "$RESULTS"
