"""A local fake of the Telegram Bot API (http.server in a thread) for tests and bench/alerts.py.

``POST /bot<token>/<method>`` with a JSON body, answered as the Bot API does
(``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code", "description", "parameters"}``):

- ``sendMessage``: recorded in ``sent`` as ``(clock(), chat_id, text)``; a chat in ``blocked``
  gets 403; ``script["sendMessage"]`` is a list of ``(status, body)`` answers used first.
- ``limits=True``: Telegram's limits enforced: a second message to one chat within
  ``chat_interval`` s, or more than ``rate`` in any 1 s, is refused with 429 ``retry_after``;
  a message to a chat (or anyone, after a global 429) before its ``retry_after`` has passed is
  counted in ``ignored_429``.
- ``getUpdates``: the queued ``updates`` with ``update_id >= offset``; those below ``offset``
  are forgotten (confirmed), as Telegram does.

It listens on 127.0.0.1 at the first free port of ``ports``; connections are closed after each
answer unless ``keep_alive`` (the bench), so a stopped fake never answers a kept connection.
"""

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeTelegram:
    def __init__(
        self,
        token: str = "123:TEST",
        *,
        ports: Iterable[int] = range(18400, 18450),
        clock: Callable[[], float] = time.monotonic,
        limits: bool = False,
        rate: int = 30,
        chat_interval: float = 1.0,
        retry_after: int = 1,
        keep_alive: bool = False,
    ) -> None:
        self.token = token
        self.clock = clock
        self.limits = limits
        self.rate = rate
        self.chat_interval = chat_interval
        self.retry_after = retry_after
        self.keep_alive = keep_alive
        self.lock = threading.Lock()
        self.calls: list[tuple[float, str, dict]] = []
        self.sent: list[tuple[float, int, str]] = []
        self.blocked: set[int] = set()
        self.script: dict[str, list[tuple[int, dict]]] = {}
        self.updates: list[dict] = []
        self.refused_429 = 0
        self.ignored_429 = 0
        self._last_chat: dict[int, float] = {}
        self._window: deque[float] = deque()
        self._chat_banned_until: dict[int, float] = {}
        self._banned_until = 0.0
        self._message_id = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b"{}"
                try:
                    params = json.loads(raw or b"{}")
                except ValueError:
                    params = {}
                status, body = fake._answer(self.path, params)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if not fake.keep_alive:  # a stopped fake must not go on answering on a kept connection
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(data)

        self.server = None
        for port in ports:
            try:
                self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
                break
            except OSError:
                continue
        if self.server is None:
            raise RuntimeError("no free port for the fake Telegram server")
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FakeTelegram":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    @staticmethod
    def error(code: int, description: str, retry_after: int | None = None) -> tuple[int, dict]:
        body: dict = {"ok": False, "error_code": code, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        return code, body

    def methods(self) -> list[str]:
        return [m for _, m, _ in self.calls]

    def _answer(self, path: str, params: dict) -> tuple[int, dict]:
        prefix = f"/bot{self.token}/"
        if not path.startswith(prefix):
            return self.error(401, "Unauthorized")
        method = path[len(prefix) :]
        with self.lock:
            now = self.clock()
            self.calls.append((now, method, params))
            scripted = self.script.get(method)
            if scripted:
                return scripted.pop(0)
            if method == "sendMessage":
                return self._send(now, params)
            if method == "getUpdates":
                offset = params.get("offset")
                if offset is not None:
                    self.updates = [u for u in self.updates if u["update_id"] >= offset]
                limit = int(params.get("limit") or 100)
                return 200, {"ok": True, "result": self.updates[:limit]}
            if method in ("setWebhook", "deleteWebhook"):
                return 200, {"ok": True, "result": True}
            return self.error(404, "Not Found: method not found")

    def _send(self, now: float, params: dict) -> tuple[int, dict]:
        chat = params.get("chat_id")
        if not isinstance(chat, int) or not params.get("text"):
            return self.error(400, "Bad Request: chat_id and text are required")
        if chat in self.blocked:
            return self.error(403, "Forbidden: bot was blocked by the user")
        if self.limits:
            if now < self._banned_until or now < self._chat_banned_until.get(chat, 0.0):
                self.ignored_429 += 1
            while self._window and self._window[0] <= now - 1.0:
                self._window.popleft()
            if len(self._window) >= self.rate:
                self.refused_429 += 1
                self._banned_until = now + self.retry_after
                return self.error(429, "Too Many Requests: retry after", self.retry_after)
            last = self._last_chat.get(chat)
            if last is not None and now - last < self.chat_interval - 0.005:
                self.refused_429 += 1
                self._chat_banned_until[chat] = now + self.retry_after
                return self.error(429, "Too Many Requests: retry after", self.retry_after)
            self._window.append(now)
            self._last_chat[chat] = now
        self.sent.append((now, chat, params["text"]))
        self._message_id += 1
        return 200, {
            "ok": True,
            "result": {
                "message_id": self._message_id,
                "chat": {"id": chat},
                "date": int(time.time()),
                "text": params["text"],
            },
        }


def start_update(update_id: int, chat_id: int, text: str, username: str = "learner") -> dict:
    """A private-chat message update as the Bot API sends it."""
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "from": {"id": chat_id, "is_bot": False, "first_name": "L", "username": username},
            "chat": {"id": chat_id, "type": "private"},
            "date": int(time.time()),
            "text": text,
        },
    }
