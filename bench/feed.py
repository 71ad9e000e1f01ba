"""Benchmark: the live-board pipeline on the embedded default (SQLite + in-memory layer).

Measures, on the real 20-coin Upbit replay:
1. store: upserting one batch of 20 tickers and rendering the board (ms per batch);
2. fan-out: feed batches pushed to N connected /ws/tickers/ clients, time from the start of a
   batch until every client has its board update (ms per batch, p50 / p95).

The board promises an update at least once a second; these figures show the headroom.

    .venv/bin/python bench/feed.py [--batches 200] [--clients 100]
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

    print(
        f"store+render, batch of 20 tickers ({len(store_ms)} batches, SQLite WAL): "
        f"p50 {statistics.median(store_ms):.1f} ms, p95 {_pct(store_ms, 0.95):.1f} ms"
    )
    print(
        f"fan-out to {args.clients} WebSocket clients ({fan_batches} batches, in-memory layer): "
        f"p50 {statistics.median(fan_ms):.1f} ms, p95 {_pct(fan_ms, 0.95):.1f} ms per batch "
        f"(budget: 1000 ms per batch; layer: {args.layer})"
    )


if __name__ == "__main__":
    main()
