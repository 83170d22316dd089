#!/usr/bin/env python3
"""Fill a metergate SQLite store (schema made by the binary) with N messages for the
support desk's look-up benchmark (Benchmarks/messages.sh).

Rows are written as the ledger writes them: message (with its outcome JSON), message_uin,
submission for recorded results, one outbox row per reply. Senders: N/20 distinct phone
numbers (about 20 messages each, like a year of monthly readings from 50k abonents), plus
one target sender with TARGET messages spread over the year. Deterministic (--seed)."""
import argparse
import json
import random
import sqlite3
import time

parser = argparse.ArgumentParser()
parser.add_argument("store")
parser.add_argument("--messages", type=int, default=1_000_000)
parser.add_argument("--target", default="+79031234567")
parser.add_argument("--target-messages", type=int, default=120)
parser.add_argument("--seed", type=int, default=20261203)
args = parser.parse_args()

rng = random.Random(args.seed)
db = sqlite3.connect(args.store)
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA synchronous=OFF")
start_time = 1_764_547_200.0  # 2025-12-01T00:00:00Z
year = 365 * 86400
senders = max(1, args.messages // 20)
statuses = [("accepted", None)] * 80 + [("rejected", "count_mismatch")] * 6 + [("rejected", "unparsed")] * 6 \
    + [("held", "implausible")] * 2 + [("duplicate", None)] * 4 + [("ignored", "rate_limited")] * 2
target_slots = set(rng.sample(range(args.messages), args.target_messages))


def uin_of(sender):
    """The sender's account (deterministic: Python's hash() of a str is not)."""
    return "%07d" % ((int(sender[-7:]) * 7919) % 9_000_000 + 1_000_000)


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


t0 = time.time()
message_rows, uin_rows, submission_rows, outbox_rows = [], [], [], []
ids = sorted(rng.uniform(0, year) for _ in range(args.messages))
for index in range(args.messages):
    mid = index + 1
    received = start_time + ids[index]
    sender = args.target if index in target_slots else "+7903%07d" % rng.randrange(senders)
    uin = uin_of(sender)
    status, reason = rng.choice(statuses)
    value = str(10000 + index % 50000)
    results = [] if reason == "unparsed" or status == "ignored" else [
        {"uin": uin, "status": status, **({"reason": reason} if reason else {}), "readings": [value]}]
    reply = None if status == "ignored" else "Показания приняты: %s. Спасибо!" % value
    outcome = json.dumps({"id": "m%d" % mid, "status": status, **({"reason": reason} if reason else {}),
                          "results": results, "reply": reply}, ensure_ascii=False, separators=(",", ":"))
    text = "%s %s" % (uin, value)
    message_rows.append((mid, "sms", "m%d" % mid, "bench", sender, received, iso(received), None, text, None,
                         status, reason, outcome, reply, received))
    for result in results:
        uin_rows.append((result["uin"], mid))
        if status in ("accepted", "held", "duplicate"):
            period = time.strftime("%Y-%m", time.gmtime(received))
            submission_rows.append((mid, uin, period, status, reason, "T1", value, "", "sms", sender, received, iso(received)))
    if reply:
        outbox_rows.append((mid, "sms", sender, None, None, "", reply, "sent", 1, received, None, received, received + 2))
    if len(message_rows) >= 50_000 or index == args.messages - 1:
        db.executemany("INSERT INTO message (id, channel, external_id, feed, sender, received_at, received_at_text, subject, text, raw, "
                       "status, reason, outcome, reply, processed_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", message_rows)
        db.executemany("INSERT OR IGNORE INTO message_uin (uin, message_id) VALUES (?, ?)", uin_rows)
        db.executemany("INSERT INTO submission (message_id, uin, period, status, reason, meters, vals, previous, channel, sender, "
                       "received_at, received_at_text) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", submission_rows)
        db.executemany("INSERT INTO outbox (message_id, channel, recipient, subject, in_reply_to, refs, body, state, attempts, "
                       "next_attempt_at, last_error, created_at, sent_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", outbox_rows)
        db.commit()
        message_rows, uin_rows, submission_rows, outbox_rows = [], [], [], []
db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
db.execute("ANALYZE")
db.commit()
print("filled %d messages (%d for %s) in %.1fs" % (args.messages, args.target_messages, args.target, time.time() - t0))
