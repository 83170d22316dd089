#!/usr/bin/python3
"""Delivers messages into the Dovecot that dovecot-up.sh started (reads STATE/dovecot.env).

  mail-deliver.py --state STATE [--user U] [--method maildir|lmtp] [--mailbox FOLDER] FILE|DIR...
  mail-deliver.py --state STATE --generate N [--first I] [--subject 'Reading {i}'] [--body '...'] [--from a@b]
  mail-deliver.py --state STATE --min-next-uid U [...]   (doveadm: the mailbox's next UIDs are U or more)

maildir: files written to Maildir/tmp, renamed into new/ (owned by the mail user; Dovecot assigns
UIDs at its next look), fast. lmtp: one LMTP transaction per message (the real delivery path).
A file's modification time becomes the message's INTERNALDATE: --date-from-header sets it from
the message's first Received:/Date: header. Loopback only.
"""
import argparse, email.utils, os, pwd, smtplib, socket, subprocess, sys, time

def env(state):
    values = {}
    with open(os.path.join(state, "dovecot.env")) as f:
        for line in f:
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                values[k] = v
    return values

def header_date(raw):
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0].decode("latin-1")
    unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ").replace("\n ", " ").replace("\n\t", " ")
    for line in unfolded.replace("\r", "").split("\n"):
        name, _, value = line.partition(":")
        if name.lower() == "received" and ";" in value:
            try: return email.utils.parsedate_to_datetime(value.rsplit(";", 1)[1].strip()).timestamp()
            except Exception: pass
    for line in unfolded.replace("\r", "").split("\n"):
        name, _, value = line.partition(":")
        if name.lower() == "date":
            try: return email.utils.parsedate_to_datetime(value.strip()).timestamp()
            except Exception: pass
    return None

def generated(args):
    for i in range(args.first, args.first + args.generate):
        serial = 1000000 + i
        sender = args.sender.format(i=i, serial=serial)
        subject = args.subject.format(i=i, serial=serial, value=10000 + i)
        body = args.body.format(i=i, serial=serial, value=10000 + i)
        msg = (f"From: {sender}\r\nTo: readings@example.test\r\nSubject: {subject}\r\n"
               f"Date: {email.utils.formatdate(localtime=True)}\r\nMessage-ID: <gen.{i}.{os.getpid()}.{time.time_ns()}@example.test>\r\n"
               f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n")
        yield msg.encode("utf-8")

def sources(paths):
    for path in paths:
        if os.path.isdir(path):
            for name in sorted(os.listdir(path)):
                full = os.path.join(path, name)
                if os.path.isfile(full):
                    with open(full, "rb") as f: yield f.read()
        else:
            with open(path, "rb") as f: yield f.read()

def main():
    p = argparse.ArgumentParser()
    p.add_argument("--state", required=True)
    p.add_argument("--user")
    p.add_argument("--method", choices=["maildir", "lmtp"], default="maildir")
    p.add_argument("--mailbox", default="INBOX")
    p.add_argument("--generate", type=int, default=0)
    p.add_argument("--first", type=int, default=1, help="number of the first generated message ({i})")
    p.add_argument("--min-next-uid", type=int, default=0,
                   help="before delivering: doveadm mailbox update --min-next-uid (high UIDs, as real providers have)")
    p.add_argument("--subject", default="Reading {i}")
    p.add_argument("--body", default="{serial} {value}")
    p.add_argument("--from", dest="sender", default="abonent{i}@example.org")
    p.add_argument("--date-from-header", action="store_true")
    p.add_argument("paths", nargs="*")
    args = p.parse_args()
    settings = env(args.state)
    user = args.user or settings["DOVECOT_USER"]
    if args.min_next_uid:
        conf = os.path.join(settings["DOVECOT_STATE"], "dovecot.conf")
        # The mailbox must exist (a user's INBOX does once Dovecot has looked at it).
        subprocess.run(["doveadm", "-c", conf, "mailbox", "status", "-u", user, "uidnext", args.mailbox],
                       check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["doveadm", "-c", conf, "mailbox", "update", "-u", user,
                        "--min-next-uid", str(args.min_next_uid), args.mailbox], check=True)
    messages = list(sources(args.paths)) + list(generated(args))
    if args.method == "lmtp":
        with smtplib.LMTP("127.0.0.1", int(settings["DOVECOT_LMTP_PORT"])) as lmtp:
            for raw in messages:
                lmtp.sendmail("sender@example.org", [user], raw)
    else:
        mail = pwd.getpwnam(settings.get("DOVECOT_MAIL_USER", "mail"))
        root = os.path.join(settings["DOVECOT_MAIL_ROOT"], user, "Maildir")
        if args.mailbox != "INBOX":
            root = os.path.join(root, "." + args.mailbox.replace("/", "."))
        made = []
        for sub in ("", "tmp", "new", "cur"):
            d = os.path.join(root, sub)
            if not os.path.isdir(d):
                os.makedirs(d, exist_ok=True)
                made.append(d)
        for d in made + [os.path.dirname(root.rstrip("/"))]:
            try: os.chown(d, mail.pw_uid, mail.pw_gid)
            except PermissionError: pass
        host = socket.gethostname().replace("/", "_").replace(":", "_")
        start = time.time()
        for n, raw in enumerate(messages):
            name = f"{int(start)}.M{n}P{os.getpid()}.{host}"
            tmp = os.path.join(root, "tmp", name)
            with open(tmp, "wb") as f: f.write(raw)
            when = header_date(raw) if args.date_from_header else None
            if when is not None: os.utime(tmp, (when, when))
            try: os.chown(tmp, mail.pw_uid, mail.pw_gid)
            except PermissionError: pass
            os.rename(tmp, os.path.join(root, "new", name))
    print(len(messages))

if __name__ == "__main__":
    main()
