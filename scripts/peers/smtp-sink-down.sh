#!/usr/bin/env bash
# Stops the SMTP sink that smtp-sink-up.sh started in STATE (by its recorded pid only).
# usage: scripts/peers/smtp-sink-down.sh STATE
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-mail.sh"
state=${1:?usage: smtp-sink-down.sh STATE}
[[ -d "$state" ]] || exit 0
state=$(cd "$state" && pwd)
stop_pid "$state/smtp-sink.pid" "smtp-sink.py"
