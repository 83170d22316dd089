#!/usr/bin/env python3
"""Prints the MT messages the fakesmsc "phone" received (STATE/fakesmsc.log), one JSON object a
line: {"n", "from", "to", "type", "text", "segments"}. UCS-2 payloads (URL-encoded UTF-16BE)
and data are decoded; `segments` is how many SMS Kannel sent for this line (1: no UDH).

  kannel-replies.py STATE [--wait N] [--timeout SECONDS]
"""
import argparse, json, os, re, sys, time, urllib.parse

PATTERN = re.compile(r"Got message (\d+): <(\S+) (\S+) (\S+) ?(.*)>\s*$")

def parse(state):
    replies = []
    try:
        with open(os.path.join(state, "fakesmsc.log"), encoding="utf-8", errors="replace") as log:
            for raw in log:
                match = PATTERN.search(raw)
                if not match:
                    continue
                n, sender, to, kind, payload = match.groups()
                udh = None
                if kind.startswith("udh"):
                    udh_text, _, payload = payload.partition(" ")
                    udh = urllib.parse.unquote_to_bytes(udh_text)
                    kind = kind[4:] or "data"
                if kind in ("ucs2", "ucs-2"):
                    text = urllib.parse.unquote_to_bytes(payload.replace("+", " ")).decode("utf-16-be", errors="replace")
                elif kind == "data":
                    text = urllib.parse.unquote_to_bytes(payload.replace("+", " ")).decode("utf-8", errors="replace")
                else:
                    text = payload
                total = udh[4] if udh and len(udh) >= 5 and udh[1] == 0 else 1
                replies.append({"n": int(n), "from": sender, "to": to, "type": kind, "text": text, "segments": total})
    except FileNotFoundError:
        pass
    return replies

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("state")
    parser.add_argument("--wait", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=30)
    options = parser.parse_args()
    deadline = time.time() + options.timeout
    replies = parse(options.state)
    while len(replies) < options.wait and time.time() < deadline:
        time.sleep(0.1)
        replies = parse(options.state)
    for reply in replies:
        print(json.dumps(reply, ensure_ascii=False))
    if len(replies) < options.wait:
        sys.exit(1)

if __name__ == "__main__":
    main()
