#!/usr/bin/env bash
# The support desk's look-up on a big store (issue 15): `metergate messages` on 1M messages.
# Builds release (--scratch-path .build-console-bench), makes the schema with the binary, fills
# MESSAGES rows with fill_messages.py, then times each look-up RUNS times (the whole command:
# process start, store open, query, output). Environment: MESSAGES [1000000], RUNS [20],
# DATA [Benchmarks/.data], SKIP_BUILD=1, RESULTS (append a section there when set).
set -euo pipefail
BENCH=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$BENCH")
MESSAGES=${MESSAGES:-1000000}
RUNS=${RUNS:-20}
DATA=${DATA:-$BENCH/.data}
SCRATCH=$REPO/.build-console-bench
mkdir -p "$DATA"
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    (cd "$REPO" && swift build -c release --product metergate --scratch-path "$SCRATCH")
fi
BIN=${BIN:-$SCRATCH/release/metergate}
STORE=$DATA/messages-$MESSAGES.sqlite
CONFIG=$DATA/messages.yaml
printf 'store:\n  path: %s\nhttp:\n  listen: "off"\n' "$STORE" >"$CONFIG"
if [[ ! -f "$STORE" ]]; then
    "$BIN" status --config "$CONFIG" >/dev/null   # creates the schema (every migration)
    python3 "$BENCH/fill_messages.py" "$STORE" --messages "$MESSAGES"
fi
# Median and worst of RUNS runs, in milliseconds.
time_it() {
    local label=$1; shift
    python3 - "$RUNS" "$label" "$@" <<'PY'
import resource, subprocess, sys, time
runs, label, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)  # warm the page cache once
times, cpus, lines = [], [], 0
for _ in range(runs):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True).stdout
    times.append((time.perf_counter() - t) * 1000)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpus.append((after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000)
    lines = out.count(b"\n")
times.sort()
cpus.sort()
print(f"| {label} | {lines} | {times[len(times)//2]:.1f} | {times[-1]:.1f} | {cpus[len(cpus)//2]:.1f} |")
PY
}
{
    echo "| look-up (whole command, $MESSAGES messages) | lines out | median ms | worst ms | median CPU ms (user+sys) |"
    echo "|---|---|---|---|---|"
    time_it "--from '8 (903) 123-45-67' --format json (120 messages)" "$BIN" messages --config "$CONFIG" --from '8 (903) 123-45-67' --limit 200 --format json
    time_it "--from '8 (903) 123-45-67' (text, newest 50)" "$BIN" messages --config "$CONFIG" --from '8 (903) 123-45-67'
    time_it "--from … --since 2026-06-01 --status accepted" "$BIN" messages --config "$CONFIG" --from '+79031234567' --since 2026-06-01 --status accepted --format json
    time_it "--uin of the target sender (json)" "$BIN" messages --config "$CONFIG" --uin "$(python3 -c "print('%07d' % ((1234567 * 7919) % 9_000_000 + 1_000_000))")" --format json
    time_it "--status rejected --limit 50 (no sender)" "$BIN" messages --config "$CONFIG" --status rejected --limit 50 --format json
    time_it "metergate status (for scale: process start and store open)" "$BIN" status --config "$CONFIG"
} | tee "$DATA/messages-result.md"
