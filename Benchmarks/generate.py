#!/usr/bin/env python3
"""Generate benchmark data for metergate (stdlib only, deterministic with --seed).

Writes
  accounts.csv  N accounts in the contract's accounts CSV (§4)
  sms.jsonl     M SMS messages in the replay JSONL format (§5) referencing those accounts

Mix (shares are of messages; see MIX below): mostly clean `UIN r1 r2`, some labels
(`УИН`, `Т1`/`Т2`, `день`/`ночь`), decimal commas, punctuation separators, prose,
unknown UINs, count mismatches, decreasing values, implausible jumps, re-sent readings
(duplicate) and re-delivered ids (already seen). Senders are spread so that the hourly
sender limit (20/h) rarely triggers; received_at spans a few days within one period.

Usage: generate.py [--accounts N] [--messages M] [--seed S] [--out DIR]
"""

import argparse
import json
import os
import random
import sys
import time
from datetime import datetime, timedelta, timezone

# Message kinds and their shares (they add up to 1).
MIX = [
    ("clean", 0.700),         # 1234567 12345 6789
    ("label_uin", 0.050),     # УИН 1234567 12345 / уин: 1234567 показания 12345
    ("zones", 0.040),         # 1234567 Т1 12345 Т2 6789 / день … ночь …
    ("decimal", 0.040),       # 1234567 12345,6
    ("punct", 0.050),         # 1234567;12345;6789 / 1234567-12345-6789 / 1234567, 12345, 6789
    ("prose", 0.020),         # Добрый день! Мой УИН 1234567, показания 12345. Спасибо
    ("unknown_uin", 0.020),   # a UIN not in the accounts
    ("count_mismatch", 0.020),
    ("decreasing", 0.015),
    ("implausible", 0.005),   # grows by more than policy.max_increase: held
    ("resend", 0.035),        # the same readings again later (duplicate)
    ("redelivered", 0.005),   # the same message id again (ignored, already seen)
]

METER_SHARES = [(("T1",), 0.55), (("T1", "T2"), 0.38), (("T1", "T2", "T3"), 0.07)]


def weighted(rng, pairs):
    x = rng.random()
    acc = 0.0
    for value, share in pairs:
        acc += share
        if x < acc:
            return value
    return pairs[-1][0]


def phone(rng):
    return "9" + "".join(rng.choice("0123456789") for _ in range(9))


def fmt_phone(rng, digits10):
    style = rng.random()
    if style < 0.6:
        return "+7" + digits10
    if style < 0.9:
        return "8" + digits10
    return "+7 (%s) %s-%s-%s" % (digits10[:3], digits10[3:6], digits10[6:8], digits10[8:])


def fmt_value(v):
    """Tenths as a decimal string with '.' (accounts CSV)."""
    whole, tenth = divmod(v, 10)
    return str(whole) if tenth == 0 else "%d.%d" % (whole, tenth)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--accounts", type=int, default=1_000_000)
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=20261120)
    ap.add_argument("--out", default=".")
    ap.add_argument("--duplicate-uin-rows", type=float, default=0.0001,
                    help="share of extra rows repeating an earlier UIN (the later row wins; a warning each)")
    ap.add_argument("--start", default="2026-11-18T00:00:00+03:00")
    ap.add_argument("--days", type=float, default=3.0)
    args = ap.parse_args()

    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    t0 = time.time()

    # ---- accounts -------------------------------------------------------------------
    n = args.accounts
    uins = []
    used = set()
    # UIN length: 7–12 digits; some with leading zeros (kept as strings).
    lengths = [(7, 0.30), (8, 0.15), (9, 0.20), (10, 0.10), (11, 0.05), (12, 0.20)]
    while len(uins) < n:
        length = weighted(rng, lengths)
        if rng.random() < 0.05:
            uin = "0" + str(rng.randrange(10 ** (length - 2), 10 ** (length - 1)))
        else:
            uin = str(rng.randrange(10 ** (length - 1), 10 ** length))
        if uin in used:
            continue
        used.add(uin)
        uins.append(uin)

    meters = bytearray(n)       # number of meters - 1 index into METER_SHARES
    digits = bytearray(n)       # 0: none
    state = []                  # current register values per account, in tenths (list of ints)
    phones = [None] * n         # bound phone (10 digits after +7), if any
    meter_choices = [m for m, _ in METER_SHARES]
    rows_written = 0
    dup_rows = int(n * args.duplicate_uin_rows)
    dup_at = set(rng.sample(range(n), dup_rows)) if dup_rows and n > 1 else set()

    with open(os.path.join(args.out, "accounts.csv"), "w", encoding="utf-8", newline="") as f:
        f.write("uin,meters,previous,digits,phones,emails,name\n")
        for i in range(n):
            m = weighted(rng, [(k, s) for k, (_, s) in enumerate(METER_SHARES)])
            meters[i] = m
            count = m + 1
            d = 0
            r = rng.random()
            if r < 0.15:
                d = 5
            elif r < 0.30:
                d = 6
            digits[i] = d
            cap = 90_000 if d == 5 else 600_000
            # Day zone runs ahead of night and half-peak.
            base = rng.randrange(1_000, cap)
            vals = [base] + [rng.randrange(500, max(600, base // 2)) for _ in range(count - 1)]
            tenths = [v * 10 + (rng.randrange(1, 10) if rng.random() < 0.05 else 0) for v in vals]
            state.append(tenths)
            prev = ";".join(fmt_value(v) for v in tenths) if rng.random() < 0.9 else ""
            ph = []
            r = rng.random()
            if r < 0.55:
                p = phone(rng)
                phones[i] = p
                ph.append(fmt_phone(rng, p))
                if r < 0.08:
                    ph.append(fmt_phone(rng, phone(rng)))
            em = ""
            if rng.random() < 0.2:
                em = "user%d@example.ru" % i
                if rng.random() < 0.1:
                    em += ";Second.%d@Example.COM" % i
            name = '"Абонент %d, кв. %d"' % (i, rng.randrange(1, 300))
            f.write("%s,%s,%s,%s,%s,%s,%s\n" % (
                uins[i], ";".join(meter_choices[m]), prev, d or "", ";".join(ph), em, name))
            rows_written += 1
            if i in dup_at:
                # The billing export repeats a UIN: the later row wins.
                j = rng.randrange(0, i + 1)
                mm = meter_choices[meters[j]]
                f.write("%s,%s,%s,%s,,,\n" % (uins[j], ";".join(mm), ";".join(fmt_value(v) for v in state[j]),
                                             digits[j] or ""))
                rows_written += 1
    t1 = time.time()
    print("accounts.csv: %d rows (%d repeated UINs) in %.1f s" % (rows_written, len(dup_at), t1 - t0), file=sys.stderr)

    # ---- messages -------------------------------------------------------------------
    m_total = args.messages
    start = datetime.fromisoformat(args.start)
    span = args.days * 86400.0
    # Sorted arrival times (a replay file is in arrival order).
    times = sorted(rng.random() * span for _ in range(m_total))
    kinds = [k for k, _ in MIX]
    cum = []
    acc = 0.0
    for _, s in MIX:
        acc += s
        cum.append(acc)
    import bisect

    sent = []          # (id, from, text, uin index) of earlier messages, for resends/redeliveries
    counts = {k: 0 for k in kinds}
    tz = start.tzinfo or timezone.utc

    def readings_for(i, bump):
        cur = state[i]
        nxt = []
        for z, v in enumerate(cur):
            # Whole kWh: up to 800 (day) / 400 (other zones) since the last reading.
            inc = rng.randrange(1, 800 if z == 0 else 400) if bump else 0
            nxt.append((v // 10 + inc) * 10 if bump else v)
        return nxt

    def show(tenths, comma=False, force_fraction=False):
        whole, tenth = divmod(tenths, 10)
        if tenth == 0 and not force_fraction:
            return str(whole)
        return "%d%s%d" % (whole, "," if comma else ".", tenth)

    def sender_for(i):
        p = phones[i]
        if p is not None and rng.random() < 0.85:
            return "+7" + p
        return "+7" + phone(rng)

    with open(os.path.join(args.out, "sms.jsonl"), "w", encoding="utf-8") as f:
        for seq in range(m_total):
            when = (start + timedelta(seconds=times[seq])).astimezone(tz)
            received = when.isoformat(timespec="seconds")
            kind = kinds[min(bisect.bisect_right(cum, rng.random()), len(kinds) - 1)]
            if kind in ("resend", "redelivered") and not sent:
                kind = "clean"
            mid = "sms-%07d" % seq
            if kind == "redelivered":
                old = sent[rng.randrange(len(sent))]
                mid, sender, text = old[0], old[1], old[2]
            elif kind == "resend":
                old = sent[rng.randrange(len(sent))]
                sender, text = old[1], old[2]
            else:
                i = rng.randrange(n)
                uin = uins[i]
                count = meters[i] + 1
                sender = sender_for(i)
                if kind == "unknown_uin":
                    while True:
                        uin = str(rng.randrange(10 ** 6, 10 ** 7)) + str(rng.randrange(0, 100000))[: rng.randrange(0, 5)]
                        if uin not in used:
                            break
                    vals = readings_for(i, True)
                    text = uin + " " + " ".join(show(v) for v in vals)
                elif kind == "decreasing":
                    vals = list(state[i])
                    vals[0] = max(0, vals[0] - rng.randrange(100, 5000) * 10)
                    text = uin + " " + " ".join(show(v) for v in vals)
                elif kind == "implausible":
                    vals = list(state[i])
                    vals[0] += rng.randrange(6000, 20000) * 10
                    if digits[i] == 5 and vals[0] >= 1_000_000:
                        vals[0] = 999_990
                    text = uin + " " + " ".join(show(v) for v in vals)
                elif kind == "count_mismatch":
                    vals = readings_for(i, True)
                    if count == 1 or rng.random() < 0.5:
                        vals.append(rng.randrange(500, 5000) * 10)
                    else:
                        vals = vals[:-1]
                    text = uin + " " + " ".join(show(v) for v in vals)
                else:
                    vals = readings_for(i, True)
                    state[i] = vals
                    if kind == "clean":
                        sep = " " if rng.random() < 0.9 else "  "
                        text = uin + sep + sep.join(show(v) for v in vals)
                    elif kind == "label_uin":
                        lead = rng.choice(["УИН ", "УИН: ", "уин ", "Уин-", "УИН № ", "л/с "])
                        mid_word = rng.choice(["", "", "показания ", "пок. "])
                        text = lead + uin + " " + mid_word + " ".join(show(v) for v in vals)
                    elif kind == "zones":
                        if count == 1:
                            text = uin + " " + rng.choice(["Т1 ", "день ", "T1 "]) + show(vals[0])
                        elif count == 2 and rng.random() < 0.5:
                            text = "%s день %s ночь %s" % (uin, show(vals[0]), show(vals[1]))
                        else:
                            labels = ["Т1", "Т2", "Т3"]
                            dash = rng.choice([" ", "-", ": "])
                            pairs = list(zip(labels, vals))
                            if rng.random() < 0.2:
                                pairs.reverse()   # labels bind the zones, whatever the order
                            text = uin + " " + " ".join(l + dash + show(v) for l, v in pairs)
                    elif kind == "decimal":
                        text = uin + " " + " ".join(show(v, comma=True, force_fraction=(z == 0))
                                                    for z, v in enumerate(vals))
                    elif kind == "punct":
                        sep = rng.choice([";", "-", " - ", ", ", "/", "\n"]) if count > 1 else rng.choice([";", " - ", "\n"])
                        text = uin + sep + sep.join(show(v) for v in vals)
                    elif kind == "prose":
                        body = ", ".join(show(v) for v in vals)
                        text = rng.choice([
                            "Добрый день! Мой УИН %s, показания %s. Спасибо",
                            "Здравствуйте. Передаю показания по УИН %s: %s. С уважением",
                            "%s показания %s",
                        ]) % (uin, body)
                    else:
                        raise AssertionError(kind)
            counts[kind] += 1
            if kind not in ("redelivered",) and len(sent) < 200_000:
                sent.append((mid, sender, text))
            elif kind != "redelivered":
                sent[rng.randrange(len(sent))] = (mid, sender, text)
            f.write(json.dumps({"id": mid, "channel": "sms", "from": sender, "text": text, "received_at": received},
                               ensure_ascii=False))
            f.write("\n")
    t2 = time.time()
    print("sms.jsonl: %d messages in %.1f s; mix: %s" % (
        m_total, t2 - t1, ", ".join("%s %d" % (k, v) for k, v in counts.items())), file=sys.stderr)


if __name__ == "__main__":
    main()
