"""A local fake exchange WebSocket server replaying recorded messages (tests only).

``FakeExchange(frames, subscribe_frames=n)`` listens on a free port in 19400-19499 (helper
h4's range); each connection waits for ``n`` subscription frames (counted in
``subscriptions``), then sends the next recorded frames: all that remain, or ``per_connection``
of them before closing the connection (a drop the client must survive). ``binary`` sends them
as binary frames (Upbit does). ``received`` keeps every frame a client sent.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
from pathlib import Path

from websockets.asyncio.server import serve

PORTS = range(19400, 19500)


def free_port() -> int:
    for port in PORTS:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 19400-19499")


def recorded(path: Path) -> list[str]:
    """The exchange messages of a recording, as the text the exchange sent: ``{"recv_ts", "msg"}``
    lines give ``msg``; other lines are messages themselves."""
    opener = gzip.open if path.suffix == ".gz" else open
    out = []
    with opener(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            row = json.loads(line)
            out.append(json.dumps(row["msg"]) if isinstance(row, dict) and "recv_ts" in row else line.strip())
    return out


class FakeExchange:
    def __init__(
        self,
        frames: list[str],
        *,
        subscribe_frames: int = 1,
        per_connection: int | None = None,
        binary: bool = False,
        greeting: str | None = None,
    ) -> None:
        self.frames = frames
        self.subscribe_frames = subscribe_frames
        self.per_connection = per_connection
        self.binary = binary
        self.greeting = greeting
        self.position = 0
        self.connections = 0
        self.subscriptions = 0
        self.received: list[str] = []
        self.port = free_port()
        self.url = f"ws://127.0.0.1:{self.port}"
        self._server = None

    async def _handler(self, ws) -> None:
        self.connections += 1
        if self.greeting:
            await ws.send(self.greeting)
        for _ in range(self.subscribe_frames):
            frame = await ws.recv()
            self.received.append(frame)
            self.subscriptions += 1
        sent = 0
        while self.position < len(self.frames):
            if self.per_connection is not None and sent >= self.per_connection:
                return  # drop the connection
            frame = self.frames[self.position]
            self.position += 1
            sent += 1
            await ws.send(frame.encode() if self.binary else frame)
        await ws.wait_closed()

    async def start(self) -> FakeExchange:
        self._server = await serve(self._handler, "127.0.0.1", self.port)
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None


async def wait_until(condition, *, timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


class ThreadedFake:
    """A ``FakeExchange`` served from its own thread and event loop (for sync callers such as
    ``call_command``, which run their own ``asyncio.run``)."""

    def __init__(self, fake: FakeExchange) -> None:
        import threading

        self.fake = fake
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> FakeExchange:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.fake.start(), self._loop).result(10)
        return self.fake

    def __exit__(self, *exc) -> None:
        asyncio.run_coroutine_threadsafe(self.fake.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
