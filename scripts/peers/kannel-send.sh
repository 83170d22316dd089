#!/usr/bin/env bash
# kannel-send.sh FROM TEXT [TO]: one SMS into Kannel as a phone sends it (KANNEL_STATE=STATE or
# KANNEL_INJECT_PORT set). See kannel-send.py for bulk sends and messages in parts.
set -euo pipefail
exec python3 "$(dirname "${BASH_SOURCE[0]}")/kannel-send.py" "$@"
