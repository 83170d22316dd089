#!/usr/bin/python3
"""A TCP relay on 127.0.0.1 that makes a loopback mail server look distant: for tests of what
only shows over a real network (a long response line arriving over several reads).

  pace-proxy.py STATE TARGET_PORT [--delay-ms 15] [--segment 1448] [--gap-ms 1]

Listens on a free port (printed as PACE_PROXY_PORT=N on stdout and written to STATE/port) and
forwards every connection to 127.0.0.1:TARGET_PORT. Each way, the bytes are cut into segments
of at most --segment bytes (1,448: the payload of a TCP segment on Ethernet with timestamps),
each sent --delay-ms after it arrived and at least --gap-ms after the one before (about
1.4 MB/s), with TCP_NODELAY: the other side reads a long line in pieces, as it would from a
server 15 ms away. STATE/connections counts the connections. Stdlib only; stop it by its pid.
"""
import argparse, collections, os, socket, sys, threading, time

p = argparse.ArgumentParser()
p.add_argument("state")
p.add_argument("target_port", type=int)
p.add_argument("--delay-ms", type=float, default=15.0)
p.add_argument("--segment", type=int, default=1448)
p.add_argument("--gap-ms", type=float, default=1.0)
args = p.parse_args()
delay, gap = args.delay_ms / 1000.0, args.gap_ms / 1000.0
os.makedirs(args.state, exist_ok=True)
listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 0))
listener.listen(128)
port = listener.getsockname()[1]
with open(os.path.join(args.state, "port"), "w") as f:
    f.write(str(port))
print(f"PACE_PROXY_PORT={port}", flush=True)
count_lock = threading.Lock()
connections = [0]


def pump(src, dst):
    """Reads src; a writer thread sends each segment to dst at arrival + delay, gap apart."""
    queue = collections.deque()
    ready = threading.Condition()

    def writer():
        last = 0.0
        try:
            while True:
                with ready:
                    while not queue:
                        ready.wait()
                    due, data = queue.popleft()
                if data is None:
                    break
                wait = max(due, last + gap) - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                dst.sendall(data)
                last = time.monotonic()
        except OSError:
            pass
        finally:
            for s, how in ((dst, socket.SHUT_WR), (src, socket.SHUT_RD)):
                try:
                    s.shutdown(how)
                except OSError:
                    pass

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            due = time.monotonic() + delay
            with ready:
                for start in range(0, len(data), args.segment):
                    queue.append((due, data[start:start + args.segment]))
                ready.notify()
    except OSError:
        pass
    with ready:
        queue.append((0, None))
        ready.notify()
    thread.join()


def serve(client):
    try:
        server = socket.create_connection(("127.0.0.1", args.target_port))
    except OSError:
        client.close()
        return
    for s in (client, server):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    up = threading.Thread(target=pump, args=(client, server), daemon=True)
    up.start()
    pump(server, client)
    up.join()
    for s in (client, server):
        s.close()


while True:
    connection, _ = listener.accept()
    with count_lock:
        connections[0] += 1
        with open(os.path.join(args.state, "connections"), "w") as f:
            f.write(str(connections[0]))
    threading.Thread(target=serve, args=(connection,), daemon=True).start()
