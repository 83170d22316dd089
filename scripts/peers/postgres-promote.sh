#!/usr/bin/env bash
# Promotes the standby postgres-standby-up.sh started in STATE to a primary (pg_ctl promote,
# waiting until it accepts writes).
# usage: scripts/peers/postgres-promote.sh STATE
set -euo pipefail
state=${1:?usage: postgres-promote.sh STATE}
state=$(cd "$state" && pwd)
home=$state
[[ -s $state/home ]] && home=$(cat "$state/home")
# shellcheck disable=SC1091
source <(grep '^PG_' "$state/postgres.env")
if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$PG_BIN/pg_ctl" promote -w -t 30 -D "$home/data" >/dev/null
else
    "$PG_BIN/pg_ctl" promote -w -t 30 -D "$home/data" >/dev/null
fi
