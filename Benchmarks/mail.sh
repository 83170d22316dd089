#!/usr/bin/env bash
# E-mail benchmark: MAILS generated mails (default 10,000) delivered into a private Dovecot, then
#   1. `metergate run --once` over IMAP answering every mail through SMTP (aiosmtpd sink); replies
#      go out over 4 SMTP connections while the mailbox is still being fetched,
#   2. the same over IMAP with replies written to the file outbox (the SMTP sink out of the way),
#   3. getmail6 downloading the same mailbox into a Maildir (Debian's getmail6), for comparison.
# Prints a Markdown section (also appended to $RESULTS when set). Release build; loopback only.
# usage: Benchmarks/mail.sh        knobs: MAILS, SKIP_BUILD=1, BIN=path/to/metergate, RESULTS=Benchmarks/results.md
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
mails=${MAILS:-10000}
# BIN=path runs another build (e.g. a release build in a scratch path of its own).
[[ "${SKIP_BUILD:-}" == 1 || -n "${BIN:-}" ]] || swift build -c release --product metergate >&2
bin=${BIN:-$root/.build/release/metergate}
scripts/ensure-packages.sh dovecot-imapd dovecot-pop3d dovecot-lmtpd openssl python3-aiosmtpd getmail6 >&2

state=$(mktemp -d /tmp/metergate-mail-bench-XXXXXX)
chmod 755 "$state"
cleanup() {
    scripts/peers/smtp-sink-down.sh "$state/sink" || true
    scripts/peers/dovecot-down.sh "$state/dovecot" || true
    rm -rf "$state"
}
trap cleanup EXIT
eval "$(scripts/peers/dovecot-up.sh "$state/dovecot")"
eval "$(scripts/peers/smtp-sink-up.sh "$state/sink")"
cp Tests/MetergateTests/Fixtures/accounts.csv "$state/accounts.csv"

now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc -l | xargs printf '%.2f'; }

config() { # NAME USER PASSWORD TRANSPORT(smtp|outbox)
    local transport
    if [[ $4 == smtp ]]; then
        transport="smtp:
  url: smtp://127.0.0.1:$SMTP_SINK_PORT
  from: \"Показания <readings@example.test>\""
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
    url: imap://127.0.0.1:$DOVECOT_IMAP_PORT/INBOX
    username: $2
    password: $3
    after: seen
sms: []
$transport
log:
  format: json
  level: info
YAML
    "$bin" accounts import "$state/accounts.csv" --config "$state/$1.yaml" >/dev/null
}

# Two mailboxes with the same generated mail: one for the SMTP run, one for the outbox run.
t0=$(now)
scripts/peers/mail-deliver.py --state "$state/dovecot" --user readings@example.test --generate "$mails" >/dev/null
scripts/peers/mail-deliver.py --state "$state/dovecot" --user second@example.test --generate "$mails" >/dev/null
curl -s "imap://127.0.0.1:$DOVECOT_IMAP_PORT/" -u readings@example.test:secret -X 'STATUS INBOX (MESSAGES)' >/dev/null
curl -s "imap://127.0.0.1:$DOVECOT_IMAP_PORT/" -u second@example.test:secret2 -X 'STATUS INBOX (MESSAGES)' >/dev/null
t1=$(now)
deliver_s=$(elapsed "$t0" "$t1")

config smtp readings@example.test secret smtp
# CPU seconds of each side of the SMTP run: metergate, Dovecot (its exited imap children are
# counted in the master's cutime/cstime), the sink.
ticks() { awk '{print $14+$15+$16+$17}' "/proc/$1/stat"; }
cpu_s() { echo "$1 / $(getconf CLK_TCK)" | bc -l | xargs printf '%.1f'; }
dovecot_pid=$(tr -dc 0-9 <"$state/dovecot/run/master.pid")
sink_pid=$(tr -dc 0-9 <"$state/sink/smtp-sink.pid")
dovecot0=$(ticks "$dovecot_pid"); sink0=$(ticks "$sink_pid"); load_before=$(cut -d' ' -f1-3 /proc/loadavg)
t0=$(now); /usr/bin/time -o "$state/smtp.time" -f '%U %S' "$bin" run --once --config "$state/smtp.yaml" 2>"$state/smtp.log"; t1=$(now)
smtp_s=$(elapsed "$t0" "$t1")
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
sleep 1   # the imap processes of the run's connections exit
dovecot_cpu=$(cpu_s "$(( $(ticks "$dovecot_pid") - dovecot0 ))"); sink_cpu=$(cpu_s "$(( $(ticks "$sink_pid") - sink0 ))")
metergate_cpu=$(awk '{printf "%.1f", $1 + $2}' "$state/smtp.time")
replies=$(ls "$SMTP_SINK_MAIL" | grep -c '\.eml$' || true)
t0=$(now); "$bin" run --once --config "$state/smtp.yaml" 2>>"$state/smtp.log"; t1=$(now)
again_s=$(elapsed "$t0" "$t1")
again_replies=$(ls "$SMTP_SINK_MAIL" | grep -c '\.eml$' || true)

config outbox second@example.test secret2 outbox
t0=$(now); "$bin" run --once --config "$state/outbox.yaml" 2>"$state/outbox.log"; t1=$(now)
outbox_s=$(elapsed "$t0" "$t1")
outbox_files=$(ls "$state/outbox-outbox" | wc -l)

# getmail6 over the same mailbox (read_all: every message, like our first run).
mkdir -p "$state/getmail/Maildir/new" "$state/getmail/Maildir/cur" "$state/getmail/Maildir/tmp"
chown -R "$DOVECOT_MAIL_USER" "$state/getmail/Maildir"   # getmail refuses to deliver as root
cat >"$state/getmail/getmailrc" <<RC
[retriever]
type = SimpleIMAPRetriever
server = 127.0.0.1
port = $DOVECOT_IMAP_PORT
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
RC
t0=$(now); getmail --getmaildir "$state/getmail" --rcfile getmailrc >/dev/null 2>"$state/getmail.log" || { echo "getmail failed:" >&2; tail -5 "$state/getmail.log" >&2; }; t1=$(now)
getmail_s=$(elapsed "$t0" "$t1")
getmail_n=$(ls "$state/getmail/Maildir/new" | wc -l)
[[ "$getmail_n" == "$mails" ]] || { echo "getmail fetched $getmail_n of $mails:" >&2; tail -3 "$state/getmail.log" >&2; }

rate() { echo "$1 / $2" | bc -l | xargs printf '%.0f'; }
# Phases of a run from its json log (1 s resolution): start, last message recorded, end.
phases() {
    /usr/bin/python3 - "$1" <<'PY'
import json, sys, datetime
times = []; last_message = None
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    try: o = json.loads(line)
    except Exception: continue
    t = datetime.datetime.fromisoformat(o["time"].replace("Z", "+00:00")).timestamp()
    times.append(t)
    if "id" in o and o.get("feed"): last_message = t
print(f"{last_message - times[0]:.0f} {times[-1] - last_message:.0f}" if last_message else "0 0")
PY
}
read -r smtp_poll smtp_send <<<"$(phases "$state/smtp.log")"
# The sink's own ceiling: python smtplib sending the same number of small mails over one
# connection, then over 4 connections at once (4 processes), as metergate does.
ceiling() { # CONNECTIONS
    /usr/bin/python3 - "$SMTP_SINK_PORT" "$mails" "$1" <<'PY'
import smtplib, sys
from multiprocessing import Process
port, n, k = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
def send(part):
    with smtplib.SMTP("127.0.0.1", port) as s:
        for i in range(part, n, k):
            s.sendmail("r@example.test", [f"ceiling{i}@example.org"], f"Subject: ceiling {i}\r\n\r\nbody\r\n".encode())
workers = [Process(target=send, args=(p,)) for p in range(k)]
for w in workers: w.start()
for w in workers: w.join()
PY
}
t0=$(now); ceiling 1; t1=$(now)
sink_s=$(elapsed "$t0" "$t1")
t0=$(now); ceiling 4; t1=$(now)
sink4_s=$(elapsed "$t0" "$t1")
cat <<MD | tee -a "${RESULTS:-/dev/null}"

## E-mail channel: $mails mails over IMAP (Benchmarks/mail.sh)

$(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD), $(nproc) cores, $(curl --version | head -1 | cut -d' ' -f1-2), Dovecot $(dovecot --version | cut -d' ' -f1), release build.
Generated text/plain mails (one UIN and a reading each) written into the Maildirs of a private Dovecot
on 127.0.0.1 ($deliver_s s for both mailboxes, indexing included).

| run | wall | mails/s | result |
|---|---|---|---|
| \`run --once\`, IMAP fetch + process + ledger + **SMTP reply** to aiosmtpd (first fetch to last reply accepted) | $smtp_s s | $(rate "$mails" "$smtp_s") | $replies replies at the sink |
| … of which: until the last message was logged (replies going out meanwhile) / the replies after it | ~${smtp_poll} s / ~${smtp_send} s | ~$(rate "$mails" "$smtp_poll") / — | from the json log (1 s resolution) |
| … CPU of that run: metergate / Dovecot / sink | $metergate_cpu s / $dovecot_cpu s / $sink_cpu s | — | load average $load_before before, $load_after after |
| aiosmtpd sink ceiling: python smtplib, one connection, $mails small mails | $sink_s s | $(rate "$mails" "$sink_s") | peer ceiling (2 fsyncs per mail) |
| aiosmtpd sink ceiling: python smtplib, 4 connections at once (4 processes) | $sink4_s s | $(rate "$mails" "$sink4_s") | peer ceiling with metergate's connection count |
| same store again (nothing new) | $again_s s | — | $((again_replies - replies)) new replies |
| \`run --once\`, IMAP + process + ledger, replies to the **file outbox** | $outbox_s s | $(rate "$mails" "$outbox_s") | $outbox_files reply files |
| getmail6 $(dpkg-query -W -f='${Version}' getmail6), same mailbox → Maildir (download only) | $getmail_s s | $(rate "$getmail_n" "$getmail_s") | $getmail_n messages |
MD
