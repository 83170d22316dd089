#!/usr/bin/env bash
# 10,000 SMS through Kannel end to end: each goes in at the fake SMSC as a phone sends it,
# Kannel pushes it to metergate's /sms/kannel, metergate records it and answers through
# sendsms, and the reply is counted where fakesmsc prints it. Beside it, Kannel's own ceiling
# for the same round trip: a trivial get-url target (stdlib Python) that answers 200 at once
# and sends a fixed Cyrillic reply through sendsms, as fast as Kannel goes.
#
#   Benchmarks/kannel.sh [COUNT]        (default 10000; metergate from a release build:
#                                        swift build -c release --product metergate, or METERGATE_BINARY)
# Prints a Markdown table row per run; append it to Benchmarks/results.md by hand.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
count=${1:-10000}
binary=${METERGATE_BINARY:-$(cd "$here" && swift build -c release --product metergate --show-bin-path)/metergate}
[[ -x "$binary" ]] || { echo "build first: swift build -c release --product metergate" >&2; exit 2; }
work="$(mktemp -d /tmp/metergate-bench-kannel.XXXXXX)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    "$here/scripts/peers/kannel-down.sh" "$work/kannel" >/dev/null 2>&1 || true
    "$here/scripts/peers/kannel-down.sh" "$work/kannel-ceiling" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Accounts and messages: COUNT abonents, each sends one reading from its bound phone.
python3 - "$work" "$count" <<'PY'
import json, sys
work, count = sys.argv[1], int(sys.argv[2])
with open(f"{work}/accounts.csv", "w") as accounts, open(f"{work}/messages.jsonl", "w") as messages:
    accounts.write("uin,meters,previous,digits,phones,emails\n")
    for n in range(count):
        uin, phone = 3000000 + n, f"+7902{n:07d}"
        accounts.write(f"{uin},T1,1000,,{phone},\n")
        messages.write(json.dumps({"from": phone, "text": f"{uin} {1100 + n % 50}"}) + "\n")
PY

wait_replies() {  # STATE COUNT TIMEOUT → seconds until COUNT replies are at fakesmsc
    local state=$1 want=$2 limit=$3 start=$EPOCHREALTIME got=0
    while :; do
        got=$(grep -c "Got message" "$state/fakesmsc.log" 2>/dev/null || true)
        (( got >= want )) && break
        if (( ${EPOCHREALTIME%.*} - ${start%.*} > limit )); then echo "timeout: $got of $want replies" >&2; return 1; fi
        sleep 0.2
    done
    python3 -c "import sys; print(f'{float(sys.argv[1]) - float(sys.argv[2]):.2f}')" "$EPOCHREALTIME" "$start"
}

# 1. metergate.
port=$(free_port)
target="http://127.0.0.1:$port/sms/kannel?from=%p&to=%P&text=%b&charset=%C&coding=%c&id=%I&time=%T"
eval "$("$here/scripts/peers/kannel-up.sh" "$work/kannel" "$target")"
cat >"$work/config.yaml" <<YAML
store:
  path: $work/store/metergate.sqlite
sms:
  - name: kannel
    kind: kannel
    listen: 127.0.0.1:$port
    sendsms_url: $KANNEL_SENDSMS_URL
    username: $KANNEL_SENDSMS_USER
    password: $KANNEL_SENDSMS_PASSWORD
log:
  level: warning
YAML
mkdir -p "$work/store"
"$binary" accounts import "$work/accounts.csv" --config "$work/config.yaml" >/dev/null 2>&1
"$binary" run --config "$work/config.yaml" 2>"$work/metergate.log" &
pids+=($!)
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
python3 "$here/scripts/peers/kannel-send.py" --state "$work/kannel" --jsonl "$work/messages.jsonl" >/dev/null &
metergate_s=$(wait_replies "$work/kannel" "$count" 900)
recorded=$(sqlite3 "$work/store/metergate.sqlite" "SELECT status || ' ' || COUNT(*) FROM message GROUP BY status" | tr '\n' ' ')
kill "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true
"$here/scripts/peers/kannel-down.sh" "$work/kannel" >/dev/null

# 2. Kannel's ceiling: the same round trip with a target that does no work.
port=$(free_port)
target="http://127.0.0.1:$port/sms/kannel?from=%p&to=%P&text=%b&charset=%C&coding=%c"
eval "$("$here/scripts/peers/kannel-up.sh" "$work/kannel-ceiling" "$target")"
python3 - "$port" "$KANNEL_SENDSMS_URL" <<'PY' &
import http.client, queue, sys, threading, urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
port, sendsms = int(sys.argv[1]), urllib.parse.urlsplit(sys.argv[2])
replies = queue.Queue()
class Target(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        sender = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query).get("from", [""])[0]
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
        replies.put(sender)
    def log_message(self, *args): pass
def sender():
    connection = http.client.HTTPConnection(sendsms.hostname, sendsms.port)
    while True:
        to = replies.get()
        query = urllib.parse.urlencode({"username": "harness", "password": "harness-secret", "to": to,
                                        "text": "Показания приняты: 1100. Спасибо!", "charset": "UTF-8", "coding": "2"})
        connection.request("GET", f"{sendsms.path}?{query}")
        connection.getresponse().read()
for _ in range(4):
    threading.Thread(target=sender, daemon=True).start()
class Server(ThreadingHTTPServer):
    request_queue_size = 1024  # Kannel opens up to 512 connections at once (the default 5 drops SYNs)
    daemon_threads = True
server = Server(("127.0.0.1", port), Target)
server.serve_forever()
PY
pids+=($!)
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
python3 "$here/scripts/peers/kannel-send.py" --state "$work/kannel-ceiling" --jsonl "$work/messages.jsonl" >/dev/null &
ceiling_s=$(wait_replies "$work/kannel-ceiling" "$count" 900)

rate() { python3 -c "import sys; print(f'{int(sys.argv[1]) / float(sys.argv[2]):.0f}')" "$1" "$2"; }
echo "| $(date -u +%Y-%m-%dT%H:%M:%SZ) | $(git -C "$here" rev-parse --short HEAD) | $count SMS in at fakesmsc → reply at fakesmsc | metergate: ${metergate_s} s, $(rate "$count" "$metergate_s") msg/s | Kannel + trivial target: ${ceiling_s} s, $(rate "$count" "$ceiling_s") msg/s | ledger: ${recorded}|"
