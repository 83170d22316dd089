#!/usr/bin/env bash
# Stops the PostgreSQL server that postgres-up.sh started in STATE (only the pid it recorded,
# checked against its command line; SIGINT is PostgreSQL's fast shutdown); a no-op when it
# does not run.
set -euo pipefail
state=${1:?usage: postgres-down.sh STATE}
[[ -d $state ]] || exit 0
state=$(cd "$state" && pwd)
pid=$(cat "$state/postgres.pid" 2>/dev/null) || exit 0
[[ -n $pid && -r /proc/$pid/cmdline ]] || { rm -f "$state/postgres.pid"; exit 0; }
tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q -- "-D $state/data" || { rm -f "$state/postgres.pid"; exit 0; }
kill -INT "$pid" 2>/dev/null || true
for _ in $(seq 1 200); do
    [[ -r /proc/$pid/stat && $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) != Z ]] || { rm -f "$state/postgres.pid"; exit 0; }
    sleep 0.05
done
kill -QUIT "$pid" 2>/dev/null || true
rm -f "$state/postgres.pid"
