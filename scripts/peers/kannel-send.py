#!/usr/bin/env python3
"""Injects mobile-originated SMS into Kannel as a phone sends them: lines of the fake SMSC
protocol written to the "inject" link that kannel-up.sh configured (what fakesmsc does).

  kannel-send.py [--state STATE | --port PORT] FROM TEXT [TO]
  kannel-send.py [--state STATE | --port PORT] --jsonl FILE     # {"from","text"[,"to"][,"parts"]} per line

Printable ASCII goes as type `text` (GSM 7-bit); anything else as `ucs2` (URL-encoded
UTF-16BE). "parts": N > 1 sends the text as a concatenated SMS of N parts (UDH 05 00 03,
type udh-text, GSM text only: the fake SMSC line protocol has no UCS-2 with UDH), last part first.
Loopback only.
"""
import argparse, json, os, socket, sys, urllib.parse

def ascii_text(text):
    return all(32 <= ord(c) < 127 for c in text)

def line(sender, text, to, parts=1, ref=0):
    if parts > 1:
        if not ascii_text(text):
            raise SystemExit("kannel-send.py: a message in parts must be printable ASCII (fakesmsc cannot send UCS-2 with a UDH)")
        size = -(-len(text) // parts)
        chunks = [text[i * size:(i + 1) * size] for i in range(parts)]
        out = []
        for seq in reversed(range(parts)):
            udh = bytes([5, 0, 3, ref & 0xFF, parts, seq + 1])
            out.append(f"{sender} {to} udh-text {urllib.parse.quote_from_bytes(udh)} {chunks[seq]}")
        return out
    if ascii_text(text) and text.strip() == text and text:
        return [f"{sender} {to} text {text}"]
    data = urllib.parse.quote_from_bytes(text.encode("utf-16-be"))
    return [f"{sender} {to} ucs2 {data}"]

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--state")
    parser.add_argument("--port", type=int)
    parser.add_argument("--jsonl")
    parser.add_argument("args", nargs="*")
    options = parser.parse_args()
    port = options.port
    shortcode = "1234"
    state = options.state or os.environ.get("KANNEL_STATE")
    if state:
        for entry in open(os.path.join(state, "kannel.env"), encoding="utf-8"):
            key, _, value = entry.strip().partition("=")
            if key == "KANNEL_INJECT_PORT" and port is None:
                port = int(value)
            if key == "KANNEL_SHORTCODE":
                shortcode = value
    if port is None:
        port = int(os.environ.get("KANNEL_INJECT_PORT", "0")) or parser.error("no --state and no --port")
    lines = []
    if options.jsonl:
        with open(options.jsonl, encoding="utf-8") as source:
            for ref, entry in enumerate(source):
                if entry.strip():
                    item = json.loads(entry)
                    lines += line(item["from"], item["text"], item.get("to", shortcode), int(item.get("parts", 1)), ref)
    else:
        if len(options.args) not in (2, 3):
            parser.error("FROM TEXT [TO]")
        lines += line(options.args[0], options.args[1], options.args[2] if len(options.args) == 3 else shortcode)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(("\n".join(lines) + "\n").encode("ascii"))
        connection.shutdown(socket.SHUT_WR)
        # The fake SMSC sends nothing back on this link; wait for it to close or a short while
        # so every line is read before we go.
        connection.settimeout(1.0)
        try:
            while connection.recv(4096):
                pass
        except socket.timeout:
            pass
    print(len(lines))

if __name__ == "__main__":
    main()
