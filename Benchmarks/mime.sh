#!/usr/bin/env bash
# MIME reading of a 100 KB HTML reply with a 20-level nested quote (MailMessage: headers, HTML
# to text, quote removal). Target < 5 ms per message. Release build of FuzzMail (no fuzzing).
#   Benchmarks/mime.sh [runs=200]     SKIP_BUILD=1 to reuse the last build
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${SKIP_BUILD:-}" != 1 ]]; then swift build -c release --product FuzzMail >/dev/null; fi
"$(swift build -c release --show-bin-path)/FuzzMail" --bench-html-reply "${1:-200}"
