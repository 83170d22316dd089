#!/usr/bin/env bash
# Fuzz MailMessage with libFuzzer. Usage: scripts/fuzz-mail.sh [seconds] [extra libFuzzer args…]
# Crash reproducers land in .fuzz-mail/artifacts/; replay one with:
#   swift run --scratch-path .build-mail FuzzMail .fuzz-mail/artifacts/crash-…
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN="${1:-600}"; shift || true
swift build -c release --product FuzzMail --scratch-path .build-fuzzmail \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -DFUZZING
BIN="$(swift build -c release --product FuzzMail --scratch-path .build-fuzzmail --show-bin-path)/FuzzMail"
mkdir -p .fuzz-mail/corpus .fuzz-mail/artifacts
cp -n Tests/MailMessageTests/Fixtures/*.eml Tests/MailMessageTests/Fixtures/*.txt .fuzz-mail/corpus/ 2>/dev/null || true
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}"
exec "$BIN" .fuzz-mail/corpus \
    -max_total_time="$SECONDS_TO_RUN" -rss_limit_mb=2048 -max_len=65536 -timeout=10 \
    -artifact_prefix=.fuzz-mail/artifacts/ -print_final_stats=1 "$@"
