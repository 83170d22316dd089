#!/usr/bin/env python3
"""A loopback HTTP proxy between Kannel's smsbox and metergate's /sms/kannel that can lose an
answer: Kannel's at-least-once delivery made visible. For a push whose `from` is listed in
STATE/lose-answer (one number a line, as Kannel's %p gives it), the push is forwarded and
metergate's answer replaced by 503, once per listed line; Kannel then retries the same message
(same %I) per http-request-retry. Everything else passes through unchanged.

  kannel_lossy_proxy.py STATE TARGET_PORT        (listens on a free port; writes
                                                  STATE/proxy.env PROXY_PORT=… and STATE/proxy.pid)
Each push is logged to STATE/proxy.log: from, metergate's status, the status Kannel got.
"""
import http.client, os, sys, threading, urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import signal

# Started from a test's worker thread, we may inherit blocked signals: SIGTERM must stop us.
signal.pthread_sigmask(signal.SIG_SETMASK, [])
signal.signal(signal.SIGTERM, signal.SIG_DFL)

state, target_port = sys.argv[1], int(sys.argv[2])
lock = threading.Lock()


def take_loss(sender):
    path = os.path.join(state, "lose-answer")
    with lock:
        try:
            with open(path, encoding="utf-8") as source:
                lines = [line.strip() for line in source if line.strip()]
        except FileNotFoundError:
            return False
        if sender not in lines:
            return False
        lines.remove(sender)
        with open(path + ".tmp", "w", encoding="utf-8") as sink:
            sink.write("".join(line + "\n" for line in lines))
        os.replace(path + ".tmp", path)
        return True


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def forward(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) if self.command == "POST" else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection", "content-length")}
        connection = http.client.HTTPConnection("127.0.0.1", target_port, timeout=120)
        try:
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            status, payload = response.status, response.read()
        except OSError:
            status, payload = 502, b"metergate unreachable\n"
        finally:
            connection.close()
        sender = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query).get("from", [""])[0]
        answered = status
        if status < 300 and take_loss(sender):
            answered, payload = 503, b"answer lost on purpose\n"
        with lock, open(os.path.join(state, "proxy.log"), "a", encoding="utf-8") as log:
            log.write(f"{sender} {status} {answered}\n")
        self.send_response(answered)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = forward


class Server(ThreadingHTTPServer):
    request_queue_size = 1024
    daemon_threads = True


server = Server(("127.0.0.1", 0), Proxy)
with open(os.path.join(state, "proxy.pid"), "w") as pid:
    pid.write(str(os.getpid()))
with open(os.path.join(state, "proxy.env.tmp"), "w") as env:
    env.write(f"PROXY_PORT={server.server_address[1]}\n")
os.replace(os.path.join(state, "proxy.env.tmp"), os.path.join(state, "proxy.env"))
server.serve_forever()
