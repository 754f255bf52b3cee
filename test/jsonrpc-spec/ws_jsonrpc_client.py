#!/usr/bin/env python3
"""An independent JSON-RPC 2.0 client over WebSocket, in Python's standard library only.

It shares no code with the TypeScript implementation: its own RFC 6455 framing, its own
JSON handling. It replays every example of the JSON-RPC 2.0 specification (section 7) and
checks the answers to the letter. Usage: ws_jsonrpc_client.py WS_URL TOKEN
Prints one line per case and exits 1 on the first mismatch.
"""
import base64
import json
import os
import socket
import struct
import sys
from urllib.parse import urlparse


class WebSocket:
    def __init__(self, url, token):
        u = urlparse(url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        path = u.path or "/"
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Authorization: Bearer {token}\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise RuntimeError("connection closed during handshake")
            head += chunk
        status = head.split(b"\r\n", 1)[0]
        if b" 101 " not in status:
            raise RuntimeError(f"upgrade refused: {status!r}")

    def send_text(self, text):
        payload = text.encode()
        header = bytes([0x81])
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def _exact(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise RuntimeError("connection closed")
            data += chunk
        return data

    def recv_text(self):
        message = b""
        while True:
            b0, b1 = self._exact(2)
            opcode, fin = b0 & 0x0F, b0 & 0x80
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._exact(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._exact(8))[0]
            payload = self._exact(n)
            if opcode == 0x9:  # ping: answer with pong
                self.sock.sendall(bytes([0x8A, 0x80 | len(payload)]) + b"\0\0\0\0" + payload)
                continue
            if opcode == 0x8:
                raise RuntimeError("server closed the connection")
            message += payload
            if fin:
                return message.decode()


def same(actual, expected):
    """Compares answers; batch answers may come in any order (section 6)."""
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return False
        key = lambda r: json.dumps(r, sort_keys=True)
        return sorted(map(key, actual)) == sorted(map(key, expected))
    return actual == expected


def error(code, id_):
    return {"jsonrpc": "2.0", "error": {"code": code}, "id": id_}


def strip_messages(answer):
    """The specification fixes codes and ids, not message texts."""
    if isinstance(answer, list):
        return [strip_messages(a) for a in answer]
    if isinstance(answer, dict) and isinstance(answer.get("error"), dict):
        assert isinstance(answer["error"].get("message"), str), "error without a message string"
        return {**answer, "error": {"code": answer["error"]["code"]}}
    return answer


NOTHING = object()

CASES = [
    ("positional params", '{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}', {"jsonrpc": "2.0", "result": 19, "id": 1}),
    ("positional params, swapped", '{"jsonrpc": "2.0", "method": "subtract", "params": [23, 42], "id": 2}', {"jsonrpc": "2.0", "result": -19, "id": 2}),
    ("named params", '{"jsonrpc": "2.0", "method": "subtract", "params": {"subtrahend": 23, "minuend": 42}, "id": 3}', {"jsonrpc": "2.0", "result": 19, "id": 3}),
    ("named params, reordered", '{"jsonrpc": "2.0", "method": "subtract", "params": {"minuend": 42, "subtrahend": 23}, "id": 4}', {"jsonrpc": "2.0", "result": 19, "id": 4}),
    ("notification", '{"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]}', NOTHING),
    ("notification of a missing method", '{"jsonrpc": "2.0", "method": "foobar"}', NOTHING),
    ("missing method", '{"jsonrpc": "2.0", "method": "foobar", "id": "1"}', error(-32601, "1")),
    ("invalid JSON", '{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]', error(-32700, None)),
    ("invalid request object", '{"jsonrpc": "2.0", "method": 1, "params": "bar"}', error(-32600, None)),
    ("batch, invalid JSON", '[{"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},{"jsonrpc": "2.0", "method"]', error(-32700, None)),
    ("empty array", "[]", error(-32600, None)),
    ("invalid batch of one", "[1]", [error(-32600, None)]),
    ("invalid batch", "[1,2,3]", [error(-32600, None)] * 3),
    (
        "mixed batch",
        """[
        {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
        {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},
        {"jsonrpc": "2.0", "method": "subtract", "params": [42,23], "id": "2"},
        {"foo": "boo"},
        {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
        {"jsonrpc": "2.0", "method": "get_data", "id": "9"}
        ]""",
        [
            {"jsonrpc": "2.0", "result": 7, "id": "1"},
            {"jsonrpc": "2.0", "result": 19, "id": "2"},
            error(-32600, None),
            error(-32601, "5"),
            {"jsonrpc": "2.0", "result": ["hello", 5], "id": "9"},
        ],
    ),
    ("batch of notifications", '[{"jsonrpc": "2.0", "method": "notify_sum", "params": [1,2,4]},{"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}]', NOTHING),
    ("invalid params", '{"jsonrpc": "2.0", "method": "subtract", "params": ["a"], "id": 10}', error(-32602, 10)),
]


def main():
    url, token = sys.argv[1], sys.argv[2]
    ws = WebSocket(url, token)
    for n, (name, request, expected) in enumerate(CASES):
        ws.send_text(request)
        if expected is NOTHING:
            # Nothing may come back: the next answer must be the one to this probe.
            probe = {"jsonrpc": "2.0", "method": "subtract", "params": [n, 0], "id": f"probe-{n}"}
            ws.send_text(json.dumps(probe))
            answer = json.loads(ws.recv_text())
            ok = answer == {"jsonrpc": "2.0", "result": n, "id": f"probe-{n}"}
        else:
            answer = json.loads(ws.recv_text())
            ok = same(strip_messages(answer), expected)
        print(("ok   " if ok else "FAIL ") + name + ("" if ok else f": got {json.dumps(answer)}"))
        if not ok:
            sys.exit(1)
    print(f"{len(CASES)} passed, 0 failed")


if __name__ == "__main__":
    main()
