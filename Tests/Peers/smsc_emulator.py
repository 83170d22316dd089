#!/usr/bin/env python3
"""A small emulator of the SMSC.ru HTTP API calls metergate uses (documented at
https://smsc.ru/api/http/): receive with `get_answers`, send with `send.php`. Stdlib only,
loopback only, for the tests (no real provider is reachable here).

  smsc_emulator.py STATE [--port 0] [--login test --password secret] [--tls CERT KEY]

Writes STATE/smsc.env (SMSC_PORT=…, SMSC_URL=…) once listening and STATE/smsc.pid.

Documented calls (GET or POST form, `fmt=3` JSON answers):
  /sys/get.php?get_answers=1&login&psw[&after_id=N][&hour=H]
      -> [{"id", "received", "phone", "message", "to_phone", "sent"}], oldest first; with
         after_id: answers with a greater id (at most --page, default 100); without: those of
         the last `hour` hours (default 1). Times as `dd.mm.yyyy hh:mm:ss`, Moscow time.
  /sys/send.php?login&psw&phones&mes&charset=utf-8&fmt=3
      -> {"id", "cnt"}; errors {"error", "error_code"}: 1 parameters, 2 login/password,
         7 phone number format, 9 the same request (login, phones, mes, id) within a minute.
Test helpers (no auth):
  POST /emulator/inject  {"from","text"[,"to"][,"duplicate": true]} or a list -> {"ids": [...]}
                          (duplicate: the same answer, same id, is listed twice)
  GET  /emulator/sent     -> every sent message {"id","phones","mes","cnt","coding","sent_at"}
  GET  /emulator/answers  -> every received message
  POST /emulator/fail     {"send_error": N, "count": K} or {"http_status": S, "count": K}:
                          the next K get/send calls fail that way
State persists in STATE/answers.jsonl and STATE/sent.jsonl across restarts.
"""
import argparse, json, math, os, ssl, sys, threading, time, urllib.parse
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import signal

# Started from a test's worker thread, we may inherit blocked signals: SIGTERM must stop us.
signal.pthread_sigmask(signal.SIG_SETMASK, [])
signal.signal(signal.SIGTERM, signal.SIG_DFL)

MOSCOW = timezone(timedelta(hours=3))
GSM = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM_EXT = set("^{}\\[~]|€\f")


def segments(text):
    if all(c in GSM or c in GSM_EXT for c in text):
        length = sum(2 if c in GSM_EXT else 1 for c in text)
        return "gsm7", 1 if length <= 160 else math.ceil(length / 153)
    length = len(text.encode("utf-16-be")) // 2
    return "ucs2", 1 if length <= 70 else math.ceil(length / 67)


class Store:
    def __init__(self, state):
        self.state = state
        self.lock = threading.Lock()
        self.answers = self._load("answers.jsonl")
        self.sent = self._load("sent.jsonl")
        self.faults = []  # list of dicts consumed one per call
        self.recent = {(i.get("login"), i["phones"], i["mes"], i.get("req_id", "")): i["sent_at"] for i in self.sent}

    def _load(self, name):
        path = os.path.join(self.state, name)
        if not os.path.exists(path):
            return []
        with open(path, encoding="utf-8") as source:
            return [json.loads(line) for line in source if line.strip()]

    def _append(self, name, item):
        with open(os.path.join(self.state, name), "a", encoding="utf-8") as sink:
            sink.write(json.dumps(item, ensure_ascii=False) + "\n")
            sink.flush()
            os.fsync(sink.fileno())


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    store = None
    login = None
    password = None
    page = 100

    def log_message(self, *args):
        pass

    def _params(self):
        url = urllib.parse.urlsplit(self.path)
        params = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        body = b""
        if self.command == "POST":
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
                params.update(urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        return url.path, params, body

    def _send(self, status, payload):
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = lambda self: self._handle()

    def _fault(self):
        with self.store.lock:
            if self.store.faults:
                fault = self.store.faults[0]
                fault["count"] -= 1
                if fault["count"] <= 0:
                    self.store.faults.pop(0)
                return fault
        return None

    def _handle(self):
        path, params, body = self._params()
        store = self.store
        if path == "/emulator/inject" and self.command == "POST":
            items = json.loads(body or b"[]")
            items = items if isinstance(items, list) else [items]
            ids = []
            with store.lock:
                for item in items:
                    now = datetime.now(MOSCOW).strftime("%d.%m.%Y %H:%M:%S")
                    answer = {"id": (store.answers[-1]["id"] if store.answers else 0) + 1, "received": now, "phone": item["from"],
                              "message": item["text"], "to_phone": item.get("to", "79001112233"), "sent": now,
                              "t": time.time()}
                    store.answers.append(answer)
                    store._append("answers.jsonl", answer)
                    if item.get("duplicate"):
                        # At-least-once: the provider lists the same answer (same id) twice.
                        store.answers.append(dict(answer))
                        store._append("answers.jsonl", answer)
                    ids.append(answer["id"])
            return self._send(200, {"ids": ids})
        if path == "/emulator/sent":
            with store.lock:
                return self._send(200, list(store.sent))
        if path == "/emulator/answers":
            with store.lock:
                return self._send(200, list(store.answers))
        if path == "/emulator/fail" and self.command == "POST":
            fault = json.loads(body or b"{}")
            fault["count"] = int(fault.get("count", 1))
            with store.lock:
                store.faults.append(fault)
            return self._send(200, {"ok": True})
        if path not in ("/sys/get.php", "/sys/send.php"):
            return self._send(404, {"error": "not found"})
        fault = self._fault()
        if fault and fault.get("http_status"):
            return self._send(int(fault["http_status"]), {"error": "injected"})
        if params.get("login") != self.login or params.get("psw") != self.password:
            return self._send(200, {"error": "authorise error", "error_code": 2})
        if path == "/sys/get.php":
            if params.get("get_answers") != "1":
                return self._send(200, {"error": "parameters error", "error_code": 1})
            with store.lock:
                if "after_id" in params:
                    try:
                        after = int(params["after_id"])
                    except ValueError:
                        return self._send(200, {"error": "parameters error", "error_code": 1})
                    chosen = [a for a in store.answers if a["id"] > after][: self.page]
                else:
                    since = time.time() - 3600 * float(params.get("hour", "1"))
                    chosen = [a for a in store.answers if a["t"] >= since]
            return self._send(200, [{k: v for k, v in a.items() if k != "t"} for a in chosen])
        # send.php
        if fault and fault.get("send_error"):
            code = int(fault["send_error"])
            return self._send(200, {"error": "injected error", "error_code": code})
        phones, text = params.get("phones", ""), params.get("mes")
        if not phones or text is None:
            return self._send(200, {"error": "parameters error", "error_code": 1})
        digits = phones.lstrip("+")
        if not digits.isdigit() or not 10 <= len(digits) <= 15:
            return self._send(200, {"error": "invalid number", "error_code": 7})
        if params.get("charset", "windows-1251").lower() != "utf-8":
            text = text.encode("utf-8", "replace").decode("cp1251", "replace")
        coding, count = segments(text)
        with store.lock:
            # Documented error 9: the same send request more than once within a minute.
            key = (params.get("login"), phones, text, params.get("id", ""))
            now = time.time()
            if now - store.recent.get(key, 0) < 60:
                return self._send(200, {"error": "duplicate request, wait a minute", "error_code": 9})
            store.recent[key] = now
            item = {"id": len(store.sent) + 1, "phones": phones, "mes": text, "cnt": count, "coding": coding,
                    "sent_at": now, "login": params.get("login"), "req_id": params.get("id", "")}
            store.sent.append(item)
            store._append("sent.jsonl", item)
        return self._send(200, {"id": item["id"], "cnt": count})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("state")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--login", default="test")
    parser.add_argument("--password", default="secret")
    parser.add_argument("--page", type=int, default=100)
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    options = parser.parse_args()
    os.makedirs(options.state, exist_ok=True)
    Handler.store = Store(options.state)
    Handler.login, Handler.password, Handler.page = options.login, options.password, options.page
    server = ThreadingHTTPServer(("127.0.0.1", options.port), Handler)
    server.daemon_threads = True
    scheme = "http"
    if options.tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*options.tls)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    port = server.server_address[1]
    with open(os.path.join(options.state, "smsc.pid"), "w") as pid:
        pid.write(str(os.getpid()))
    temporary = os.path.join(options.state, "smsc.env.tmp")
    with open(temporary, "w") as env:
        env.write(f"SMSC_PORT={port}\nSMSC_URL={scheme}://127.0.0.1:{port}\n")
    os.replace(temporary, os.path.join(options.state, "smsc.env"))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
