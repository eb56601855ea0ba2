#!/usr/bin/env python3
# Sends a few edge-case xs_wire frames to a xenstored Unix socket and prints the raw replies.
# Usage: tools/xs-edge-cases.py SOCKET   (leaves /empty behind in the store)
import socket, struct, sys
def req(s, t, payload, tx=0, rid=7):
    s.sendall(struct.pack('<IIII', t, rid, tx, len(payload)) + payload)
    h = b''
    while len(h) < 16: h += s.recv(16 - len(h))
    typ, r, tx2, ln = struct.unpack('<IIII', h)
    p = b''
    while len(p) < ln: p += s.recv(ln - len(p))
    return typ, r, tx2, ln, p
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
cases = [
 ("WRITE /empty (setup)", 11, b'/empty\0'),
 ("DIRECTORY /empty (no children)", 1, b'/empty\0'),
 ("DIRECTORY_PART / offset 0", 22, b'/\0' + b'0\0'),
 ("DIRECTORY_PART /empty offset 0", 22, b'/empty\0' + b'0\0'),
 ("DIRECTORY_PART /tool offset 3", 22, b'/tool\0' + b'3\0'),
 ("GET_PERMS /", 3, b'/\0'),
 ("TRANSACTION_START", 6, b'\0'),
 ("unknown type 99", 99, b'/\0'),
 ("RM /nope/child (missing parent)", 13, b'/nope/child\0'),
 ("RM /empty/child (missing node, parent exists)", 13, b'/empty/child\0'),
 ("WRITE /a//b", 11, b'/a//b\0v'),
 ("READ /tool/xenstored", 2, b'/tool/xenstored\0'),
 ("GET_DOMAIN_PATH 0", 10, b'0\0'),
 ("RM / ", 13, b'/\0'),
]
for name, t, p in cases:
    typ, r, tx, ln, pl = req(s, t, p)
    print(f"{name}: request {struct.pack('<IIII', t, 7, 0, len(p)).hex()} {p!r}")
    print(f"   reply type={typ} req_id={r} tx_id={tx} len={ln} payload={pl!r}")
