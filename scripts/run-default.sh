#!/usr/bin/env bash
# Builds metergate (release) and runs the daemon on its embedded default:
# everything in ./metergate-data/ of the current directory (store, mail/, sms/inbox/, outbox/).
# Imports the sample accounts of Deploy/ first when the store has none.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$here/scripts/ensure-packages.sh"
swift build -c release --product metergate --package-path "$here" >&2
binary="$(swift build -c release --product metergate --package-path "$here" --show-bin-path)/metergate"
if [[ ! -f metergate-data/metergate.sqlite ]]; then
    "$binary" accounts import "$here/Deploy/accounts.example.csv"
fi
exec "$binary" run "$@"
