#!/usr/bin/env python3
"""A minimal RFB 3.8 client (security type None) that sends input: what a VNC viewer sends when
its user clicks and types. Usage: rfb_input.py HOST PORT ACTION...; each ACTION is
click:X,Y (left button at X,Y), Return, or text typed as one keysym per character (Latin-1)."""
import socket
import struct
import sys
import time

host, port = sys.argv[1], int(sys.argv[2])
deadline = time.time() + 10
while True:
    try:
        s = socket.create_connection((host, port), timeout=10)
        break
    except OSError:
        if time.time() > deadline:
            raise
        time.sleep(0.1)


def recvn(n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise SystemExit("rfb_input: the server closed the connection")
        b += c
    return b


recvn(12)  # "RFB 003.008\n"
s.sendall(b"RFB 003.008\n")
types = recvn(recvn(1)[0])
if 1 not in types:
    raise SystemExit(f"rfb_input: no security type None among {list(types)}")
s.sendall(bytes([1]))
if struct.unpack(">I", recvn(4))[0] != 0:
    raise SystemExit("rfb_input: security handshake failed")
s.sendall(bytes([1]))  # ClientInit: shared
width, height = struct.unpack(">HH", recvn(4))
recvn(16)
recvn(struct.unpack(">I", recvn(4))[0])
print(f"size {width}x{height}", flush=True)


def key(sym, down):
    s.sendall(struct.pack(">BBxxI", 4, 1 if down else 0, sym))


def pointer(x, y, mask):
    s.sendall(struct.pack(">BBHH", 5, mask, x, y))


for action in sys.argv[3:]:
    if action.startswith("click:"):
        x, y = map(int, action[6:].split(","))
        for mask in (0, 1, 0):
            pointer(x, y, mask)
            time.sleep(0.05)
    elif action == "Return":
        key(0xFF0D, True)
        key(0xFF0D, False)
    else:
        for ch in action:
            key(ord(ch), True)
            key(ord(ch), False)
            time.sleep(0.01)
    time.sleep(0.2)
time.sleep(0.5)
s.close()
