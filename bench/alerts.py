"""Benchmark: price alerts on the feed batch path, and their delivery through a fake Telegram.

1. evaluation: ``--alerts`` active alerts (crossing / greater_than / less_than / channels /
   moving_pct, levels within +-3 % of the first price, ``every_time`` so they stay active)
   spread over the 20 instruments of the real Upbit 15-minute replay; each recorded replay
   batch is stored as tickers and ``alerts.services.alerts_on_tick`` (the tick handler) is
   timed. Prints ms per batch (p50 / p99) and evaluations/s (alerts evaluated / handler time).
2. delivery: ``--fire`` alerts of as many users, each with a linked Telegram chat, fire on one
   batch; the delivery tasks run on ``--workers`` threads (as a Celery worker with
   ``-P threads``) against a local fake Bot API that enforces Telegram's limits (1/s per chat,
   30/s overall, 429 ``retry_after``). Prints fired->delivered latency (p50 / p99 / max), the
   delivery rate, the 429s refused and the messages sent while a 429 was pending ("ignored").

    .venv/bin/python bench/alerts.py [--alerts 10000] [--batches 60] [--fire 1000] [--workers 8]

Runs on the embedded default (SQLite WAL in a temporary directory) unless
``BENCH_DATABASE_URL`` names a PostgreSQL database (it is flushed).
"""

import argparse
import os
import queue
import random
import statistics
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _setup(tmp: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradesite.settings")
    os.environ["TRADESITE_VAR_DIR"] = tmp
    for var in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"):
        os.environ.pop(var, None)
    if os.environ.get("BENCH_DATABASE_URL"):
        os.environ["DATABASE_URL"] = os.environ["BENCH_DATABASE_URL"]
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if os.environ.get("BENCH_DATABASE_URL"):
        call_command("flush", "--no-input", verbosity=0)


def _pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def _board():
    from django.conf import settings

    from markets import services
    from markets.models import Instrument
    from markets.sources.replay import ReplaySource

    source = ReplaySource("upbit_top20", data_dir=Path(settings.MARKETS["DATA_DIR"]) / "coins_intraday", loop=False)
    services.instrument_upsert_many(infos=source.instruments())
    steps = [s.tickers for s in source._steps]
    services.ticker_upsert_many(snapshots=steps[0], source="replay", keep_newer=False)
    by_symbol = {i.symbol: i for i in Instrument.objects.filter(exchange=source.exchange_id)}
    return steps, by_symbol


def _store(batch) -> list[int]:
    from markets import services

    return [t.instrument_id for t in services.ticker_upsert_many(snapshots=batch, source="replay", keep_newer=False)]


def evaluation(args, steps, by_symbol) -> None:
    from alerts import services
    from alerts.models import Alert
    from tests.accounts.factories import UserFactory

    rng = random.Random(13)
    users = [UserFactory() for _ in range(max(1, args.alerts // 400))]
    first = {t.symbol: t.last_price for t in steps[0]}
    instruments = [by_symbol[s] for s in first]
    kinds = ["crossing", "crossing_up", "crossing_down", "greater_than", "less_than", "inside_channel", "moving_up_pct"]
    rows = []
    for k in range(args.alerts):
        inst = instruments[k % len(instruments)]
        price = first[inst.symbol]
        cond = kinds[k % len(kinds)]
        level = (price * Decimal(1 + rng.uniform(-0.03, 0.03))).quantize(Decimal("0.01"))
        a = Alert(
            user=users[k % len(users)],
            instrument=inst,
            condition=cond,
            trigger="every_time",
            cooldown_seconds=3600,
            expires_at=None,
            channels=["app"],
        )
        if cond == "moving_up_pct":
            a.value, a.window_minutes = Decimal("0.5"), 60
        else:
            a.level = level
            if cond == "inside_channel":
                a.level2 = (level * Decimal("1.01")).quantize(Decimal("0.01"))
        rows.append(a)
    Alert.objects.bulk_create(rows, batch_size=2000)
    per_instrument: dict[int, int] = {}
    for a in rows:
        per_instrument[a.instrument_id] = per_instrument.get(a.instrument_id, 0) + 1
    times, fired, evaluated, sizes = [], 0, 0, []
    for batch in steps[1 : args.batches + 1]:
        ids = _store(batch)
        start = time.perf_counter()
        fired += services.alerts_on_tick(instrument_ids=ids)
        times.append(time.perf_counter() - start)
        evaluated += sum(per_instrument.get(i, 0) for i in ids)
        sizes.append(len(ids))
    print(
        f"alerts: {args.alerts} active on {len(instruments)} instruments, {len(times)} batches "
        f"of {min(sizes)}-{max(sizes)} tickers, {evaluated / len(times):,.0f} alerts evaluated per batch"
    )
    print(
        f"evaluate one batch: p50 {1000 * _pct(times, 0.5):.1f} ms, p99 {1000 * _pct(times, 0.99):.1f} ms, "
        f"mean {1000 * statistics.mean(times):.1f} ms; events written {fired}"
    )
    print(f"evaluations/s: {evaluated / sum(times):,.0f}")
    Alert.objects.all().delete()


def deliveries(args, steps, by_symbol) -> None:
    from django.conf import settings
    from django.db import connection

    from accounts.models import User
    from alerts import delivery, services, tasks
    from alerts.models import Alert, Delivery, NotificationChannel
    from tests.alerts.fake_telegram import FakeTelegram

    token = "1000:BENCH"
    fake = FakeTelegram(token, ports=range(18450, 18500), limits=True, keep_alive=True)
    fake.__enter__()
    settings.TELEGRAM_API_URL, settings.TELEGRAM_BOT_TOKEN = fake.url, token
    delivery.set_pacer(None)  # the real one: 25/s overall, 1/s per chat, time.monotonic
    users = User.objects.bulk_create(
        [User(username=f"bench{k}", email=f"bench{k}@example.com") for k in range(args.fire)], batch_size=1000
    )
    users = list(User.objects.filter(username__startswith="bench").order_by("pk"))
    NotificationChannel.objects.bulk_create(
        [NotificationChannel(user=u, kind="telegram", chat_id=900_000 + k, verified=True) for k, u in enumerate(users)]
    )
    inst = by_symbol["BTC/KRW"]
    Alert.objects.bulk_create(
        [
            Alert(user=u, instrument=inst, condition="greater_than", level=Decimal("1"), channels=["app", "telegram"])
            for u in users
        ],
        batch_size=1000,
    )
    jobs: queue.Queue = queue.Queue()
    done: dict[int, float] = {}
    states: dict[str, int] = {}

    def worker():
        while True:
            pk = jobs.get()
            if pk is None:
                break
            state = delivery.deliver(pk)
            done[pk] = time.monotonic()
            states[state] = states.get(state, 0) + 1
        connection.close()

    tasks.deliver.delay = jobs.put  # the worker threads are the Celery worker
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(args.workers)]
    for t in threads:
        t.start()
    ids = [i for i in _store(steps[1]) if i == inst.pk]
    fired_at = time.monotonic()
    n = services.alerts_on_tick(instrument_ids=ids)
    queued_at = time.monotonic()
    for _ in threads:
        jobs.put(None)
    for t in threads:
        t.join(timeout=600)
    sends = sorted(t for t, _, _ in fake.sent)
    latency = [t - fired_at for t in sends]
    fake.__exit__()
    print(
        f"fired {n} alerts in one batch ({1000 * (queued_at - fired_at):.0f} ms to write events and queue); "
        f"{args.workers} delivery threads"
    )
    if latency:
        print(
            f"fired->delivered: p50 {_pct(latency, 0.5):.2f} s, p99 {_pct(latency, 0.99):.2f} s, max {max(latency):.2f} s; "
            f"{len(sends) / max(sends[-1] - sends[0], 1e-9):.1f} messages/s"
        )
    print(
        f"delivered {len(fake.sent)}/{n}; states {dict(sorted(states.items()))}; "
        f"429 refused {fake.refused_429}, sent while a 429 was pending {fake.ignored_429}"
    )
    print(f"delivery rows: {Delivery.objects.filter(state='sent').count()} sent")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--fire", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        _setup(tmp)
        steps, by_symbol = _board()
        print(f"database: {os.environ.get('BENCH_DATABASE_URL') and 'postgresql' or 'sqlite'}")
        evaluation(args, steps, by_symbol)
        deliveries(args, steps, by_symbol)


if __name__ == "__main__":
    main()
