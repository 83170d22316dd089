#!/usr/bin/env bash
# Gammu SMSD benchmark: N SMS through gammu-smsd's SQLite inbox (or, with GAMMU_DRIVER=pgsql,
# its PostgreSQL database) end to end, and the peer's own ceiling beside it. gammu-smsd runs
# with the dummy phone (scripts/peers/gammu-up.sh, GAMMU_POLL_S=0: no pause between its loops).
#
#   1. peer ingest: N SMS-backup files in the dummy phone's inbox folder -> N `inbox` rows
#      (gammu-smsd alone);
#   2. metergate: `metergate run --once` (release build) over the N unprocessed inbox rows ->
#      N messages in the ledger and N reply rows in SMSD's `outbox`, gammu-smsd running
#      (and sending) meanwhile;
#   3. peer send: SEND_SAMPLE of those reply rows "sent" by the dummy phone (-> `sentitems`),
#      timed from the end of step 2.
#
# Environment: MESSAGES [10000]  SEND_SAMPLE [1000]  GAMMU_WAL [0] (1: SMSD's database in
# WAL mode)  GAMMU_DRIVER [sqlite3] (pgsql: SMSD's native_pgsql driver and a PostgreSQL server
# of its own, scripts/peers/postgres-up.sh)  DATA [Benchmarks/.data/gammu or gammu-pgsql]  RESULTS [Benchmarks/results.md] (a section is
# appended)  SKIP_BUILD=1 (use .build-bench's binary)
set -euo pipefail
BENCH=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$BENCH")
MESSAGES=${MESSAGES:-10000}
SEND_SAMPLE=${SEND_SAMPLE:-1000}
DRIVER=${GAMMU_DRIVER:-sqlite3}
export GAMMU_DRIVER=$DRIVER
[[ $DRIVER == sqlite3 || $DRIVER == pgsql ]] || { echo "GAMMU_DRIVER must be sqlite3 or pgsql" >&2; exit 2; }
DATA=${DATA:-$BENCH/.data/gammu$([[ $DRIVER == pgsql ]] && echo -pgsql || true)}
RESULTS=${RESULTS:-$BENCH/results.md}
SCRATCH=$REPO/.build-bench
log() { printf '[gammu bench %s] %s\n' "$(date +%T)" "$*" >&2; }
now() { date +%s.%N; }
# One statement against SMSD's database; identifiers quoted (PostgreSQL's schema is mixed-case).
sq() {
    if [[ $DRIVER == pgsql ]]; then
        PGPASSWORD=$(cat "$DATA/peer/postgres/password") psql -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 \
            -p "$(cat "$DATA/peer/postgres/port")" -U smsd -d smsd -c "$1"
    else
        sqlite3 -cmd ".timeout 20000" "$DATA/peer/smsd.db" "$1"
    fi
}

if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    log "building metergate (release)"
    swift build -c release --product metergate --scratch-path "$SCRATCH" >&2
fi
BIN=$(swift build -c release --product metergate --scratch-path "$SCRATCH" --show-bin-path)/metergate
[[ -x $BIN ]] || { echo "no release binary at $BIN" >&2; exit 1; }

[[ -f $DATA/peer/smsd.pid ]] && "$REPO/scripts/peers/gammu-down.sh" "$DATA/peer" || true
rm -rf "$DATA"
mkdir -p "$DATA/peer"
trap '"$REPO/scripts/peers/gammu-down.sh" "$DATA/peer" || true' EXIT

python3 - "$DATA" "$MESSAGES" <<'PY'
import json, sys
data, n = sys.argv[1], int(sys.argv[2])
with open(f"{data}/accounts.csv", "w") as accounts, open(f"{data}/sms.jsonl", "w") as sms:
    accounts.write("uin,meters,previous,digits,phones,emails\n")
    for i in range(n):
        uin = 5_000_000 + i
        accounts.write(f"{uin},T1;T2,1000;500,,+7917{i:07d},\n")
        text = f"{uin} {1000 + i % 900} {500 + i % 300}" if i % 3 else f"Показания {uin}: день {1000 + i % 900}, ночь {500 + i % 300}"
        sms.write(json.dumps({"from": f"+7917{i:07d}", "text": text}, ensure_ascii=False) + "\n")
PY

peer_settings=$(GAMMU_POLL_S=0 "$REPO/scripts/peers/gammu-up.sh" "$DATA/peer")
database=$(grep '^GAMMU_DATABASE=' <<<"$peer_settings" | cut -d= -f2-)
password_file=$(grep '^GAMMU_PASSWORD_FILE=' <<<"$peer_settings" | cut -d= -f2- || true)
cat > "$DATA/config.yaml" <<CONF
store:
  path: $DATA/metergate.sqlite
log:
  format: text
  level: warning
sms:
  - name: gammu
    kind: gammu
    database: $database
$([[ -n $password_file ]] && echo "    password_file: $password_file")
CONF
"$BIN" accounts import "$DATA/accounts.csv" --config "$DATA/config.yaml" >/dev/null 2>&1

# 1. The peer alone: phone -> inbox.
log "peer ingest: $MESSAGES SMS into the dummy phone"
t0=$(now)
"$REPO/scripts/peers/gammu-inject.sh" "$DATA/peer" --jsonl "$DATA/sms.jsonl"
t1=$(now)
until [[ $(sq "SELECT COUNT(*) FROM inbox") -ge $MESSAGES ]]; do sleep 0.2; done
t2=$(now)

# 2. metergate: inbox -> ledger -> SMSD outbox.
log "metergate run --once over $MESSAGES inbox rows"
/usr/bin/time -f "%U %S %M" -o "$DATA/time.txt" "$BIN" run --once --config "$DATA/config.yaml" 2>"$DATA/metergate.log"
t3=$(now)
replies=$(sq "SELECT COUNT(*) FROM metergate_replies")
processed=$(sq "SELECT COUNT(*) FROM inbox WHERE \"Processed\" = 'true'")
recorded=$(sqlite3 "$DATA/metergate.sqlite" "SELECT COUNT(*) FROM message")
read -r user sys rss < "$DATA/time.txt"

# 3. The peer alone again: outbox -> sent by the dummy phone (a sample).
log "peer send: waiting for $SEND_SAMPLE replies in sentitems"
sent0=$(sq "SELECT COUNT(*) FROM sentitems")
until [[ $(( $(sq "SELECT COUNT(*) FROM sentitems") - sent0 )) -ge $SEND_SAMPLE ]]; do sleep 0.5; done
t4=$(now)
cyrillic=$(sq "SELECT COUNT(*) FROM sentitems WHERE \"Coding\" = 'Unicode_No_Compression'")
sent=$(sq "SELECT COUNT(*) FROM sentitems")

summary=$(python3 - "$MESSAGES" "$SEND_SAMPLE" "$t0" "$t1" "$t2" "$t3" "$t4" "$sent0" <<'PY'
import sys
n, sample = int(sys.argv[1]), int(sys.argv[2])
t0, t1, t2, t3, t4, sent0 = map(float, sys.argv[3:9])
ingest, mg, send = t2 - t0, t3 - t2, t4 - t3
print(f"{ingest:.1f}|{n / ingest:.0f}|{mg:.1f}|{n / mg:.0f}|{send:.1f}|{(sample + sent0) / send if False else sample / send:.1f}|{t1 - t0:.1f}|{sent0:.0f}")
PY
)
IFS='|' read -r ingest ingest_rate mg mg_rate send send_rate inject_s sent_during <<< "$summary"
if [[ $DRIVER == pgsql ]]; then
    title="PostgreSQL"
    database_note="SMSD's \`native_pgsql\` driver, PostgreSQL $(sq "SHOW server_version" | awk '{print $1}') on 127.0.0.1 (fsync on, scripts/peers/postgres-up.sh)"
else
    title="SQLite"
    database_note="SMSD database journal mode \`$(sq "PRAGMA journal_mode")\`"
fi
load=$(cut -d' ' -f1-3 /proc/loadavg)
log "peer ingest ${ingest}s (${ingest_rate}/s); metergate ${mg}s (${mg_rate} msg/s); peer send ${send_rate}/s"

{
    echo
    echo "## Gammu SMSD ($title) end to end — $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git -C "$REPO" rev-parse --short HEAD)"
    echo
    echo "$MESSAGES SMS from $MESSAGES senders (a third Cyrillic), gammu-smsd $(gammu-smsd --version | head -1 | awk '{print $NF}') with the dummy phone, \`GAMMU_POLL_S=0\`, $database_note; metergate release build, \`GAMMU_DRIVER=$DRIVER Benchmarks/gammu.sh\`; machine: nproc $(nproc), shared with other work, load average at the end $load."
    echo
    echo "| stage | messages | time | rate |"
    echo "|---|---|---|---|"
    echo "| peer ingest: dummy phone → SMSD \`inbox\` (gammu-smsd alone; files written in ${inject_s} s) | $MESSAGES | ${ingest} s | ${ingest_rate} SMS/s |"
    echo "| **metergate**: \`inbox\` → ledger (synchronous=FULL) → reply rows in SMSD \`outbox\`, \`run --once\` | $recorded recorded, $replies replies, $processed rows marked processed | ${mg} s | **${mg_rate} msg/s** (user ${user} s, sys ${sys} s, max RSS $((rss / 1024)) MiB) |"
    echo "| peer send: SMSD \`outbox\` → dummy phone → \`sentitems\` (gammu-smsd alone, sample; $sent_during sent while metergate ran) | $SEND_SAMPLE | ${send} s | ${send_rate} SMS/s |"
    echo
    echo "End to end (message in → reply sent) is bounded by the slowest stage: gammu-smsd sends one outbox row per loop. $sent of the replies were in \`sentitems\` at the end ($cyrillic as Unicode_No_Compression)."
} >> "$RESULTS"
log "appended to $RESULTS"
