#!/usr/bin/python3
"""A TCP proxy on 127.0.0.1 that forwards to a mail server and, once, cuts a connection in the
middle of a server response: for tests of a connection that dies mid-fetch.

  cut-proxy.py STATE TARGET_PORT TRIGGER CUT_AFTER

Listens on a free port (printed as CUT_PROXY_PORT=N on stdout and written to STATE/port).
Client bytes are scanned for the regular expression TRIGGER (e.g. 'BODY\\[\\]' for an IMAP
message fetch, '^RETR ' for POP3); on the first connection where it appears, the server's answer
to it is forwarded for CUT_AFTER bytes, then both sides are closed. Later connections (and the
same trigger again) pass untouched. STATE/cut is written when the cut happened.
"""
import os, re, select, socket, sys, threading

state, target_port, trigger, cut_after = sys.argv[1], int(sys.argv[2]), re.compile(sys.argv[3].encode(), re.M), int(sys.argv[4])
os.makedirs(state, exist_ok=True)
listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 0))
listener.listen(64)
port = listener.getsockname()[1]
with open(os.path.join(state, "port"), "w") as f:
    f.write(str(port))
print(f"CUT_PROXY_PORT={port}", flush=True)
lock = threading.Lock()
done = [False]

def serve(client):
    server = socket.create_connection(("127.0.0.1", target_port))
    armed = False
    forwarded = 0
    try:
        while True:
            ready, _, _ = select.select([client, server], [], [])
            if client in ready:
                data = client.recv(65536)
                if not data:
                    break
                with lock:
                    if not done[0] and not armed and trigger.search(data):
                        armed = True
                        done[0] = True
                server.sendall(data)
            if server in ready:
                data = server.recv(65536)
                if not data:
                    break
                if armed:
                    room = cut_after - forwarded
                    if len(data) >= room:
                        client.sendall(data[:room])
                        open(os.path.join(state, "cut"), "w").write(f"{cut_after}\n")
                        break
                    forwarded += len(data)
                client.sendall(data)
    except OSError:
        pass
    finally:
        for s in (client, server):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

while True:
    connection, _ = listener.accept()
    threading.Thread(target=serve, args=(connection,), daemon=True).start()
