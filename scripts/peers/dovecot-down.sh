#!/usr/bin/env bash
# Stops the Dovecot that dovecot-up.sh started in STATE (by its recorded pid only).
# usage: scripts/peers/dovecot-down.sh STATE
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-mail.sh"
state=${1:?usage: dovecot-down.sh STATE}
[[ -d "$state" ]] || exit 0
state=$(cd "$state" && pwd)
stop_pid "$state/run/master.pid" "$state/dovecot.conf"
