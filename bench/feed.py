"""Benchmark: the live-board pipeline on the embedded default (SQLite + in-memory layer).

Measures, on the real 20-coin Upbit replay:
1. store: upserting one batch of 20 tickers and rendering the board (ms per batch);
2. fan-out: feed batches pushed to N connected /ws/tickers/ clients, time from the start of a
   batch until every client has its board update (ms per batch, p50 / p95).

3. with ``--ws N``: exchange message -> /ws/tickers/ client through a local fake Bithumb
   WebSocket server (issue 17): the recorded ccxws BTC_KRW ticker message
   (``../shared/data/bithumb/library_fixtures/ws_messages_ccxws.jsonl``) sent N times, one at a
   time, through ``markets.sources.ws_source.WsSource`` and the feed; per message the time from
   the server's send until the slowest client has the board (p50 / p95 / p99; budget p99 <= 250 ms).

The board promises an update at least once a second; these figures show the headroom.

    .venv/bin/python bench/feed.py [--batches 200] [--clients 100] [--ws 200 --ws-port 0]
"""

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _setup(tmp: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradesite.settings")
    os.environ["TRADESITE_VAR_DIR"] = tmp
    for var in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"):
        os.environ.pop(var, None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def _fan_out(source, clients: int, batches: int) -> list[float]:
    from channels.testing import WebsocketCommunicator

    from markets.feed import run_feed
    from tradesite.asgi import application

    communicators = []
    for _ in range(clients):
        comm = WebsocketCommunicator(application, "/ws/tickers/", headers=[(b"origin", b"http://127.0.0.1:8000")])
        connected, _ = await comm.connect()
        assert connected
        await comm.receive_json_from(timeout=10)  # snapshot
        communicators.append(comm)
    latencies = []
    for _ in range(batches):
        start = time.perf_counter()
        await run_feed(source, max_batches=1)
        await asyncio.gather(*(c.receive_json_from(timeout=10) for c in communicators))
        latencies.append((time.perf_counter() - start) * 1000)
    for comm in communicators:
        await comm.disconnect()
    return latencies


class _NoRest:
    """The WebSocket source's REST side, unused here (the instrument is stored beforehand)."""

    def instruments(self):
        return []

    def tickers(self, symbols=None):
        return []


async def _ws_latency(clients: int, messages: int, port: int) -> list[float]:
    import json

    from channels.testing import WebsocketCommunicator
    from django.conf import settings
    from websockets.asyncio.server import serve

    from markets.feed import run_feed
    from markets.sources.ws_source import WsSource
    from tradesite.asgi import application

    path = Path(settings.MARKETS["SHARED_DATA_DIR"]) / "bithumb" / "library_fixtures" / "ws_messages_ccxws.jsonl"
    ticker = next(line for line in path.read_text().splitlines() if json.loads(line).get("type") == "ticker")
    outbox: asyncio.Queue[str | None] = asyncio.Queue()

    async def exchange(ws):
        for _ in range(2):  # the ticker and transaction subscriptions
            await ws.recv()
        while (frame := await outbox.get()) is not None:
            await ws.send(frame)

    server = await serve(exchange, "127.0.0.1", port)
    bound = server.sockets[0].getsockname()[1]
    source = WsSource("bithumb", url=f"ws://127.0.0.1:{bound}", rest=_NoRest(), idle_timeout=None)
    feed = asyncio.create_task(run_feed(source, symbols=["BTC/KRW"]))
    communicators = []
    for _ in range(clients):
        comm = WebsocketCommunicator(application, "/ws/tickers/", headers=[(b"origin", b"http://127.0.0.1:8000")])
        connected, _ = await comm.connect()
        assert connected
        await comm.receive_json_from(timeout=10)  # snapshot
        communicators.append(comm)
    latencies = []
    try:
        for n in range(messages + 1):
            start = time.perf_counter()
            outbox.put_nowait(ticker)
            await asyncio.gather(*(c.receive_json_from(timeout=10) for c in communicators))
            if n:  # the first one also waits for the connection and subscription
                latencies.append((time.perf_counter() - start) * 1000)
    finally:
        feed.cancel()
        await asyncio.gather(feed, return_exceptions=True)
        for comm in communicators:
            await comm.disconnect()
        outbox.put_nowait(None)  # ends the connection handler
        server.close()
        await server.wait_closed()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument(
        "--layer",
        choices=["fanout", "channels"],
        default="fanout",
        help="fanout: the project's layer (core.channel_layers); channels: Channels' own InMemoryChannelLayer",
    )
    parser.add_argument("--ws", type=int, default=0, help="also measure N exchange messages through a fake server")
    parser.add_argument("--ws-port", type=int, default=0, help="the fake exchange server's port (0: any free one)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        _setup(tmp)
        from django.conf import settings

        if args.layer == "channels":
            settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

        from markets import services
        from markets.feed import store_batch
        from markets.sources.replay import ReplaySource

        async def no_sleep(_):
            return None

        data_dir = Path(settings.MARKETS["DATA_DIR"]) / "coins_intraday"
        source = ReplaySource("upbit_top20", data_dir=data_dir, sleep=no_sleep, loop=True)
        services.instrument_upsert_many(infos=source.instruments())

        async def batches(n):
            out = []
            async for batch in source.stream_tickers():
                out.append(batch)
                if len(out) == n:
                    return out

        recorded = asyncio.run(batches(args.batches))
        store_ms = []
        for batch in recorded:
            start = time.perf_counter()
            store_batch(batch=batch, source="replay")
            store_ms.append((time.perf_counter() - start) * 1000)

        fan_batches = min(args.batches, 50)
        fan_ms = asyncio.run(_fan_out(source, args.clients, fan_batches))
        ws_ms = []
        if args.ws:
            services.instrument_upsert_many(infos=[_bithumb_btc()])
            ws_ms = asyncio.run(_ws_latency(args.clients, args.ws, args.ws_port))

    print(
        f"store+render, batch of 20 tickers ({len(store_ms)} batches, SQLite WAL): "
        f"p50 {statistics.median(store_ms):.1f} ms, p95 {_pct(store_ms, 0.95):.1f} ms"
    )
    print(
        f"fan-out to {args.clients} WebSocket clients ({fan_batches} batches, in-memory layer): "
        f"p50 {statistics.median(fan_ms):.1f} ms, p95 {_pct(fan_ms, 0.95):.1f} ms per batch "
        f"(budget: 1000 ms per batch; layer: {args.layer})"
    )
    if ws_ms:
        print(
            f"exchange message -> {args.clients} /ws/tickers/ clients through a fake Bithumb WebSocket "
            f"({len(ws_ms)} messages): p50 {statistics.median(ws_ms):.1f} ms, p95 {_pct(ws_ms, 0.95):.1f} ms, "
            f"p99 {_pct(ws_ms, 0.99):.1f} ms (budget: p99 <= 250 ms)"
        )


def _bithumb_btc():
    from markets.sources.base import InstrumentInfo

    return InstrumentInfo(exchange="bithumb", symbol="BTC/KRW", base="BTC", quote="KRW", market="crypto")


if __name__ == "__main__":
    main()
