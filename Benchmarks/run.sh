#!/usr/bin/env bash
# metergate benchmarks: accounts import, replay (durable group commit), tokenizer, daemon idle RSS.
# See Benchmarks/README.md. Environment knobs (defaults in brackets):
#   ACCOUNTS [1000000]  MESSAGES [1000000]  SEED [20261120]
#   REPEAT [3]          repetitions of the import, the main replay and the tokenizer bench
#   REPLAY_BATCH [16384] --batch of the main replay (16384 is `metergate replay`'s default)
#   BATCHES ["256 1024 4096"]  extra --batch sizes, one replay each
#   BATCH_MESSAGES [$MESSAGES] messages for the --batch sweep (the first lines of sms.jsonl)
#   TOKENIZER_TEXTS [1000000]  texts for FuzzParser --bench
#   DATA [Benchmarks/.data]    generated inputs and the stores (keep it on the real disk:
#                              the replay measures fsync'd commits)
#   RESULTS [Benchmarks/results.md] where the summary goes
#   SKIP_BUILD=1  use the binaries already in .build-bench
#   ONLY="import replay batches tokenizer idle"  run a subset
set -euo pipefail

BENCH=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$BENCH")
ACCOUNTS=${ACCOUNTS:-1000000}
MESSAGES=${MESSAGES:-1000000}
SEED=${SEED:-20261120}
REPEAT=${REPEAT:-3}
BATCHES=${BATCHES:-"256 1024 4096"}
REPLAY_BATCH=${REPLAY_BATCH:-16384}
TOKENIZER_TEXTS=${TOKENIZER_TEXTS:-1000000}
BATCH_MESSAGES=${BATCH_MESSAGES:-$MESSAGES}
DATA=${DATA:-$BENCH/.data}
ONLY=${ONLY:-"import replay batches tokenizer idle"}
SCRATCH=$REPO/.build-bench
RESULTS=${RESULTS:-$BENCH/results.md}

log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }
want() { [[ " $ONLY " == *" $1 "* ]]; }

if [[ ! -x /usr/bin/time ]]; then
    log "installing GNU time"
    (apt-get install -y time || { apt-get update && apt-get install -y time; }) >/dev/null
fi

# ---- build (others may be mid-edit: retry a few times) -------------------------------------
build() {
    local product=$1 attempt
    for attempt in 1 2 3 4 5 6; do
        if swift build -c release --product "$product" --scratch-path "$SCRATCH" >"$DATA/build-$product.log" 2>&1; then
            return 0
        fi
        log "build of $product failed (attempt $attempt; see $DATA/build-$product.log); retrying in 60 s"
        sleep 60
    done
    return 1
}
mkdir -p "$DATA"
if [[ -z "${SKIP_BUILD:-}" ]]; then
    log "building release (scratch $SCRATCH)"
    build metergate
    want tokenizer && { build FuzzParser || log "FuzzParser does not build; tokenizer bench skipped"; }
fi
BIN=$(swift build -c release --scratch-path "$SCRATCH" --show-bin-path)
METERGATE=$BIN/metergate
FUZZPARSER=$BIN/FuzzParser
COMMIT=$(git -C "$REPO" rev-parse --short HEAD)
DIRTY=$(git -C "$REPO" status --porcelain --untracked-files=no -- Sources Package.swift | wc -l)

# ---- data -------------------------------------------------------------------------------
INPUT=$DATA/a$ACCOUNTS-m$MESSAGES-s$SEED
if [[ ! -s $INPUT/sms.jsonl ]]; then
    log "generating $ACCOUNTS accounts and $MESSAGES SMS into $INPUT"
    python3 "$BENCH/generate.py" --accounts "$ACCOUNTS" --messages "$MESSAGES" --seed "$SEED" --out "$INPUT.tmp"
    rm -rf "$INPUT" && mv "$INPUT.tmp" "$INPUT"
fi
RUN=$DATA/run
mkdir -p "$RUN"
CFG=$RUN/cfg.yaml
cat >"$CFG" <<EOF
store:
  path: $RUN/store.sqlite
log:
  level: warning
mailboxes: []
sms: []
EOF
fresh_store() { rm -f "$RUN"/store.sqlite "$RUN"/store.sqlite-*; }

# ---- measuring --------------------------------------------------------------------------
# timed NAME CMD...: runs CMD under /usr/bin/time -v, appends "NAME wall user sys rss_kib rc" to $RUN/times.
timed() {
    local name=$1; shift
    local tv=$RUN/time-$name.txt rc=0
    /usr/bin/time -v -o "$tv" "$@" || rc=$?
    awk -v name="$name" -v rc="$rc" '
        /Elapsed \(wall clock\)/ { n = split($NF, p, ":"); wall = (n == 3) ? p[1]*3600 + p[2]*60 + p[3] : p[1]*60 + p[2] }
        /User time/ { user = $NF } /System time/ { sys = $NF } /Maximum resident set size/ { rss = $NF }
        END { printf "%s %.2f %.2f %.2f %d %d\n", name, wall, user, sys, rss, rc }' "$tv" | tee -a "$RUN/times" >&2
}
# stat FIELD NAME-PREFIX: "best median" of a column over the runs whose name starts with the prefix
# (best = smallest for times, largest for rates; here only wall is ranked).
stats() {  # prints: best_wall median_wall user_of_best sys_of_best rss_of_best runs
    grep "^$1 " "$RUN/times" | sort -k2,2n | awk '
        { w[NR] = $2; u[NR] = $3; s[NR] = $4; r[NR] = $5; rc[NR] = $6 }
        END { m = (NR % 2) ? w[(NR + 1) / 2] : (w[NR / 2] + w[NR / 2 + 1]) / 2
              printf "%.2f %.2f %.2f %.2f %d %d %d\n", w[1], m, u[1], s[1], r[1], NR, rc[1] }'
}
: >"$RUN/times"
rm -f "$RUN/tokenizer.txt" "$RUN/outcomes.txt"
ROWS=()
row() { ROWS+=("$1"); }

# ---- 1. accounts import ------------------------------------------------------------------
if want import || want replay || want batches; then
    for i in $(seq 1 "$REPEAT"); do
        want import || [[ $i == 1 ]] || break
        fresh_store
        log "accounts import $i/$REPEAT"
        timed import "$METERGATE" accounts import "$INPUT/accounts.csv" --config "$CFG" >"$RUN/import.out" 2>"$RUN/import.err"
        sleep 2
    done
    cat "$RUN/import.out" >&2
    # Keep the imported store as the starting point of every replay.
    rm -rf "$RUN/template" && mkdir -p "$RUN/template" && cp "$RUN"/store.sqlite* "$RUN/template/"
    read -r best med user sys rss n rc < <(stats import)
    row "| accounts import ($ACCOUNTS rows) | $best s | $med s | $n | $(awk -v a="$ACCOUNTS" -v w="$best" 'BEGIN{printf "%d rows/s", a/w}') | $user + $sys s | $((rss / 1024)) MiB | < 20 s: $(awk -v w="$best" 'BEGIN{print (w < 20) ? "met" : "MISSED"}') (exit $rc) |"
fi

# ---- 2. replay ---------------------------------------------------------------------------
replay_once() {  # NAME BATCH [FILE]
    rm -f "$RUN"/store.sqlite*
    cp "$RUN"/template/store.sqlite* "$RUN/"
    sync
    log "replay $1 (--batch $2) ${3:-$INPUT/sms.jsonl}"
    timed "$1" "$METERGATE" replay "${3:-$INPUT/sms.jsonl}" --config "$CFG" --batch "$2" >/dev/null 2>"$RUN/$1.err"
}
replay_row() {  # NAME LABEL [MESSAGES]
    read -r best med user sys rss n rc < <(stats "$1")
    local rate med_rate count=${3:-$MESSAGES}
    rate=$(awk -v m="$count" -v w="$best" 'BEGIN{printf "%d", m/w}')
    med_rate=$(awk -v m="$count" -v w="$med" 'BEGIN{printf "%d", m/w}')
    row "| replay $count SMS, $2 | $best s | $med s | $n | $rate msg/s (median $med_rate) | $user + $sys s | $((rss / 1024)) MiB | ≥ 20,000 msg/s: $( ((rate >= 20000)) && echo met || echo MISSED) (exit $rc) |"
}
if want replay; then
    for i in $(seq 1 "$REPEAT"); do
        replay_once "replay-$REPLAY_BATCH" "$REPLAY_BATCH"
        sleep 2
    done
    # 16384 is the command's default (the rows before 2026-12-03 said "4096 (the default)": it was not).
    replay_row "replay-$REPLAY_BATCH" "--batch $REPLAY_BATCH$( ((REPLAY_BATCH == 16384)) && echo ' (the default)')"
    # What the store says about the run (a sanity check of the generated mix).
    sqlite3 "$RUN/store.sqlite" "SELECT status, coalesce(reason, ''), count(*) FROM message GROUP BY 1, 2 ORDER BY 3 DESC" \
        >"$RUN/outcomes.txt" 2>&1 || true
fi
if want batches; then
    SWEEP=$INPUT/sms.jsonl
    if ((BATCH_MESSAGES < MESSAGES)); then
        SWEEP=$INPUT/sms-first-$BATCH_MESSAGES.jsonl
        [[ -s $SWEEP ]] || head -n "$BATCH_MESSAGES" "$INPUT/sms.jsonl" >"$SWEEP"
        # The same slice at the default batch, for comparison.
        replay_once "replay-first-512" 512 "$SWEEP"
        replay_row "replay-first-512" "--batch 512" "$BATCH_MESSAGES"
        sleep 2
    fi
    for b in $BATCHES; do
        replay_once "replay-$b" "$b" "$SWEEP"
        replay_row "replay-$b" "--batch $b" "$BATCH_MESSAGES"
        sleep 2
    done
fi

# ---- 3. tokenizer ------------------------------------------------------------------------
TOKENIZER_NOTE=""
if want tokenizer; then
    if [[ -x $FUZZPARSER ]] && "$FUZZPARSER" --bench 1000 >/dev/null 2>&1; then
        : >"$RUN/tokenizer.txt"
        for i in $(seq 1 "$REPEAT"); do
            log "tokenizer $i/$REPEAT"
            "$FUZZPARSER" --bench "$TOKENIZER_TEXTS" | tee -a "$RUN/tokenizer.txt" >&2
        done
        read -r best med n < <(sed -n 's/.*: \([0-9]*\) texts\/s.*/\1/p' "$RUN/tokenizer.txt" | sort -n | awk '
            { v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2); print v[NR], m, NR }')
        row "| tokenizer, 24 hard sample kinds (FuzzParser --bench $TOKENIZER_TEXTS, 1 thread) | $best texts/s | $med texts/s | $n | | | | ≥ 200,000 texts/s: $( ((best >= 200000)) && echo met || echo MISSED) |"
        # The same on the generated realistic mix (the replay benchmark's SMS texts).
        : >"$RUN/tokenizer-mix.txt"
        for i in $(seq 1 "$REPEAT"); do
            "$FUZZPARSER" --bench "$TOKENIZER_TEXTS" "$INPUT/sms.jsonl" | tee -a "$RUN/tokenizer-mix.txt" >&2
        done
        read -r best med n < <(sed -n 's/.*: \([0-9]*\) texts\/s.*/\1/p' "$RUN/tokenizer-mix.txt" | sort -n | awk '
            { v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2); print v[NR], m, NR }')
        row "| tokenizer, realistic SMS mix (first 100k texts of sms.jsonl, 1 thread) | $best texts/s | $med texts/s | $n | | | | ≥ 200,000 texts/s: $( ((best >= 200000)) && echo met || echo MISSED) |"
    else
        TOKENIZER_NOTE="FuzzParser has no working --bench mode in this build: tokenizer throughput not measured."
        row "| tokenizer | — | — | 0 | | | | not measured: FuzzParser --bench missing |"
    fi
fi

# ---- 4. daemon idle RSS ------------------------------------------------------------------
if want idle; then
    IDLE=$(mktemp -d /tmp/metergate-idle.XXXXXX)
    log "daemon idle RSS in $IDLE"
    (cd "$IDLE" && exec "$METERGATE" run >"$IDLE/run.out" 2>"$IDLE/run.err") &
    PID=$!
    sleep 10
    if kill -0 "$PID" 2>/dev/null; then
        RSS=$(awk '/VmRSS/ {print $2}' /proc/$PID/status)
        HWM=$(awk '/VmHWM/ {print $2}' /proc/$PID/status)
        THREADS=$(awk '/Threads/ {print $2}' /proc/$PID/status)
        kill -TERM "$PID"
        RC=0; wait "$PID" || RC=$?
        row "| daemon idle (\`run\`, embedded default, 10 s) | VmRSS $((RSS / 1024)).$(((RSS % 1024) * 10 / 1024)) MiB | VmHWM $((HWM / 1024)).$(((HWM % 1024) * 10 / 1024)) MiB | 1 | $THREADS threads | | | ≤ 64 MiB: $( ((HWM <= 65536)) && echo met || echo MISSED) (SIGTERM exit $RC) |"
    else
        RC=0; wait "$PID" || RC=$?
        row "| daemon idle | — | — | 0 | | | | daemon exited early (code $RC): $(tail -1 "$IDLE/run.err") |"
    fi
    cp "$IDLE/run.err" "$RUN/idle-run.err" 2>/dev/null || true
    rm -rf "$IDLE"
fi

# ---- summary -----------------------------------------------------------------------------
{
    echo "# metergate benchmark results"
    echo
    echo "- date: $(date -Is)"
    echo "- commit: $COMMIT$( ((DIRTY > 0)) && echo " (+ $DIRTY uncommitted source change(s) in the work tree)")"
    echo "- data: $ACCOUNTS accounts, $MESSAGES SMS, seed $SEED (\`Benchmarks/generate.py\`)"
    echo "- machine: nproc $(nproc); $(uname -sr); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
    echo "- swift: $(swift --version 2>&1 | head -1)"
    echo
    echo '```'
    free -h
    echo
    df -h "$DATA"
    echo '```'
    echo
    echo "| benchmark | best | median | runs | rate | user + sys (best run) | max RSS (best run) | target |"
    echo "|---|---|---|---|---|---|---|---|"
    printf '%s\n' "${ROWS[@]}"
    [[ -n $TOKENIZER_NOTE ]] && { echo; echo "$TOKENIZER_NOTE"; }
    if [[ -s $RUN/outcomes.txt ]]; then
        echo
        echo "Outcomes of the last replay (status | reason | messages):"
        echo
        echo '```'
        cat "$RUN/outcomes.txt"
        echo '```'
    fi
    echo
    echo "Raw runs (name wall_s user_s sys_s maxrss_KiB exit):"
    echo
    echo '```'
    cat "$RUN/times"
    [[ -s $RUN/tokenizer.txt ]] && cat "$RUN/tokenizer.txt"
    echo '```'
} >"$RUN/core.md"
# The core figures replace the part of results.md between the core markers (or go on top);
# the channel benchmarks' sections below them are kept.
python3 - "$RESULTS" "$RUN/core.md" <<'PY'
import pathlib, sys
results, core = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]).read_text()
begin, end = "<!-- core benchmarks: begin -->", "<!-- core benchmarks: end -->"
block = f"{begin}\n{core.rstrip()}\n{end}\n"
old = results.read_text() if results.exists() else ""
if begin in old and end in old:
    new = old[:old.index(begin)] + block + old[old.index(end) + len(end):].lstrip("\n")
else:
    new = block + ("\n" + old if old else "")
results.write_text(new)
PY
cat "$RUN/core.md"
