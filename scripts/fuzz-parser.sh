#!/usr/bin/env bash
# Builds the ReadingsGrammar fuzz target (libFuzzer + ASan) and runs it.
# usage: scripts/fuzz-parser.sh [SECONDS] [CORPUS_DIR]
#
# The plain recipe is
#   swift build -c release --product FuzzParser --sanitize=fuzzer --scratch-path .build-fuzz -Xswiftc -DFUZZING
# but --sanitize=fuzzer makes SwiftPM pass -parse-as-library to every target, which breaks
# targets written with top-level code (EmbedDefaultsTool). So when that fails, the three
# modules the fuzzer needs are compiled directly with swiftc.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-600}"
corpus="${2:-.build-fuzz/corpus-parser}"
mkdir -p .build-fuzz
out=.build-fuzz/release
binary="$out/FuzzParser"
if ! swift build -c release --product FuzzParser --sanitize=fuzzer --scratch-path .build-fuzz -Xswiftc -DFUZZING \
        > .build-fuzz/swiftpm.log 2>&1; then
    echo "swift build --sanitize=fuzzer failed (see .build-fuzz/swiftpm.log); compiling with swiftc" >&2
    out=.build-fuzz/manual
    mkdir -p "$out"
    swift run -c release --scratch-path .build-fuzz-tool EmbedDefaultsTool "$out/DefaultFiles+Embedded.swift" \
        $(ls -d Grammars/* | grep -v README.md)
    flags=(-O -sanitize=fuzzer,address -parse-as-library -DFUZZING -swift-version 6)
    swiftc "${flags[@]}" -module-name ReadingsGrammar -emit-module -emit-module-path "$out/ReadingsGrammar.swiftmodule" \
        -emit-library -static -o "$out/libReadingsGrammar.a" Sources/ReadingsGrammar/*.swift
    swiftc "${flags[@]}" -module-name DefaultFiles -emit-module -emit-module-path "$out/DefaultFiles.swiftmodule" \
        -emit-library -static -o "$out/libDefaultFiles.a" Sources/DefaultFiles/*.swift "$out/DefaultFiles+Embedded.swift"
    binary="$out/FuzzParser"
    swiftc "${flags[@]}" -module-name FuzzParser -I "$out" -L "$out" -lReadingsGrammar -lDefaultFiles \
        Sources/FuzzParser/main.swift -o "$binary"
fi
mkdir -p "$corpus"
if [ -z "$(ls -A "$corpus")" ]; then
    n=0
    for t in "8986432 17281" "УИН 3462933 38318" "л/с 841464364049 Т1 9640 Т2 3955" "014417241 33690,5" \
             "009547501237 41 011" "Показания на 20.11.2026: 6742473 5895 тел 89031234567" "4099669 11O77" \
             "821847009862 ☀️7502 🌙2589 👍" "Добрый день!\nУИН 728504881\nдень 24588\nночь 15958" \
             "1 234 567 890 12,5 20.11 89031234567 +7 (903) 123-45-67 a@b.ru http://x.ru" \
             "5953328 день/ночь 21911/7779" "12345 2345 (т1 т2) 1234567 Т3" "ул. Ленина д. 5а, кв. 12 л/с 1234567 17.300" \
             "УИН 595 332 8 показания 21911 20/11 м³"; do
        printf '%b' "$t" > "$corpus/seed$n"; n=$((n + 1))
    done
fi
SWIFT_BACKTRACE=enable=no "$binary" -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=8192 \
    -print_final_stats=1 "$corpus"
