#!/usr/bin/env bash
# Starts a private Dovecot (IMAP + STARTTLS, IMAPS, POP3 + STLS, POP3S, LMTP) on 127.0.0.1 with
# its files under STATE: a self-signed certificate (STATE/tls/cert.pem, CN=localhost, SAN
# localhost + 127.0.0.1), passwd-file users (STATE/users), Maildirs (STATE/mail/USER/Maildir).
# Prints KEY=VALUE settings (also kept in STATE/dovecot.env). Ports: DOVECOT_IMAP_PORT,
# DOVECOT_IMAPS_PORT, DOVECOT_POP3_PORT, DOVECOT_POP3S_PORT, DOVECOT_LMTP_PORT, or free ones.
# Users: DOVECOT_USERS="user:pass user2:pass2" (default readings@example.test:secret
# second@example.test:secret2). Running it again while Dovecot runs prints the settings again.
# usage: scripts/peers/dovecot-up.sh STATE
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-mail.sh"
state=${1:?usage: dovecot-up.sh STATE}
mkdir -p "$state"
state=$(cd "$state" && pwd)
command -v dovecot >/dev/null || { echo "dovecot is not installed (scripts/peers/mail.packages)" >&2; exit 2; }

if [[ -f "$state/run/master.pid" ]] && alive "$(tr -dc 0-9 <"$state/run/master.pid")" && [[ -f "$state/dovecot.env" ]]; then
    cat "$state/dovecot.env"
    exit 0
fi

# The mail user must reach STATE (Dovecot refuses to access mail as root).
mail_user=mail
if [[ $(id -u) -ne 0 ]]; then mail_user=$(id -un); fi
chmod 755 "$state"
check=$state
while [[ "$check" != / ]]; do
    if [[ $(id -u) -eq 0 ]] && ! su -s /bin/sh "$mail_user" -c "test -x '$check'" 2>/dev/null; then
        echo "dovecot-up: $check is not reachable by the user '$mail_user'; use a state folder under /tmp" >&2
        exit 2
    fi
    check=$(dirname "$check")
done

read -r p1 p2 p3 p4 p5 <<<"$(free_ports 5)"
imap=${DOVECOT_IMAP_PORT:-$p1}; imaps=${DOVECOT_IMAPS_PORT:-$p2}
pop3=${DOVECOT_POP3_PORT:-$p3}; pop3s=${DOVECOT_POP3S_PORT:-$p4}; lmtp=${DOVECOT_LMTP_PORT:-$p5}
for port in "$imap" "$imaps" "$pop3" "$pop3s" "$lmtp"; do
    if port_taken "$port"; then echo "dovecot-up: port $port on 127.0.0.1 is taken" >&2; exit 1; fi
done

mkdir -p "$state/tls" "$state/run" "$state/lib" "$state/mail"
if [[ ! -f "$state/tls/cert.pem" ]]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=localhost" \
        -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
        -keyout "$state/tls/key.pem" -out "$state/tls/cert.pem" 2>/dev/null
fi
users=${DOVECOT_USERS:-"readings@example.test:secret second@example.test:secret2"}
: >"$state/users"
for entry in $users; do
    echo "${entry%%:*}:{PLAIN}${entry#*:}::::::" >>"$state/users"
done
chown -R "$mail_user" "$state/mail"
uid=$(id -u "$mail_user")

extra=""
if [[ $(id -u) -ne 0 ]]; then
    group=$(id -gn)
    extra="default_internal_user = $mail_user
default_login_user = $mail_user
default_internal_group = $group
service imap-login { chroot = }
service pop3-login { chroot = }"
fi

cat >"$state/dovecot.conf" <<CONF
# Written by scripts/peers/dovecot-up.sh; never reads /etc/dovecot.
base_dir = $state/run
state_dir = $state/lib
instance_name = metergate-$(echo "$state" | md5sum | cut -c1-8)
listen = 127.0.0.1
protocols = imap pop3 lmtp
log_path = $state/dovecot.log
ssl = yes
ssl_cert = <$state/tls/cert.pem
ssl_key = <$state/tls/key.pem
ssl_dh = </usr/share/dovecot/dh.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = $uid
mail_location = maildir:$state/mail/%u/Maildir
mail_fsync = never
mail_max_userip_connections = 50
pop3_uidl_format = %08Xu%08Xv
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $state/users
}
userdb {
  driver = static
  args = uid=$mail_user gid=$(id -gn "$mail_user") home=$state/mail/%u
}
namespace inbox {
  inbox = yes
  separator = /
  mailbox Drafts {
    special_use = \\Drafts
    auto = subscribe
  }
  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
  mailbox Trash {
    special_use = \\Trash
    auto = subscribe
  }
  mailbox Junk {
    special_use = \\Junk
    auto = create
  }
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $imap
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $imaps
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = $pop3
  }
  inet_listener pop3s {
    address = 127.0.0.1
    port = $pop3s
    ssl = yes
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $lmtp
  }
  unix_listener lmtp {
    mode = 0666
  }
}
protocol lmtp {
  postmaster_address = postmaster@example.test
}
$extra
CONF

setsid dovecot -c "$state/dovecot.conf" </dev/null >"$state/dovecot.out" 2>&1
if ! wait_port "$imap" 10 || ! wait_port "$pop3" 5; then
    echo "dovecot-up: Dovecot did not start; see $state/dovecot.log and $state/dovecot.out" >&2
    tail -5 "$state/dovecot.log" "$state/dovecot.out" >&2 || true
    exit 1
fi
first=${users%% *}
cat >"$state/dovecot.env" <<ENV
DOVECOT_STATE=$state
DOVECOT_IMAP_PORT=$imap
DOVECOT_IMAPS_PORT=$imaps
DOVECOT_POP3_PORT=$pop3
DOVECOT_POP3S_PORT=$pop3s
DOVECOT_LMTP_PORT=$lmtp
DOVECOT_CA_FILE=$state/tls/cert.pem
DOVECOT_USER=${first%%:*}
DOVECOT_PASSWORD=${first#*:}
DOVECOT_MAIL_ROOT=$state/mail
DOVECOT_MAIL_USER=$mail_user
ENV
cat "$state/dovecot.env"
