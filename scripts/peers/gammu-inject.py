#!/usr/bin/env python3
"""Delivers SMS to gammu-smsd's dummy phone as a phone network would: one Gammu SMS-backup
file (PDU = Deliver) per message part in STATE/phone/sms/1/<first free number>, claimed
atomically with link(2); gammu-smsd reads the folder, stores the parts in `inbox` and
deletes the files.

usage: gammu-inject.py STATE FROM TEXT [--parts N] [--reference R] [--order 2,1,...]
       gammu-inject.py STATE --jsonl FILE|-   (one {"from","text","parts"?,"order"?,"sent"?,"copies"?} per line)
"sent" is the network's time stamp (epoch seconds, default now); "copies": 2 delivers the same
SMS twice (what SMSD does when it reads one message from the SIM again).
A text of plain GSM-7 letters goes as Default_No_Compression, anything else as
Unicode_No_Compression (UTF-16BE, as Gammu stores both in the backup); --parts N splits the
text into N parts with a concatenation UDH 050003RRNNMM (parts may be written out of order).
"""
import argparse, json, os, random, sys, time

GSM7 = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")


def hex16(text):
    return text.encode("utf-16-be").hex().upper()


def backup(sender, text, udh, when):
    coding = "Default_No_Compression" if all(c in GSM7 for c in text) else "Unicode_No_Compression"
    body = hex16(text)
    lines = ["[SMSBackup000]", f'SMSC = "+79000000000"', f"SMSCUnicode = {hex16('+79000000000')}",
             f"Sent = {when}", "State = UnRead", f'Number = "{sender}"', f"NumberUnicode = {hex16(sender)}",
             'Name = ""', "NameUnicode = "]
    for i in range(0, max(len(body), 1), 200):
        lines.append(f"Text{i // 200:02d} = {body[i:i + 200]}")
    lines += [f"Coding = {coding}", "Folder = 1", f"Length = {len(text)}", "Class = -1",
              "ReplySMSC = False", "RejectDuplicates = False", "ReplaceMessage = 0", "MessageReference = 0",
              "PDU = Deliver"]
    if udh:
        lines.append(f"UDH = {udh}")
    return "\n".join(lines) + "\n"


# Gammu's dummy phone looks at locations 1..9999 of a folder only (files numbered beyond are
# never read): numbers are reused once gammu-smsd has taken (deleted) a file.
MAX_LOCATION = 9999
_next = {}


def claim(folder, content):
    """Writes `content` as a free plain number (1..9999) in `folder`, atomically (by link);
    waits for gammu-smsd to free one when all are taken."""
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".inject.{os.getpid()}.{random.random()}")
    with open(tmp, "w", encoding="ascii") as f:
        f.write(content)
    n = _next.get(folder)
    if n is None:
        existing = [int(x) for x in os.listdir(folder) if x.isdigit() and int(x) <= MAX_LOCATION]
        n = max(existing) + 1 if existing else 1
    tried = 0
    while True:
        if n > MAX_LOCATION:
            n = 1
        try:
            os.link(tmp, os.path.join(folder, str(n)))
            break
        except FileExistsError:
            n += 1
            tried += 1
            if tried >= MAX_LOCATION:
                time.sleep(0.05)
                tried = 0
    _next[folder] = n + 1
    os.unlink(tmp)
    return n


def split(text, parts):
    size = -(-len(text) // parts)
    chunks = [text[i * size:(i + 1) * size] for i in range(parts)]
    return chunks


def deliver(state, sender, text, parts=1, reference=None, order=None, now=None, copies=1):
    folder = os.path.join(state, "phone", "sms", "1")
    when = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now or time.time()))
    if parts <= 1:
        return [claim(folder, backup(sender, text, "", when)) for _ in range(copies)]
    reference = random.randrange(256) if reference is None else reference
    chunks = split(text, parts)
    order = order or list(range(1, parts + 1))
    written = []
    for _ in range(copies):
        for number in order:
            udh = f"050003{reference:02X}{parts:02X}{number:02X}"
            written.append(claim(folder, backup(sender, chunks[number - 1], udh, when)))
    return written


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("state")
    parser.add_argument("sender", nargs="?")
    parser.add_argument("text", nargs="?")
    parser.add_argument("--parts", type=int, default=1)
    parser.add_argument("--reference", type=int)
    parser.add_argument("--order")
    parser.add_argument("--jsonl")
    args = parser.parse_args()
    if args.jsonl:
        source = sys.stdin if args.jsonl == "-" else open(args.jsonl, encoding="utf-8")
        count = 0
        for line in source:
            if not line.strip():
                continue
            item = json.loads(line)
            order = item.get("order")
            deliver(args.state, item["from"], item["text"], item.get("parts", 1), item.get("reference"), order,
                    item.get("sent"), item.get("copies", 1))
            count += 1
        print(f"injected {count} message(s)", file=sys.stderr)
        return
    if args.sender is None or args.text is None:
        parser.error("FROM and TEXT are required without --jsonl")
    order = [int(x) for x in args.order.split(",")] if args.order else None
    deliver(args.state, args.sender, args.text, args.parts, args.reference, order)


if __name__ == "__main__":
    main()
