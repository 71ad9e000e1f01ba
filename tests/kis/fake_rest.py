"""A local fake KIS REST server (http.server in a thread) for the client tests.

``FakeKis.script(path, *replies)`` queues replies for a path (each ``(status, body)`` or the
string ``"drop"``: close the connection without answering, a network error for the client);
when a path's queue is empty its default reply (``FakeKis.default``) is served. Every request
is recorded in ``requests`` as ``(method, path, query dict, headers dict, json body or None)``.
Ports come from the helper's range 18100-18199 (the first free one).
"""

from __future__ import annotations

import json
import socket
import threading
from collections import defaultdict, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

PORTS = range(18100, 18200)


def free_port() -> int:
    for port in PORTS:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 18100-18199")


class FakeKis:
    def __init__(self):
        self.replies: dict[str, deque] = defaultdict(deque)
        self.default: dict[str, tuple[int, Any]] = {}
        self.requests: list[tuple[str, str, dict, dict, Any]] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output quiet
                pass

            def _serve(self, method: str):
                url = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                with fake.lock:
                    fake.requests.append(
                        (method, url.path, dict(parse_qsl(url.query, keep_blank_values=True)), dict(self.headers), body)
                    )
                    queue = fake.replies[url.path]
                    reply = (
                        queue.popleft()
                        if queue
                        else fake.default.get(
                            url.path, (404, {"rt_cd": "1", "msg_cd": "NOPATH", "msg1": "no such path"})
                        )
                    )
                if reply == "drop":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                status, payload = reply
                data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
                self.send_response(status)
                self.send_header("content-type", "application/json; charset=utf-8")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._serve("GET")

            def do_POST(self):
                self._serve("POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> FakeKis:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def script(self, path: str, *replies) -> None:
        with self.lock:
            self.replies[path].extend(replies)

    def calls(self, path: str) -> list[tuple[str, str, dict, dict, Any]]:
        with self.lock:
            return [r for r in self.requests if r[1] == path]


TOKEN_PATH = "/oauth2/tokenP"
APPROVAL_PATH = "/oauth2/Approval"


def token_reply(
    token: str = "tok-1", expires_in: int = 86400, expired: str = "2099-01-01 00:00:00"
) -> tuple[int, dict]:
    """The documented tokenP success shape."""
    return 200, {
        "access_token": token,
        "access_token_token_expired": expired,
        "token_type": "Bearer",
        "expires_in": expires_in,
    }


def approval_reply(key: str = "appr-1") -> tuple[int, dict]:
    """The documented Approval success shape."""
    return 200, {"approval_key": key}
