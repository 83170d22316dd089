#!/usr/bin/env bash
# Stops the gammu-smsd that gammu-up.sh started in STATE (only the pid it recorded, checked
# against its command line); a no-op when it does not run.
# With GAMMU_DRIVER=pgsql, the PostgreSQL server in STATE/postgres is stopped after it.
set -euo pipefail
state=${1:?usage: gammu-down.sh STATE}
[[ -d $state ]] || exit 0
state=$(cd "$state" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
trap '[[ -d $state/postgres ]] && "$here/postgres-down.sh" "$state/postgres"' EXIT
pid=$(cat "$state/smsd.pid" 2>/dev/null) || exit 0
[[ -n $pid && -r /proc/$pid/cmdline ]] || { rm -f "$state/smsd.pid"; exit 0; }
tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q -- "gammu-smsd -c $state/smsdrc" || { rm -f "$state/smsd.pid"; exit 0; }
kill -TERM "$pid" 2>/dev/null || true
# Gone, or a zombie waiting for PID 1 to reap it.
for _ in $(seq 1 100); do
    [[ -r /proc/$pid/stat && $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) != Z ]] || { rm -f "$state/smsd.pid"; exit 0; }
    sleep 0.05
done
kill -KILL "$pid" 2>/dev/null || true
rm -f "$state/smsd.pid"
