#!/usr/bin/env bash
# Starts the SMTP sink (smtp-sink.py, aiosmtpd) on 127.0.0.1 with its files under STATE; prints
# KEY=VALUE settings (also kept in STATE/smtp-sink.env). PORT (or SMTP_SINK_PORT, or a free one);
# SMTP_SINK_TLS_PORT=auto|N adds implicit TLS (SMTPS). Received mail: STATE/mail/NNNNNN.eml.
# usage: scripts/peers/smtp-sink-up.sh STATE [PORT]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-mail.sh"
state=${1:?usage: smtp-sink-up.sh STATE [PORT]}
mkdir -p "$state"
state=$(cd "$state" && pwd)
if [[ -f "$state/smtp-sink.pid" ]] && alive "$(tr -dc 0-9 <"$state/smtp-sink.pid")" && [[ -f "$state/smtp-sink.env" ]]; then
    cat "$state/smtp-sink.env"
    exit 0
fi
python=${SMTP_SINK_PYTHON:-/usr/bin/python3}
"$python" -c 'import aiosmtpd' 2>/dev/null || { echo "smtp-sink-up: $python cannot import aiosmtpd (python3-aiosmtpd)" >&2; exit 2; }
read -r p1 p2 <<<"$(free_ports 2)"
port=${2:-${SMTP_SINK_PORT:-$p1}}
tls_port=${SMTP_SINK_TLS_PORT:-}
[[ "$tls_port" == auto ]] && tls_port=$p2
for p in $port $tls_port; do
    if port_taken "$p"; then echo "smtp-sink-up: port $p on 127.0.0.1 is taken" >&2; exit 1; fi
done
mkdir -p "$state/tls" "$state/mail"
if [[ ! -f "$state/tls/cert.pem" ]]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=localhost" \
        -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
        -keyout "$state/tls/key.pem" -out "$state/tls/cert.pem" 2>/dev/null
fi
SMTP_SINK_TLS_PORT=$tls_port setsid "$python" "$here/smtp-sink.py" "$state" "$port" </dev/null >"$state/smtp-sink.log" 2>&1 &
echo $! >"$state/smtp-sink.pid"
if ! wait_port "$port" 15; then
    echo "smtp-sink-up: the sink did not start; see $state/smtp-sink.log" >&2
    tail -5 "$state/smtp-sink.log" >&2 || true
    exit 1
fi
{
    echo "SMTP_SINK_STATE=$state"
    echo "SMTP_SINK_PORT=$port"
    [[ -n "$tls_port" ]] && echo "SMTP_SINK_TLS_PORT=$tls_port"
    echo "SMTP_SINK_CA_FILE=$state/tls/cert.pem"
    echo "SMTP_SINK_MAIL=$state/mail"
} >"$state/smtp-sink.env"
cat "$state/smtp-sink.env"
