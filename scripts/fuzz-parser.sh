#!/usr/bin/env bash
# Builds the ReadingsGrammar fuzz target with libFuzzer and runs it.
# usage: scripts/fuzz-parser.sh [SECONDS] [CORPUS_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-600}"
corpus="${2:-.build-fuzz/corpus-parser}"
swift build -c release --product FuzzParser --scratch-path .build-fuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -DFUZZING
mkdir -p "$corpus"
if [ -z "$(ls -A "$corpus")" ]; then
    # Seed with a few typical texts.
    n=0
    for t in "8986432 17281" "УИН 3462933 38318" "л/с 841464364049 Т1 9640 Т2 3955" "014417241 33690,5" \
             "009547501237 41 011" "Показания на 20.11.2026: 6742473 5895 тел 89031234567" "4099669 11O77" \
             "821847009862 ☀️7502 🌙2589 👍" "Добрый день!\nУИН 728504881\nдень 24588\nночь 15958"; do
        printf '%b' "$t" > "$corpus/seed$n"; n=$((n + 1))
    done
fi
SWIFT_BACKTRACE=enable=no .build-fuzz/release/FuzzParser -max_total_time="$seconds" -rss_limit_mb=2048 \
    -max_len=4096 -print_final_stats=1 "$corpus"
