#!/usr/bin/env bash
# Starts Kannel on 127.0.0.1 for the tests: bearerbox, smsbox and a long-running fakesmsc
# (kannel-extras) as the "phone" that receives every MT, all under STATE, each with a pid file.
#
#   kannel-up.sh STATE TARGET_URL
#
#   phone --(kannel-send.sh / kannel-send.py)--> fake SMSC "inject" --> bearerbox --> smsbox
#     --> GET TARGET_URL (metergate's /sms/kannel)
#   metergate --> sendsms --> smsbox --> bearerbox --> fake SMSC "phone" --> fakesmsc
#     --> STATE/fakesmsc.log (read with kannel-replies.py STATE)
#
# Prints KEY=VALUE settings (also saved in STATE/kannel.env). Ports are free ones picked at
# start unless set: KANNEL_ADMIN_PORT, KANNEL_SMSBOX_PORT, KANNEL_SENDSMS_PORT,
# KANNEL_PHONE_PORT, KANNEL_INJECT_PORT. Other knobs: KANNEL_MO_METHOD=get|post,
# KANNEL_HTTP_RETRY (2), KANNEL_HTTP_RETRY_DELAY (1 s), KANNEL_MAX_PENDING (512),
# KANNEL_MO_RECODE=1, KANNEL_SHORTCODE (1234). Running it again while Kannel runs prints the
# settings again. Stop with kannel-down.sh STATE (kills only the pids recorded here).
set -euo pipefail
state=${1:?usage: kannel-up.sh STATE TARGET_URL}
target=${2:?usage: kannel-up.sh STATE TARGET_URL}
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# free_ports N from the mail peers' helpers (below the ephemeral range, checked with a bind);
# the functions defined below (alive, wait_port) are this script's own.
source "$here/lib-mail.sh"
mkdir -p "$state"
state="$(cd "$state" && pwd)"
case "$target" in
    http://127.0.0.1[:/]*|http://localhost[:/]*|http://\[::1\][:/]*) ;;
    *) echo "kannel-up.sh: TARGET_URL must be on loopback: $target" >&2; exit 2 ;;
esac
for program in /usr/sbin/bearerbox /usr/sbin/smsbox /usr/lib/kannel/test/fakesmsc; do
    [[ -x "$program" ]] || { echo "kannel-up.sh: $program missing (install: kannel kannel-extras)" >&2; exit 3; }
done

# A pid file names a live process whose command line contains WORD.
alive() {
    local file=$1 word=$2 pid
    [[ -f "$file" ]] || return 1
    pid=$(cat "$file")
    [[ -n "$pid" && -r /proc/$pid/cmdline ]] || return 1
    [[ "$(awk '{print $3}' /proc/$pid/stat 2>/dev/null)" != Z ]] || return 1
    tr '\0' ' ' </proc/$pid/cmdline | grep -q -- "$word"
}

if alive "$state/bearerbox.pid" bearerbox && alive "$state/smsbox.pid" smsbox && alive "$state/fakesmsc.pid" fakesmsc; then
    cat "$state/kannel.env"
    exit 0
fi
"$here/kannel-down.sh" "$state" >/dev/null 2>&1 || true

read -r p1 p2 p3 p4 p5 < <(free_ports 5)
admin=${KANNEL_ADMIN_PORT:-$p1}
smsbox_port=${KANNEL_SMSBOX_PORT:-$p2}
sendsms=${KANNEL_SENDSMS_PORT:-$p3}
phone=${KANNEL_PHONE_PORT:-$p4}
inject=${KANNEL_INJECT_PORT:-$p5}
for port in "$admin" "$smsbox_port" "$sendsms" "$phone" "$inject"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "kannel-up.sh: port $port on 127.0.0.1 is already taken" >&2
        exit 4
    fi
done
shortcode=${KANNEL_SHORTCODE:-1234}
if [[ "${KANNEL_MO_METHOD:-get}" == post ]]; then url_line="post-url = \"$target\""; else url_line="get-url = \"$target\""; fi
[[ "${KANNEL_MO_RECODE:-0}" == 1 ]] && recode=true || recode=false

cat >"$state/kannel.conf" <<CONF
group = core
admin-port = $admin
admin-interface = 127.0.0.1
admin-password = admin-secret
admin-allow-ip = "127.0.0.1"
smsbox-port = $smsbox_port
smsbox-interface = 127.0.0.1
box-allow-ip = "127.0.0.1"
log-file = "$state/bearerbox.log"
log-level = 1
access-log = "$state/bearerbox-access.log"
sms-resend-freq = 1
dlr-storage = internal

group = smsc
smsc = fake
smsc-id = phone
port = $phone
our-host = 127.0.0.1
connect-allow-ip = "127.0.0.1"

group = smsc
smsc = fake
smsc-id = inject
port = $inject
our-host = 127.0.0.1
connect-allow-ip = "127.0.0.1"
allowed-smsc-id = inject

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = $smsbox_port
sendsms-port = $sendsms
sendsms-interface = 127.0.0.1
global-sender = $shortcode
log-file = "$state/smsbox.log"
log-level = 1
access-log = "$state/smsbox-access.log"
http-request-retry = ${KANNEL_HTTP_RETRY:-2}
http-queue-delay = ${KANNEL_HTTP_RETRY_DELAY:-1}
max-pending-requests = ${KANNEL_MAX_PENDING:-512}
mo-recode = $recode

group = sendsms-user
username = harness
password = harness-secret
default-sender = $shortcode
max-messages = 1
concatenation = false

group = sms-service
keyword = default
catch-all = true
$url_line
send-sender = true
max-messages = 0
omit-empty = true
CONF

[[ -f "$state/fakesmsc.log" ]] && mv -f "$state/fakesmsc.log" "$state/fakesmsc.log.prev"

wait_port() {
    local port=$1 seconds=$2 start=$SECONDS
    until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
        ((SECONDS - start < seconds)) || return 1
        sleep 0.05
    done
}
fail() {
    echo "kannel-up.sh: $1 (logs in $state)" >&2
    tail -5 "$state"/*.out >&2 2>/dev/null || true
    "$here/kannel-down.sh" "$state" >/dev/null 2>&1 || true
    exit 5
}

# Starts a daemon in its own session with no descriptor of ours but stdio (a caller that waits
# for this script through a pipe or socket, as Foundation's Process does, must not wait for
# Kannel) and no blocked signal (a caller's thread may block SIGTERM; kannel-down.sh needs it).
spawn() {
    local out=$1
    shift
    python3 -c 'import os, signal, sys; os.closerange(3, 65536); os.setsid(); signal.pthread_sigmask(signal.SIG_SETMASK, []); os.execv(sys.argv[1], sys.argv[1:])' "$@" \
        </dev/null >"$out" 2>&1 &
}
cd "$state"
spawn "$state/bearerbox.out" /usr/sbin/bearerbox -v 1 "$state/kannel.conf"
echo $! >"$state/bearerbox.pid"
wait_port "$smsbox_port" 15 || fail "bearerbox did not open its smsbox port $smsbox_port"
wait_port "$admin" 15 || fail "bearerbox did not open its admin port $admin"
spawn "$state/smsbox.out" /usr/sbin/smsbox -v 1 "$state/kannel.conf"
echo $! >"$state/smsbox.pid"
wait_port "$sendsms" 15 || fail "smsbox did not open its sendsms port $sendsms"
# The permanent "phone": sends nothing (-m 0), prints every MT it gets (debug level: -v 0).
spawn "$state/fakesmsc.log" /usr/lib/kannel/test/fakesmsc -H 127.0.0.1 -r "$phone" -m 0 -v 0 "0 0 text none"
echo $! >"$state/fakesmsc.pid"

# Ready when bearerbox sees the phone link online and the smsbox connected.
start=$SECONDS
until status=$(curl -s --max-time 2 "http://127.0.0.1:$admin/status.txt?password=admin-secret") \
        && grep -q "phone.*online" <<<"$status" && grep -qi "smsbox:.*on-line\|box connections:[^0]*smsbox" <<<"$status"; do
    ((SECONDS - start < 20)) || fail "Kannel not ready within 20 s: $(tr '\n' ' ' <<<"${status:-no status}" | cut -c1-400)"
    sleep 0.1
done

cat >"$state/kannel.env" <<ENV
KANNEL_STATE=$state
KANNEL_ADMIN_PORT=$admin
KANNEL_SMSBOX_PORT=$smsbox_port
KANNEL_SENDSMS_PORT=$sendsms
KANNEL_SENDSMS_URL=http://127.0.0.1:$sendsms/cgi-bin/sendsms
KANNEL_SENDSMS_USER=harness
KANNEL_SENDSMS_PASSWORD=harness-secret
KANNEL_PHONE_PORT=$phone
KANNEL_INJECT_PORT=$inject
KANNEL_SHORTCODE=$shortcode
ENV
cat "$state/kannel.env"
