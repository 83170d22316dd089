#!/usr/bin/env bash
# E-mail over a distant link: MAILS generated mails (default 2,000) in a private Dovecot, reached
# through a delaying TCP relay (scripts/peers/pace-proxy.py: 15 ms each way, 30 ms round trip,
# on 127.0.0.1 only; one relay for IMAP, one for the SMTP sink). In one run:
#   1. the link's limit: one `UID FETCH 1:* (BODY.PEEK[])` (Python imaplib),
#   2. mbsync (isync), getmail6 and fetchmail downloading the same mailbox (Debian packages),
#   3. metergate `run --once` over the link, replies to the file outbox (one IMAP connection),
#   4. metergate `run --once` over the link, replies by SMTP through the link
#      (smtp.connections = SMTP_CONNECTIONS, default 16), with the time of the first reply,
#   5. the same two metergate runs on loopback, beside.
# metergate tracks UIDs, not \Seen, so every run takes the same mailbox from a fresh store.
# Release build in its own scratch path (.build-wan). Prints a Markdown section (also appended to
# $RESULTS when set).
# usage: Benchmarks/mail-wan.sh     knobs: MAILS, DELAY_MS (15), SMTP_CONNECTIONS (16), FETCHMAIL_LIMIT (300),
#        SKIP_BUILD=1, BIN=path/to/metergate, RESULTS=…
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
mails=${MAILS:-2000}
delay=${DELAY_MS:-15}
smtp_connections=${SMTP_CONNECTIONS:-16}
# BIN=path runs another build of metergate (the table then names it).
[[ "${SKIP_BUILD:-}" == 1 || -n "${BIN:-}" ]] || swift build -c release --product metergate --scratch-path .build-wan >&2
bin=${BIN:-$root/.build-wan/release/metergate}
scripts/ensure-packages.sh dovecot-imapd dovecot-pop3d dovecot-lmtpd openssl python3-aiosmtpd getmail6 fetchmail isync bc >&2

state=$(mktemp -d /tmp/metergate-mail-wan-XXXXXX)
chmod 755 "$state"
cleanup() {
    # The relays' pids are in files: `relay` runs in a command substitution (a subshell), so an
    # array filled there stayed empty here and the relays outlived the script.
    for file in "$state"/relay-*.pid; do [[ -f "$file" ]] && kill "$(cat "$file")" 2>/dev/null || true; done
    scripts/peers/smtp-sink-down.sh "$state/sink" || true
    scripts/peers/dovecot-down.sh "$state/dovecot" || true
    rm -rf "$state"
}
trap cleanup EXIT
eval "$(scripts/peers/dovecot-up.sh "$state/dovecot")"
eval "$(scripts/peers/smtp-sink-up.sh "$state/sink")"
cp Tests/MetergateTests/Fixtures/accounts.csv "$state/accounts.csv"

# A relay per port: delay each way, segments of 16 KiB, no pacing gap (the delay is the point,
# not a bandwidth cap).
relay() { # NAME TARGET_PORT → prints the relay's port
    python3 scripts/peers/pace-proxy.py "$state/relay-$1" "$2" --delay-ms "$delay" --segment 16384 --gap-ms 0 >/dev/null 2>&1 &
    echo $! >"$state/relay-$1.pid"
    for _ in $(seq 400); do [[ -s "$state/relay-$1/port" ]] && break; sleep 0.05; done
    cat "$state/relay-$1/port"
}
imap_far=$(relay imap "$DOVECOT_IMAP_PORT")
smtp_far=$(relay smtp "$SMTP_SINK_PORT")

scripts/peers/mail-deliver.py --state "$state/dovecot" --user readings@example.test --generate "$mails" >/dev/null
curl -s "imap://127.0.0.1:$DOVECOT_IMAP_PORT/" -u readings@example.test:secret -X 'STATUS INBOX (MESSAGES)' >/dev/null

now() { date +%s.%N; }
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
elapsed() { echo "$2 - $1" | bc -l | xargs printf '%.2f'; }
rate() { echo "$1 / $2" | bc -l | xargs printf '%.0f'; }

# 1. The link's limit.
link_s=$(python3 - "$imap_far" <<'PY'
import imaplib, sys, time
t = time.monotonic()
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
m.login("readings@example.test", "secret")
m.select("INBOX", readonly=True)
typ, data = m.uid("FETCH", "1:*", "(BODY.PEEK[])")
n = sum(1 for d in data if isinstance(d, tuple))
m.logout()
print(f"{time.monotonic() - t:.2f} {n}")
PY
)
read -r link_s link_n <<<"$link_s"

# 2. The other clients, download only. getmail6 and fetchmail take a round trip and more per
# message (a few mails/s here): they are timed on the first FETCHMAIL_LIMIT (300) mails only.
fetchmail_limit=${FETCHMAIL_LIMIT:-300}
mkdir -p "$state/mbsync/INBOX" "$state/getmail/Maildir/"{new,cur,tmp}
cat >"$state/mbsyncrc" <<RC
IMAPAccount bench
Host 127.0.0.1
Port $imap_far
User readings@example.test
Pass secret
SSLType None
AuthMechs LOGIN

IMAPStore far
Account bench

MaildirStore near
Path $state/mbsync/
Inbox $state/mbsync/INBOX

Channel bench
Far :far:
Near :near:
Patterns INBOX
Create Near
Sync Pull
SyncState *
RC
t0=$(now); mbsync -c "$state/mbsyncrc" -q bench >"$state/mbsync.log" 2>&1 || { echo "mbsync failed:" >&2; tail -5 "$state/mbsync.log" >&2; }; t1=$(now)
mbsync_s=$(elapsed "$t0" "$t1")
mbsync_n=$(find "$state/mbsync/INBOX" -type f -path '*/new/*' -o -type f -path '*/cur/*' | wc -l)

chown -R "$DOVECOT_MAIL_USER" "$state/getmail/Maildir"   # getmail refuses to deliver as root
cat >"$state/getmail/getmailrc" <<RC
[retriever]
type = SimpleIMAPRetriever
server = 127.0.0.1
port = $imap_far
username = readings@example.test
password = secret
mailboxes = ("INBOX",)

[destination]
type = Maildir
path = $state/getmail/Maildir/
user = $DOVECOT_MAIL_USER

[options]
read_all = true
delete = false
verbose = 0
max_messages_per_session = $fetchmail_limit
RC
t0=$(now); getmail --getmaildir "$state/getmail" --rcfile getmailrc >/dev/null 2>"$state/getmail.log" || { echo "getmail failed:" >&2; tail -5 "$state/getmail.log" >&2; }; t1=$(now)
getmail_s=$(elapsed "$t0" "$t1")
getmail_n=$(ls "$state/getmail/Maildir/new" | wc -l)

cat >"$state/fetchmailrc" <<RC
set no syslog
poll 127.0.0.1 service $imap_far protocol IMAP
  user "readings@example.test" password "secret"
  sslproto '' no sslcertck
  keep fetchall fetchlimit $fetchmail_limit
  mda "/bin/sh -c 'cat >/dev/null; echo x >>$state/fetchmail.count'"
RC
chmod 600 "$state/fetchmailrc"
t0=$(now); FETCHMAILHOME="$state" fetchmail -f "$state/fetchmailrc" --nodetach >"$state/fetchmail.log" 2>&1 || true; t1=$(now)
fetchmail_s=$(elapsed "$t0" "$t1")
fetchmail_n=$(wc -l <"$state/fetchmail.count" 2>/dev/null || echo 0)

# 3.–5. metergate.
config() { # NAME IMAP_PORT TRANSPORT(smtp|outbox) SMTP_PORT
    local transport
    if [[ $3 == smtp ]]; then
        transport="smtp:
  url: smtp://127.0.0.1:$4
  from: \"Показания <readings@example.test>\"
  connections: $smtp_connections"
    else
        transport="outbox:
  path: $state/$1-outbox
smtp:
  from: \"Показания <readings@example.test>\""
    fi
    cat >"$state/$1.yaml" <<YAML
store:
  path: $state/$1.sqlite
policy:
  max_messages_per_sender_per_hour: 20
mailboxes:
  - name: bench
    url: imap://127.0.0.1:$2/INBOX
    username: readings@example.test
    password: secret
    after: seen
sms: []
$transport
log:
  format: json
  level: info
YAML
    "$bin" accounts import "$state/accounts.csv" --config "$state/$1.yaml" >/dev/null
}
sink_count() { ls "$SMTP_SINK_MAIL" | grep -c '\.eml$' || true; }
first_reply_at() { python3 -c 'import json,sys; print(min(json.loads(l)["received_at"] for l in open(sys.argv[1])))' "$SMTP_SINK_STATE/messages.jsonl" 2>/dev/null || echo 0; }
run_once() { # NAME → start, wall seconds, seconds until the last message was recorded (json log, 1 s resolution), CPU seconds (user+sys)
    local t0 t1
    t0=$(now); /usr/bin/time -f '%U %S' -o "$state/$1.cpu" "$bin" run --once --config "$state/$1.yaml" 2>"$state/$1.log" || echo "run $1 failed: $(tail -2 "$state/$1.log")" >&2; t1=$(now)
    echo "$t0 $(elapsed "$t0" "$t1") $(recorded_after "$state/$1.log") $(awk '{printf "%.2f", $1 + $2}' "$state/$1.cpu")"
}
# The sink's own ceiling at this moment (it fsyncs each message twice before answering): python
# smtplib over SMTP_CONNECTIONS loopback connections at once, MAILS small messages.
sink_ceiling() {
    python3 - "$SMTP_SINK_PORT" "$mails" "$smtp_connections" <<'PY'
import smtplib, sys, threading, time
port, total, connections = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
message = b"From: <readings@example.test>\r\nTo: <ceiling@example.org>\r\nSubject: ceiling\r\n\r\n" + b"x" * 600 + b"\r\n"
def worker(count):
    s = smtplib.SMTP("127.0.0.1", port)
    for _ in range(count):
        s.sendmail("readings@example.test", ["ceiling@example.org"], message)
    s.quit()
t = time.monotonic()
threads = [threading.Thread(target=worker, args=(total // connections + (i < total % connections),)) for i in range(connections)]
for th in threads: th.start()
for th in threads: th.join()
print(f"{time.monotonic() - t:.2f}")
PY
}
recorded_after() {
    python3 - "$1" <<'PY'
import json, sys, datetime
times = []; last = None
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    try: o = json.loads(line)
    except Exception: continue
    t = datetime.datetime.fromisoformat(o["time"].replace("Z", "+00:00")).timestamp()
    times.append(t)
    if "id" in o and o.get("feed"): last = t
print(f"{last - times[0]:.0f}" if last else "?")
PY
}

config wan-outbox "$imap_far" outbox
read -r _ wan_outbox_s wan_outbox_rec wan_outbox_cpu <<<"$(run_once wan-outbox)"
wan_outbox_files=$(ls "$state/wan-outbox-outbox" | wc -l)

config wan-smtp "$imap_far" smtp "$smtp_far"
before=$(sink_count)
: >"$SMTP_SINK_STATE/messages.jsonl"
read -r wan_smtp_t0 wan_smtp_s wan_smtp_rec wan_smtp_cpu <<<"$(run_once wan-smtp)"
wan_replies=$(( $(sink_count) - before ))
first_reply_s=$(echo "$(first_reply_at) - $wan_smtp_t0" | bc -l | xargs printf '%.2f')

config lo-outbox "$DOVECOT_IMAP_PORT" outbox
read -r _ lo_outbox_s lo_outbox_rec lo_outbox_cpu <<<"$(run_once lo-outbox)"
lo_outbox_files=$(ls "$state/lo-outbox-outbox" | wc -l)

config lo-smtp "$DOVECOT_IMAP_PORT" smtp "$SMTP_SINK_PORT"
before=$(sink_count)
read -r _ lo_smtp_s lo_smtp_rec lo_smtp_cpu <<<"$(run_once lo-smtp)"
lo_replies=$(( $(sink_count) - before ))
sink_s=$(sink_ceiling)

cat <<MD | tee -a "${RESULTS:-/dev/null}"

## E-mail over a 30 ms link: $mails mails (Benchmarks/mail-wan.sh)

$(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD), $(nproc) cores, load average $load_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end,
$(curl --version | head -1 | cut -d' ' -f1-2), Dovecot $(dovecot --version | cut -d' ' -f1), metergate binary $(realpath --relative-to="$root" "$bin").
scripts/peers/pace-proxy.py between client and server: ${delay} ms each way, 16 KiB segments, no pacing gap.
All runs in this one script run, on the same mailbox.

| client | wall | mails/s | result |
|---|---|---|---|
| link limit: one \`UID FETCH 1:* (BODY.PEEK[])\` (imaplib) | $link_s s | $(rate "$link_n" "$link_s") | $link_n messages |
| mbsync $(dpkg-query -W -f='${Version}' isync) → Maildir (download only, pipelined) | $mbsync_s s | $(rate "$mbsync_n" "$mbsync_s") | $mbsync_n messages |
| getmail6 $(dpkg-query -W -f='${Version}' getmail6) IMAP → Maildir (download only, first $fetchmail_limit mails) | $getmail_s s | $(rate "$getmail_n" "$getmail_s") | $getmail_n messages |
| fetchmail $(dpkg-query -W -f='${Version}' fetchmail) IMAP → MDA (download only, first $fetchmail_limit mails) | $fetchmail_s s | $(rate "$fetchmail_n" "$fetchmail_s") | $fetchmail_n messages |
| metergate \`run --once\`, 1 IMAP connection, replies to the **file outbox** | $wan_outbox_s s | $(rate "$mails" "$wan_outbox_s") | $wan_outbox_files reply files; all recorded ~$wan_outbox_rec s after the start; metergate CPU $wan_outbox_cpu s |
| metergate \`run --once\`, 1 IMAP connection, **SMTP replies** over the link ($smtp_connections connections) | $wan_smtp_s s | $(rate "$mails" "$wan_smtp_s") | $wan_replies replies; first reply $first_reply_s s after the start; all recorded ~$wan_smtp_rec s; metergate CPU $wan_smtp_cpu s |
| loopback: metergate, replies to the file outbox | $lo_outbox_s s | $(rate "$mails" "$lo_outbox_s") | $lo_outbox_files reply files; all recorded ~$lo_outbox_rec s; metergate CPU $lo_outbox_cpu s |
| loopback: metergate, SMTP replies ($smtp_connections connections) | $lo_smtp_s s | $(rate "$mails" "$lo_smtp_s") | $lo_replies replies; all recorded ~$lo_smtp_rec s; metergate CPU $lo_smtp_cpu s |
| loopback: the sink's ceiling, python smtplib, $smtp_connections connections, $mails small mails | $sink_s s | $(rate "$mails" "$sink_s") | peer ceiling (the sink fsyncs each mail twice before its answer) |
MD
