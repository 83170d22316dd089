#!/usr/bin/env bash
# Fuzz MailMessage with libFuzzer (+ AddressSanitizer).
#   scripts/fuzz-mail.sh [seconds=600] [extra libFuzzer args…]
# The fuzz build runs in a throw-away package under .build-fuzzmail/pkg that links only
# Sources/MailMessage and Sources/FuzzMail, so other targets (and their plugins) cannot break it
# and -sanitize flags reach only our code.
# Crash reproducers land in .build-fuzzmail/fuzz/artifacts/; replay one without sanitizers:
#   swift run --scratch-path .build-mail FuzzMail .build-fuzzmail/fuzz/artifacts/crash-…
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
SECONDS_TO_RUN="${1:-600}"; shift || true
PKG="$ROOT/.build-fuzzmail/pkg"
mkdir -p "$PKG/Sources" "$ROOT/.build-fuzzmail/fuzz/corpus" "$ROOT/.build-fuzzmail/fuzz/artifacts"
ln -sfn "$ROOT/Sources/MailMessage" "$PKG/Sources/MailMessage"
ln -sfn "$ROOT/Sources/FuzzMail" "$PKG/Sources/FuzzMail"
cat > "$PKG/Package.swift" <<'SWIFT'
// swift-tools-version:6.1
import PackageDescription
let package = Package(name: "fuzzmail", targets: [
    .target(name: "MailMessage", exclude: ["README.md"]),
    .executableTarget(name: "FuzzMail", dependencies: ["MailMessage"]),
])
SWIFT
FLAGS=(-c release --package-path "$PKG" --scratch-path "$ROOT/.build-fuzzmail/build"
       --sanitize=fuzzer --sanitize=address -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING)
swift build "${FLAGS[@]}" --product FuzzMail
BIN="$(swift build "${FLAGS[@]}" --show-bin-path)/FuzzMail"
cp -n Tests/MailMessageTests/Fixtures/*.eml Tests/MailMessageTests/Fixtures/*.txt .build-fuzzmail/fuzz/corpus/ 2>/dev/null || true
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}"
exec "$BIN" .build-fuzzmail/fuzz/corpus \
    -max_total_time="$SECONDS_TO_RUN" -rss_limit_mb=2048 -max_len=65536 -timeout=10 \
    -artifact_prefix=.build-fuzzmail/fuzz/artifacts/ -print_final_stats=1 "$@"
