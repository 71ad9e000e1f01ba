"""Benchmark: price alerts on the feed batch path, and their delivery through a fake Telegram.

1. evaluation: ``--alerts`` active alerts (crossing levels 5-20 % from the first price;
   greater_than / less_than thresholds 2-15 % away; entering a channel 3-12 % above; moving up
   5 % in 3 days; trigger ``once``, TradingView's default) spread over ``--instruments`` KRX stocks
   with their real daily closes (``../shared/data/krx_daily``, 2023-12-05 on). Each batch is 20
   of them moving to their next session's close, stored as tickers; then
   ``alerts.services.alerts_on_tick`` (the tick handler) is timed. The index is warmed first
   (as a feed does at its start). Prints ms per batch (p50 / p99 / max, split by batches with
   and without a fire) and evaluations/s.
2. delivery: ``--fire`` alerts of as many users, each with a linked Telegram chat, fire on one
   batch; the delivery tasks run on ``--workers`` threads (as a Celery worker with
   ``-P threads``) against a local fake Bot API that enforces Telegram's limits (1/s per chat,
   30/s overall, 429 ``retry_after``). Prints fired->delivered latency (p50 / p99 / max), the
   delivery rate, the 429s refused and the messages sent while a 429 was pending ("ignored").

    .venv/bin/python bench/alerts.py [--alerts 100000] [--instruments 1000] [--batches 200] [--fire 1000] [--workers 8]

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


def _krx_board(n_instruments: int):
    """``n_instruments`` KRX stocks with every session of the real 2023-12 -> 2025-06 daily file
    (``../shared/data/krx_daily``), registered with their first close as the ticker; returns
    (sessions: list of (date, {code: close})), instruments by code), or None when the file is absent."""
    import pandas as pd
    from django.conf import settings

    from markets import services
    from markets.models import Instrument
    from markets.sources.base import InstrumentInfo

    path = Path(settings.MARKETS["SHARED_DATA_DIR"]) / "krx_daily" / "krx_daily_ohlcv.csv.gz"
    if not path.exists():
        return None
    df = pd.read_csv(path, dtype={"code": str}, usecols=["code", "name", "date", "close"])
    df = df[df["close"] > 0]
    full = df.groupby("code")["date"].count()
    codes = sorted(full[full == full.max()].index)[:n_instruments]
    df = df[df["code"].isin(codes)]
    names = df.groupby("code")["name"].first().to_dict()
    services.instrument_upsert_many(
        infos=[
            InstrumentInfo(exchange="krx", symbol=c, base=c, quote="KRW", market="krx", name_ko=names[c]) for c in codes
        ]
    )
    wide = df.pivot(index="date", columns="code", values="close").sort_index()
    sessions = [(d, {c: Decimal(str(int(v))) for c, v in row.items()}) for d, row in wide.iterrows()]
    by_code = {i.symbol: i for i in Instrument.objects.filter(exchange="krx", symbol__in=codes)}
    return sessions, by_code


def _krx_snapshots(session, codes):
    from datetime import datetime

    from core.timeparse import SEOUL
    from markets.sources.base import TickerSnapshot

    day, closes = session
    t = datetime.fromisoformat(f"{day}T15:30:00").replace(tzinfo=SEOUL)
    return [TickerSnapshot("krx", c, closes[c], None, None, None, None, t) for c in codes]


def evaluation(args) -> None:
    from alerts import services
    from alerts.index import INDEX
    from alerts.models import Alert, AlertEvent

    board = _krx_board(args.instruments)
    if board is None:
        print("alerts: ../shared/data/krx_daily absent: the evaluation bench needs its 1,000 real KRX series")
        return
    sessions, by_code = board
    codes = sorted(by_code)
    _store(_krx_snapshots(sessions[0], codes))
    rng = random.Random(13)
    from accounts.models import User

    # no password hashing (UserFactory's PBKDF2 took minutes for 250 users); unusable passwords
    n_users = max(1, args.alerts // 400)
    User.objects.bulk_create(
        [User(username=f"eval{k}", email=f"eval{k}@example.com", password="!") for k in range(n_users)], batch_size=1000
    )
    users = list(User.objects.filter(username__startswith="eval").order_by("pk"))
    first = sessions[0][1]
    kinds = [
        "crossing",
        "crossing_up",
        "crossing_down",
        "greater_than",
        "less_than",
        "entering_channel",
        "moving_up_pct",
    ]
    rows = []
    for k in range(args.alerts):
        code = codes[k % len(codes)]
        price = first[code]
        cond = kinds[k % len(kinds)]
        a = Alert(
            user=users[k % len(users)],
            instrument=by_code[code],
            condition=cond,
            trigger="once",  # TradingView's default: fire, then stop
            expires_at=None,
            channels=["app"],
        )

        def at(lo, hi, price=price):
            return (price * Decimal(1 + rng.uniform(lo, hi))).quantize(Decimal("1"))

        if cond == "moving_up_pct":
            a.value, a.window_minutes = Decimal("5"), 3 * 24 * 60
        elif cond == "greater_than":  # a threshold not reached yet, as people set them
            a.level = at(0.02, 0.15)
        elif cond == "less_than":
            a.level = at(-0.15, -0.02)
        elif cond == "entering_channel":
            a.level, a.level2 = at(0.03, 0.06), at(0.08, 0.12)
        else:  # a level 5-20 % away, either side
            a.level = at(0.05, 0.20) if rng.random() < 0.5 else at(-0.20, -0.05)
        rows.append(a)
    Alert.objects.bulk_create(rows, batch_size=2000)
    INDEX.clear()
    start = time.perf_counter()
    loaded = INDEX.warm()
    warm = time.perf_counter() - start
    times, fired, sizes, firing = [], 0, [], []
    per_batch = 20
    rounds = len(codes) // per_batch
    for b in range(args.batches):
        session = sessions[1 + b // rounds]
        batch_codes = codes[(b % rounds) * per_batch : (b % rounds + 1) * per_batch]
        ids = _store(_krx_snapshots(session, batch_codes))
        start = time.perf_counter()
        n = services.alerts_on_tick(instrument_ids=ids)
        times.append(time.perf_counter() - start)
        fired += n
        firing.append(n)
        sizes.append(len(ids))
    per_instrument = args.alerts / len(codes)
    quiet = [t for t, n in zip(times, firing, strict=True) if n == 0]
    busy = [t for t, n in zip(times, firing, strict=True) if n > 0]
    print(
        f"alerts: {args.alerts:,} active on {len(codes):,} instruments (real KRX daily closes), "
        f"{len(times)} batches of {min(sizes)}-{max(sizes)} tickers, {per_batch * per_instrument:,.0f} alerts per batch; "
        f"index warmed in {1000 * warm:.0f} ms ({loaded:,} alerts)"
    )
    print(
        f"evaluate one batch: p50 {1000 * _pct(times, 0.5):.2f} ms, p99 {1000 * _pct(times, 0.99):.2f} ms, "
        f"max {1000 * max(times):.2f} ms, mean {1000 * statistics.mean(times):.2f} ms; "
        f"events written {fired} in {len(busy)} batches"
    )
    if quiet and busy:
        print(
            f"  batches without a fire: p50 {1000 * _pct(quiet, 0.5):.2f} ms, p99 {1000 * _pct(quiet, 0.99):.2f} ms; "
            f"with fires: p50 {1000 * _pct(busy, 0.5):.2f} ms, p99 {1000 * _pct(busy, 0.99):.2f} ms "
            f"({statistics.mean(firing[i] for i, t in enumerate(times) if firing[i]):.1f} events per such batch)"
        )
    print(f"evaluations/s: {len(times) * per_batch * per_instrument / sum(times):,.0f}")
    AlertEvent.objects.all().delete()
    Alert.objects.all().delete()
    INDEX.clear()


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
    print(f"delivery rows: {Delivery.objects.filter(state='sent').count()} sent; {_visibility()}")


def _visibility() -> str:
    """Why the main thread could miss rows the delivery threads committed: its connection's state,
    and the count a fresh thread (a fresh connection) sees."""
    from django.db import connection

    from alerts.models import Delivery

    status = "-"
    raw = connection.connection
    if raw is not None and hasattr(raw, "info"):
        status = raw.info.transaction_status.name  # psycopg: IDLE, INTRANS, ...
    seen: list[int] = []

    def fresh():
        seen.append(Delivery.objects.filter(state="sent").count())
        connection.close()

    t = threading.Thread(target=fresh)
    t.start()
    t.join()
    return (
        f"main connection autocommit={connection.get_autocommit()} in_atomic_block={connection.in_atomic_block} "
        f"server transaction={status}; a fresh thread counts {seen[0]} sent"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=100_000)
    parser.add_argument("--instruments", type=int, default=1000)
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--fire", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        _setup(tmp)
        steps, by_symbol = _board()
        print(f"database: {os.environ.get('BENCH_DATABASE_URL') and 'postgresql' or 'sqlite'}")
        if args.alerts:
            evaluation(args)
        if args.fire:
            deliveries(args, steps, by_symbol)


if __name__ == "__main__":
    main()
