#!/usr/bin/env python3
"""free-ports.py N [--prefer PORT] [--reuse-address]

Prints N ports on 127.0.0.1 that are free right now (all bound at once, then released).

They are drawn outside the kernel's ephemeral range (/proc/sys/net/ipv4/ip_local_port_range):
an outgoing connection of a parallel test (IMAP, SMTP, curl, psql) takes its local port from
that range and may take a port handed out from it before the peer binds it. Ports 10000–65000
outside the range are used when at least 1000 of them are; on a machine whose range leaves
fewer (a range starting at 1024, say), and after 5000 taken tries, the kernel's own choice
(bind to port 0) is used instead, never a loop without end.

--prefer PORT: that port first, when it is free (a server keeps its URL across a restart).
--reuse-address: test as the server will bind (SO_REUSEADDR: TIME_WAIT is no obstacle).
"""
import random
import socket
import sys


def outside_ephemeral_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = (int(x) for x in f.read().split()[:2])
    except (OSError, ValueError):
        low, high = 32768, 60999
    ports = [p for p in range(10000, 65001) if p < low or p > high]
    return ports if len(ports) >= 1000 else []


def main(argv):
    count = int(argv[1])
    prefer = int(argv[argv.index("--prefer") + 1]) if "--prefer" in argv else 0
    reuse = "--reuse-address" in argv
    pool = outside_ephemeral_range()
    socks, ports = [], []

    def take(port):
        s = socket.socket()
        if reuse:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except (OSError, OverflowError):
            s.close()
            return False
        socks.append(s)
        ports.append(s.getsockname()[1])
        return True

    if prefer and 0 < prefer < 65536:
        take(prefer)
    tries = 0
    while len(ports) < count:
        tries += 1
        if pool and tries <= 5000:
            port = random.choice(pool)
            if port in ports:
                continue
            take(port)
        else:
            take(0)
    print(" ".join(map(str, ports)))
    for s in socks:
        s.close()


if __name__ == "__main__":
    main(sys.argv)
