"""A local fake KIS realtime WebSocket server (websockets.serve on 127.0.0.1) and a fake clock.

It speaks the documented wire: it reads registration frames (``header.tr_type`` 1/2,
``body.input.tr_id/tr_key``), answers each with an acknowledgement carrying an AES key and iv,
records every frame it receives per connection and the registrations held, and lets a test push
data frames, send ``PINGPONG``, drop the connections or go down.
"""

from __future__ import annotations

import asyncio
import itertools
import json

from websockets.asyncio.server import serve

AES_KEY = "0123456789abcdef0123456789abcdef"  # 32 chars, as KIS's acks carry
AES_IV = "fedcba9876543210"  # 16 chars

_ports = itertools.count(18210)


def next_port() -> int:
    """A fresh port of this helper's range (18200-18299) for each server."""
    port = next(_ports)
    if port > 18299:
        raise RuntimeError("out of test ports")
    return port


class FakeKis:
    def __init__(self, port: int, *, reject: set[tuple[str, str]] | None = None) -> None:
        self.port = port
        self.url = f"ws://127.0.0.1:{port}"
        self.reject = reject or set()
        self.sessions: list[list[dict]] = []  # per connection: every registration frame received
        self.held: list[set[tuple[str, str]]] = []  # per connection: registrations held now
        self.max_held = 0
        self.echoes: list[str] = []
        self.sockets: list = []
        self.server = None

    async def handler(self, ws) -> None:
        frames: list[dict] = []
        held: set[tuple[str, str]] = set()
        self.sessions.append(frames)
        self.held.append(held)
        self.sockets.append(ws)
        try:
            async for text in ws:
                message = json.loads(text)
                if message.get("header", {}).get("tr_id") == "PINGPONG":
                    self.echoes.append(text)
                    continue
                frames.append(message)
                header, body = message["header"], message["body"]["input"]
                registration = (body["tr_id"], body["tr_key"])
                ok = registration not in self.reject
                if header["tr_type"] == "1" and ok:
                    held.add(registration)
                elif header["tr_type"] == "2":
                    held.discard(registration)
                self.max_held = max(self.max_held, len(held))
                ack = {
                    "header": {"tr_id": registration[0], "tr_key": registration[1], "encrypt": "N"},
                    "body": {
                        "rt_cd": "0" if ok else "1",
                        "msg_cd": "OPSP0000" if ok else "OPSP0008",
                        "msg1": ("SUBSCRIBE SUCCESS" if header["tr_type"] == "1" else "UNSUBSCRIBE SUCCESS")
                        if ok
                        else "MAX SUBSCRIBE OVER",
                        "output": {"iv": AES_IV, "key": AES_KEY},
                    },
                }
                await ws.send(json.dumps(ack))
        except Exception:
            pass
        finally:
            if ws in self.sockets:
                self.sockets.remove(ws)

    async def start(self) -> FakeKis:
        self.server = await serve(self.handler, "127.0.0.1", self.port)
        return self

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None

    async def push(self, text: str) -> None:
        for ws in list(self.sockets):
            await ws.send(text)

    async def pingpong(self) -> str:
        text = json.dumps({"header": {"tr_id": "PINGPONG", "datetime": "20250718140337"}})
        await self.push(text)
        return text

    async def drop(self) -> None:
        for ws in list(self.sockets):
            await ws.close()


class FakeTime:
    """Monotonic seconds advanced only by ``sleep`` (which yields to the loop for real, briefly)."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)
        await asyncio.sleep(0.002)


async def until(condition, timeout: float = 5.0) -> None:
    """Wait (real time) until ``condition()`` is true; AssertionError after ``timeout`` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.005)


def approval_key() -> str:
    """A stand-in for ``KIS_REALTIME["APPROVAL_KEY_FUNCTION"]`` in tests (no KIS account)."""
    return "approval-test"


class ThreadedFakeKis:
    """A ``FakeKis`` served from its own thread and event loop, for code that runs ``asyncio.run``
    itself (management commands). ``push`` is thread-safe."""

    def __init__(self, port: int) -> None:
        import threading

        self.fake = FakeKis(port)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> FakeKis:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.fake.start(), self.loop).result(5)
        return self.fake

    def push(self, text: str) -> None:
        asyncio.run_coroutine_threadsafe(self.fake.push(text), self.loop).result(5)

    def __exit__(self, *exc) -> None:
        asyncio.run_coroutine_threadsafe(self.fake.stop(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
