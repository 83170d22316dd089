#!/usr/bin/env bash
# Stops the PostgreSQL server that postgres-up.sh started in STATE (only the pid it recorded,
# checked against its command line; SIGINT is PostgreSQL's fast shutdown); a no-op when it
# does not run. A cluster folder of its own outside STATE (STATE/home: /tmp/metergate-postgres-*)
# is removed with it, unless --keep is given (a restart: postgres-up.sh STATE starts it again).
# usage: scripts/peers/postgres-down.sh STATE [--keep]
set -euo pipefail
state=${1:?usage: postgres-down.sh STATE [--keep]}
keep=${2:-}
[[ -d $state ]] || exit 0
state=$(cd "$state" && pwd)
home=$state
[[ -s $state/home ]] && home=$(cat "$state/home")
remove_home() {
    [[ $keep != --keep && $home == /tmp/metergate-postgres-* && -d $home ]] && rm -rf "$home" "$state/home"
    return 0
}
trap remove_home EXIT
pid=$(cat "$state/postgres.pid" 2>/dev/null) || exit 0
[[ -n $pid && -r /proc/$pid/cmdline ]] || { rm -f "$state/postgres.pid"; exit 0; }
tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q -- "-D $home/data" || { rm -f "$state/postgres.pid"; exit 0; }
kill -INT "$pid" 2>/dev/null || true
for _ in $(seq 1 200); do
    [[ -r /proc/$pid/stat && $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) != Z ]] || { rm -f "$state/postgres.pid"; exit 0; }
    sleep 0.05
done
kill -QUIT "$pid" 2>/dev/null || true
rm -f "$state/postgres.pid"
