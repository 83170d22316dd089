#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs every test target,
# then scores the build against the public corpus when ../shared is beside the project.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
scripts/ensure-packages.sh
swift build --build-tests
swift test --skip-build
corpus="$here/../shared/corpus"
if [[ -f "$corpus/score.py" && -f "$corpus/public.jsonl" ]]; then
    echo "== public corpus score =="
    python3 "$corpus/score.py" "$(swift build --show-bin-path)/metergate" "$corpus/public.jsonl" --public --min-recall 1.0
fi
