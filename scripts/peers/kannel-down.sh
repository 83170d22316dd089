#!/usr/bin/env bash
# Stops what kannel-up.sh STATE started: only the pids in STATE/*.pid, each checked against
# its command line first. No-op when nothing runs.
set -uo pipefail
state=${1:?usage: kannel-down.sh STATE}
[[ -d "$state" ]] || exit 0
phone=$(sed -n 's/^KANNEL_PHONE_PORT=//p' "$state/kannel.env" 2>/dev/null)
pids=()
for entry in fakesmsc:INT smsbox:TERM bearerbox:TERM; do
    name=${entry%%:*} signal=${entry##*:} file="$state/${entry%%:*}.pid"
    [[ -f "$file" ]] || continue
    pid=$(cat "$file")
    if [[ -n "$pid" && -r /proc/$pid/cmdline ]] && tr '\0' ' ' </proc/$pid/cmdline | grep -q -- "$name" \
        && tr '\0' ' ' </proc/$pid/cmdline | grep -q -- "$state/kannel.conf\|fakesmsc -H 127.0.0.1 -r ${phone:-none} "; then
        kill "-$signal" "$pid" 2>/dev/null && pids+=("$pid")
    fi
    rm -f "$file"
done
# Wait for them (a zombie counts as gone: PID 1 may reap late).
for pid in "${pids[@]}"; do
    for _ in $(seq 100); do
        [[ -r /proc/$pid/stat && "$(awk '{print $3}' /proc/$pid/stat 2>/dev/null)" != Z ]] || break
        sleep 0.05
    done
    if [[ -r /proc/$pid/stat && "$(awk '{print $3}' /proc/$pid/stat 2>/dev/null)" != Z ]]; then
        kill -KILL "$pid" 2>/dev/null
    fi
done
exit 0
