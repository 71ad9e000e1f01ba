"""Benchmark: the taker-volume ETL on the recorded Binance USD-M trades, repeated to 10 million.

Prints, in one run:

1. parse: decimal text -> exact integer units (the part of reading a file that is not I/O),
   trades/s and peak memory;
2. transform: units -> de-duplicated per-minute taker sums (``etl.transform``), trades/s and
   peak memory (best of three runs, and the first run, which also pays for touching fresh
   memory), side by side with a re-implementation of the prototype's approach (per-poll
   concat, ``drop_duplicates`` without trade ids, times cut to seconds, per-side resample
   joined by row position) on the same trades, with how far the prototype's result is off;
3. load on PostgreSQL: ``etl.services.taker_volume_load`` of the 10M-trade batch, minute
   rows/s, then the same load again (the idempotent re-import);
4. end to end: a 1,000,000-trade Binance CSV.gz imported by ``taker_volume_import_file``
   (read, parse, transform, load), seconds.

Data: the 23,635 taker trades of ``etl/data/binance_usdm_BTCUSDT_trades.csv.gz``
(two recorded windows). To make a long continuous tape, the two windows are spliced end to end
and the pair repeated, each copy shifted in time to follow the previous one and the trade ids
renumbered consecutively: real prices, quantities, sides and intra-window timing, ~1,400 trades
a minute like the recording. Peak memory is the highest resident size sampled during the phase
above the size at its start.

    .venv/bin/python bench/etl.py [--trades 10000000] [--file-trades 1000000]
        [--prototype-trades 200000] [--database-url postgres://postgres@127.0.0.1:5432/tradesite_bench_etl]

The database is created when missing and dropped afterwards (``--keep-db`` keeps it).
"""

from __future__ import annotations

import argparse
import gzip
import os
import resource
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pandas as pd
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RECORDING = ROOT / "tests" / "fixtures" / "trades" / "binance_usdm_BTCUSDT_trades.csv.gz"
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/tradesite_bench_etl"
SPLICE_GAP_US = 50_000  # between the end of one copy and the start of the next


def rss_mb() -> float:
    """Resident set size of this process now (Linux /proc), MB."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


@contextmanager
def measured(results: dict, name: str):
    """Wall time and peak memory of the block into ``results[name]``: the highest resident
    size sampled every 5 ms, above the size at entry (MB). Sampling the RSS, unlike
    tracemalloc, does not slow the measured code down."""
    base = peak = rss_mb()
    done = threading.Event()

    def sample():
        nonlocal peak
        while not done.wait(0.005):
            peak = max(peak, rss_mb())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    try:
        yield
    finally:
        seconds = time.perf_counter() - start
        done.set()
        sampler.join()
        results[name] = (seconds, max(peak, rss_mb()) - base)


def ensure_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    conn = psycopg.connect(
        host=parsed.hostname,
        port=parsed.port or 5432,
        user=parsed.username,
        password=parsed.password,
        dbname="postgres",
    )
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if not cur.fetchone():
            cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()


def drop_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    conn = psycopg.connect(
        host=parsed.hostname,
        port=parsed.port or 5432,
        user=parsed.username,
        password=parsed.password,
        dbname="postgres",
    )
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{parsed.path.lstrip("/")}"')
    conn.close()


def setup_django(url: str, var_dir: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["TRADESITE_VAR_DIR"] = var_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradesite.settings")
    for var in ("REDIS_URL", "CELERY_BROKER_URL"):
        os.environ.pop(var, None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def recorded_trades() -> pd.DataFrame:
    """The recording's taker trades as text columns (RAW_COLUMNS), sorted by time."""
    from etl.formats import read_binance_csv

    raw = read_binance_csv(RECORDING).frame
    return raw[~raw["no_taker"]].drop(columns="no_taker").reset_index(drop=True)


def tape(raw: pd.DataFrame, n: int) -> dict[str, np.ndarray]:
    """``n`` trades as a continuous tape: the recorded windows spliced end to end and repeated
    (see the module docstring). Returns numpy columns (price/amount still text)."""
    ts = raw["ts_us"].to_numpy()
    windows = np.split(np.arange(ts.size), np.flatnonzero(np.diff(ts) > 60 * 60 * 1_000_000) + 1)
    cycle_ts, cursor = [], 0
    for rows in windows:  # one cycle: window after window, each right after the previous
        rel = ts[rows] - ts[rows[0]]
        cycle_ts.append(rel + cursor)
        cursor += int(rel[-1]) + SPLICE_GAP_US
    cycle_ts = np.concatenate(cycle_ts)
    order = np.concatenate(windows)
    reps = -(-n // ts.size)
    start_us = 1_767_225_600_000_000  # 2026-01-01 00:00 UTC
    times = (np.tile(cycle_ts, reps) + np.repeat(np.arange(reps, dtype=np.int64) * cursor, ts.size))[:n] + start_us
    pick = np.tile(order, reps)[:n]
    return {
        "trade_id": np.arange(n, dtype=np.int64) + 7_000_000_000,
        "ts_us": times,
        "is_buy": raw["is_buy"].to_numpy()[pick],
        "price": raw["price"].to_numpy()[pick],
        "amount": raw["amount"].to_numpy()[pick],
    }


def prototype(trades: dict[str, np.ndarray]) -> pd.DataFrame:
    """The prototype's approach, re-implemented: poll the latest 1000 trades once a minute,
    concatenate every poll onto what was collected, ``drop_duplicates`` after dropping the trade
    id and cutting times to seconds, then resample each side per minute and join the two series
    by row position. Floats throughout."""
    ts = trades["ts_us"]
    boundaries = np.arange(ts[0] // 60_000_000 + 1, ts[-1] // 60_000_000 + 2) * 60_000_000
    ends = np.searchsorted(ts, boundaries)
    collected = pd.DataFrame(
        {"time": pd.Series([], dtype="datetime64[s]"), "price": [], "qty": [], "is_buyer_maker": []}
    )
    for end in ends:
        begin = max(0, end - 1000)  # the recent-trades endpoint returns the latest 1000
        poll = pd.DataFrame(
            {
                "id": trades["trade_id"][begin:end],
                "time": pd.to_datetime(ts[begin:end] // 1_000_000, unit="s"),
                "price": trades["price"][begin:end].astype(float),
                "qty": trades["amount"][begin:end].astype(float),
                "is_buyer_maker": ~trades["is_buy"][begin:end],
            }
        ).drop(columns="id")
        collected = pd.concat([collected, poll], ignore_index=True).drop_duplicates()
    collected = collected.set_index("time")
    buy = collected.loc[~collected["is_buyer_maker"].astype(bool), "qty"].resample("1min").sum()
    sell = collected.loc[collected["is_buyer_maker"].astype(bool), "qty"].resample("1min").sum()
    rows = min(len(buy), len(sell))
    return pd.DataFrame({"buy": buy.to_numpy()[:rows], "sell": sell.to_numpy()[:rows]}, index=buy.index[:rows])


def exact_transform(trades: dict[str, np.ndarray], units: tuple, pair):
    from etl import transform

    price, price_scale, amount, amount_scale = units
    batch = transform.from_units(
        pair,
        trade_id=trades["trade_id"],
        ts_us=trades["ts_us"],
        is_buy=trades["is_buy"],
        price=price,
        price_scale=price_scale,
        amount=amount,
        amount_scale=amount_scale,
    )
    batch, _ = transform.deduplicate(batch)
    spans = transform.continuous_spans(batch)
    return batch, spans, transform.minute_totals(batch, spans)


def write_csv(trades: dict[str, np.ndarray], path: Path) -> None:
    frame = pd.DataFrame(
        {
            "id": trades["trade_id"],
            "price": trades["price"],
            "qty": trades["amount"],
            "quoteQty": "0",
            "time": trades["ts_us"] // 1000,
            "isBuyerMaker": np.where(trades["is_buy"], "false", "true"),
        }
    )
    with gzip.open(path, "wt", compresslevel=1) as fh:
        frame.to_csv(fh, index=False)


def clear_tables() -> None:
    from etl.models import CoverageSpan, IngestRun, PairState, StagedTrade, TakerVolume

    for model in (TakerVolume, CoverageSpan, StagedTrade, PairState, IngestRun):
        model.objects.all().delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trades", type=int, default=10_000_000)
    parser.add_argument("--file-trades", type=int, default=1_000_000)
    parser.add_argument(
        "--prototype-trades",
        type=int,
        default=200_000,
        help="the prototype is quadratic in the trades collected (it re-concatenates after every poll)",
    )
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()
    if not args.database_url.startswith("postgres"):
        parser.error("the load benchmark runs on PostgreSQL: --database-url postgres://...")

    results: dict[str, tuple[float, float]] = {}
    ensure_database(args.database_url)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            setup_django(args.database_url, tmp)
            run(args, results, Path(tmp))
        finally:
            from django.db import connections

            connections.close_all()
            if not args.keep_db:
                drop_database(args.database_url)


def run(args, results, tmp: Path) -> None:
    from etl import decimals, services
    from etl.pairs import get_pair

    pair = get_pair("binance", "BTCUSDT")
    n, m = args.trades, args.prototype_trades
    steps = tqdm(total=7, desc="bench", unit="step")
    raw = recorded_trades()
    trades = tape(raw, n)
    steps.update()

    with measured(results, "parse"):
        price, price_scale = decimals.parse_units(trades["price"], what="price")
        amount, amount_scale = decimals.parse_units(trades["amount"], what="amount")
    units = (price, price_scale, amount, amount_scale)
    steps.update()

    with measured(results, "transform_cold"):  # first run: the process touches fresh memory
        batch, spans, totals = exact_transform(trades, units, pair)
    for attempt in range(3):
        with measured(results, f"transform_{attempt}"):
            batch, spans, totals = exact_transform(trades, units, pair)
    results["transform"] = min(results.pop(f"transform_{attempt}") for attempt in range(3))
    minute_rows = len(totals.frame)
    steps.update()

    small = {k: v[:m] for k, v in trades.items()}
    small_units = (price[:m], price_scale, amount[:m], amount_scale)
    with measured(results, "transform_small"):
        _, _, small_totals = exact_transform(small, small_units, pair)
    with measured(results, "prototype"):
        proto = prototype(small)
    steps.update()

    clear_tables()
    with measured(results, "load"):
        services.taker_volume_load(pair=pair, batch=batch, spans=spans, totals=totals)
    with measured(results, "reload"):
        services.taker_volume_load(pair=pair, batch=batch, spans=spans, totals=totals)
    steps.update()

    csv_path = tmp / "trades_1m.csv.gz"
    write_csv({k: v[: args.file_trades] for k, v in trades.items()}, csv_path)
    clear_tables()
    with measured(results, "file"):
        file_run = services.taker_volume_import_file(pair=pair, path=csv_path)
    steps.update()
    del batch, totals, trades
    steps.update()
    steps.close()

    # how far the prototype is off, on the same trades
    exact = small_totals.frame
    exact_buy = pd.Series(
        [float(decimals.to_decimal(u, small_totals.base_scale)) for u in exact["buy_base"]],
        index=pd.to_datetime(exact.index * 60, unit="s"),
    )
    joined = proto["buy"].reindex(exact_buy.index)
    wrong = int((~np.isclose(joined.to_numpy(), exact_buy.to_numpy(), rtol=0, atol=1e-9)).sum())
    proto_total = float(proto["buy"].sum() + proto["sell"].sum())
    exact_total = float(
        sum(decimals.to_decimal(u, small_totals.base_scale) for u in exact["buy_base"])
        + sum(decimals.to_decimal(u, small_totals.base_scale) for u in exact["sell_base"])
    )

    def rate(name, count):
        seconds, peak = results[name]
        return f"{count / seconds / 1e6:8.2f} M/s  {seconds:7.2f} s  peak {peak:8.1f} MB"

    print()
    print(
        f"taker-volume ETL benchmark: {n:,} trades (recorded Binance USD-M BTCUSDT, spliced and repeated), "
        f"{minute_rows:,} minutes; PostgreSQL"
    )
    print(f"  parse     text -> exact units      {n:>12,} trades  {rate('parse', n)}")
    print(f"  transform units -> minute sums     {n:>12,} trades  {rate('transform', n)}  (best of 3)")
    print(f"            first (cold) run          {n:>12,} trades  {rate('transform_cold', n)}")
    print(f"  side by side on the first {m:,} trades:")
    print(f"    exact transform                  {m:>12,} trades  {rate('transform_small', m)}")
    print(f"    prototype (concat per poll)      {m:>12,} trades  {rate('prototype', m)}")
    print(
        f"    prototype result: {wrong} of {len(exact_buy)} minutes' buy volume wrong; "
        f"total volume {proto_total:,.3f} vs exact {exact_total:,.3f} BTC ({(proto_total - exact_total) / exact_total:+.2%})"
    )
    load_s, load_peak = results["load"]
    reload_s, _ = results["reload"]
    print(
        f"  load      minute rows -> PostgreSQL {minute_rows:>11,} rows    {minute_rows / load_s:10,.0f} rows/s  "
        f"{load_s:7.2f} s  peak {load_peak:8.1f} MB (re-load {reload_s:.2f} s)"
    )
    file_s, file_peak = results["file"]
    print(
        f"  end to end: {args.file_trades:,}-trade CSV.gz imported in {file_s:.2f} s "
        f"({args.file_trades / file_s / 1e6:.2f} M trades/s, peak {file_peak:.1f} MB; "
        f"{file_run.minutes_written} minutes, {file_run.trades_staged} trades staged)"
    )
    print(f"  process max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")


if __name__ == "__main__":
    main()
