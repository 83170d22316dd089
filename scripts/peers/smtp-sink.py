#!/usr/bin/python3
"""An SMTP server that keeps every message it receives (aiosmtpd; Debian's python3-aiosmtpd).

  smtp-sink.py STATE PORT

For message N it writes STATE/mail/NNNNNN.json (envelope) then STATE/mail/NNNNNN.eml (the raw
bytes as received, CRLF, dot-unstuffed), each atomically, and appends a line to
STATE/messages.jsonl. STARTTLS is offered (self-signed cert in STATE/tls); SMTP_SINK_TLS_PORT adds
an implicit-TLS listener. AUTH PLAIN/LOGIN accepted with any credentials unless SMTP_SINK_USER and
SMTP_SINK_PASSWORD pin them. Faults for tests: SMTP_SINK_FAIL_RCPT=REGEX (550 for matching
recipients), SMTP_SINK_TEMPFAIL_RCPT=REGEX (451), SMTP_SINK_FAIL_EVERY=N (every Nth DATA: 451).
PIPELINING (RFC 2920) is advertised unless SMTP_SINK_NO_PIPELINING=1.
"""
import asyncio, concurrent.futures, json, os, re, ssl, sys, time, warnings, logging
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword, SMTP

warnings.filterwarnings("ignore")
logging.getLogger("mail.log").setLevel(logging.ERROR)

state, port = sys.argv[1], int(sys.argv[2])
maildir = os.path.join(state, "mail")
os.makedirs(maildir, exist_ok=True)
fail_rcpt = os.environ.get("SMTP_SINK_FAIL_RCPT")
temp_rcpt = os.environ.get("SMTP_SINK_TEMPFAIL_RCPT")
fail_every = int(os.environ.get("SMTP_SINK_FAIL_EVERY", "0") or 0)
user, password = os.environ.get("SMTP_SINK_USER"), os.environ.get("SMTP_SINK_PASSWORD")

def next_number():
    numbers = [int(n.split(".")[0]) for n in os.listdir(maildir) if n.endswith(".json")]
    return max(numbers, default=0) + 1

writers = concurrent.futures.ThreadPoolExecutor(max_workers=16)

class Handler:
    def __init__(self):
        self.count = next_number() - 1
        self.data_commands = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        # aiosmtpd reads pipelined commands in order but does not say so: RFC 2920 PIPELINING
        # is advertised unless SMTP_SINK_NO_PIPELINING=1.
        session.host_name = hostname
        if os.environ.get("SMTP_SINK_NO_PIPELINING") != "1":
            responses.insert(len(responses) - 1, "250-PIPELINING")
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if fail_rcpt and re.search(fail_rcpt, address):
            return "550 5.1.1 recipient rejected by the sink"
        if temp_rcpt and re.search(temp_rcpt, address):
            return "451 4.3.0 recipient temporarily rejected by the sink"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.data_commands += 1
        if fail_every and self.data_commands % fail_every == 0:
            return "451 4.3.0 temporary failure (SMTP_SINK_FAIL_EVERY)"
        self.count += 1
        n = f"{self.count:06d}"
        meta = {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                "mail_options": envelope.mail_options, "rcpt_options": envelope.rcpt_options,
                "smtputf8": envelope.smtp_utf8, "peer": str(session.peer), "helo": session.host_name,
                "auth_user": (session.login_data.decode() if isinstance(session.login_data, bytes) else session.login_data),
                "tls": session.ssl is not None, "size": len(envelope.original_content or envelope.content),
                "received_at": time.time()}
        count, content = self.count, envelope.original_content or envelope.content

        def keep():
            for suffix, data in ((".json", json.dumps(meta).encode()), (".eml", content)):
                tmp = os.path.join(maildir, "." + n + suffix + ".tmp")
                with open(tmp, "wb") as f:
                    f.write(data); f.flush(); os.fsync(f.fileno())
                os.rename(tmp, os.path.join(maildir, n + suffix))
            with open(os.path.join(state, "messages.jsonl"), "a") as f:
                f.write(json.dumps(dict(meta, n=count)) + "\n")

        # Durable before the answer, as a real server is; the fsyncs run on worker threads, so
        # the connections' messages are synced side by side, not one after another on the loop.
        await asyncio.get_running_loop().run_in_executor(writers, keep)
        return "250 2.0.0 OK: queued as " + n

def authenticator(server, session, envelope, mechanism, auth_data):
    if isinstance(auth_data, LoginPassword):
        if user is None or (auth_data.login.decode() == user and auth_data.password.decode() == password):
            session.login_data = auth_data.login
            return AuthResult(success=True)
    return AuthResult(success=False, handled=False)

tls_dir = os.path.join(state, "tls")
context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(os.path.join(tls_dir, "cert.pem"), os.path.join(tls_dir, "key.pem"))

class SinkController(Controller):
    def factory(self):
        return SMTP(self.handler, hostname="sink.example.test", tls_context=context, require_starttls=False,
                    authenticator=authenticator, auth_require_tls=False, auth_exclude_mechanism=["CRAM-MD5"],
                    enable_SMTPUTF8=True, decode_data=False)

handler = Handler()
controllers = [SinkController(handler, hostname="127.0.0.1", port=port, data_size_limit=64 << 20)]
tls_port = os.environ.get("SMTP_SINK_TLS_PORT")
if tls_port:
    class ImplicitTLS(Controller):
        def factory(self):
            return SMTP(self.handler, hostname="sink.example.test", authenticator=authenticator,
                        auth_require_tls=False, enable_SMTPUTF8=True, decode_data=False)
    controllers.append(ImplicitTLS(handler, hostname="127.0.0.1", port=int(tls_port), ssl_context=context,
                                   data_size_limit=64 << 20))
for c in controllers: c.start()
print("ready", flush=True)
try:
    while True: time.sleep(3600)
except KeyboardInterrupt:
    pass
finally:
    for c in controllers: c.stop()
