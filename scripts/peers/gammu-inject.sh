#!/usr/bin/env bash
# An SMS "received" by gammu-smsd's dummy phone: a Gammu SMS-backup file (PDU = Deliver)
# in STATE/phone/sms/1/N, read and stored in `inbox` by gammu-smsd itself.
# usage: scripts/peers/gammu-inject.sh STATE FROM TEXT [--parts N] [--order 2,1]
#        scripts/peers/gammu-inject.sh STATE --jsonl FILE   ({"from","text","parts"?,"order"?} per line)
#        GAMMU_STATE=STATE scripts/peers/gammu-inject.sh FROM TEXT
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [[ -n ${GAMMU_STATE:-} && ( $# -lt 1 || ! -d $1 ) ]]; then
    set -- "$GAMMU_STATE" "$@"
fi
python=python3
command -v "$python" >/dev/null || python=/usr/bin/python3
exec "$python" "$here/gammu-inject.py" "$@"
