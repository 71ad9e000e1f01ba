"""Benchmark: market orders per second through the HTTP API with JWT, on PostgreSQL.

Starts ``--servers`` web processes (``--server daphne|uvicorn``) on a fresh PostgreSQL
database, stores the real Upbit board tickers, and lets ``--clients`` concurrent clients (one
user each, its own JWT) post ``--orders`` market orders each, alternating buy and sell of
0.001 BTC/KRW. Prints orders/s, p50/p99 latency, errors, the ledger check after the run, and
where the time goes: SQL queries per order and the service alone, in-process, without HTTP.

    .venv/bin/python bench/orders.py [--clients 16] [--orders 100] [--servers 2]
      [--database-url postgres://postgres@127.0.0.1:5432/tradesite_bench]
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def _setup_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True)
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def _sql_reference(
    url: str, *, user_ids: list[int], instrument_id: int, price, orders: int
) -> tuple[float, list[float]]:
    """The database work of one market order in plain SQL, one psycopg connection per client.

    Per order, in one transaction: lock the wallet row, insert the order, insert the fill,
    insert two ledger entries (fill amount, fee) in one statement, update the wallet, upsert
    the position. Same database, same tables, same number of clients and orders as the HTTP
    run; returns (orders/s, latencies in ms). The floor tradesite's own path is compared to.
    """
    import uuid
    from decimal import Decimal

    import psycopg

    from trading.models import CashEntry, Fill, Order, Position, Wallet

    wallet_t, order_t, fill_t, entry_t, position_t = (
        m._meta.db_table for m in (Wallet, Order, Fill, CashEntry, Position)
    )
    quantity, fee_rate = Decimal("0.001"), Decimal("0.0005")

    def client(user_id: int) -> list[float]:
        latencies = []
        with psycopg.connect(url) as conn:
            for n in range(orders):
                side = "buy" if n % 2 == 0 else "sell"
                value = price * quantity
                fee = (value * fee_rate).quantize(Decimal("0.01"))
                amount = -(value + fee) if side == "buy" else value - fee
                start = time.perf_counter()
                with conn.transaction(), conn.cursor() as cur:
                    cur.execute(
                        f"SELECT id, cash FROM {wallet_t} WHERE user_id = %s AND currency = 'KRW' FOR UPDATE", [user_id]
                    )
                    wallet_id, cash = cur.fetchone()
                    cur.execute(
                        f"INSERT INTO {order_t} (user_id, instrument_id, side, type, quantity, time_in_force, status, client_order_id,"
                        f" filled_quantity, average_fill_price, reserved_cash, created_at, updated_at)"
                        f" VALUES (%s, %s, %s, 'market', %s, 'GTC', 'filled', %s, %s, %s, 0, now(), now()) RETURNING id",
                        [user_id, instrument_id, side, quantity, uuid.uuid4().hex, quantity, price],
                    )
                    order_id = cur.fetchone()[0]
                    cur.execute(
                        f"INSERT INTO {fill_t} (order_id, price, quantity, fee, tax, realized_pnl, created_at)"
                        f" VALUES (%s, %s, %s, %s, 0, 0, now()) RETURNING id",
                        [order_id, price, quantity, fee],
                    )
                    fill_id = cur.fetchone()[0]
                    gross = -value if side == "buy" else value
                    cur.execute(
                        f"INSERT INTO {entry_t} (wallet_id, kind, amount, balance_after, fill_id, reference, created_at)"
                        f" VALUES (%s, %s, %s, %s, %s, '', now()), (%s, 'fee', %s, %s, %s, '', now())",
                        [wallet_id, side, gross, cash + gross, fill_id, wallet_id, -fee, cash + amount, fill_id],
                    )
                    cur.execute(
                        f"UPDATE {wallet_t} SET cash = cash + %s, updated_at = now() WHERE id = %s", [amount, wallet_id]
                    )
                    # sells update (a negative proposed row would fail the CHECK before ON CONFLICT)
                    if side == "sell":
                        cur.execute(
                            f"UPDATE {position_t} SET quantity = quantity - %s, updated_at = now() WHERE user_id = %s AND instrument_id = %s",
                            [quantity, user_id, instrument_id],
                        )
                    else:
                        cur.execute(
                            f"INSERT INTO {position_t} (user_id, instrument_id, quantity, reserved_quantity, average_entry_price, realized_pnl,"
                            f" updated_at) VALUES (%s, %s, %s, 0, %s, 0, now()) ON CONFLICT (user_id, instrument_id)"
                            f" DO UPDATE SET quantity = {position_t}.quantity + EXCLUDED.quantity, updated_at = now()",
                            [user_id, instrument_id, quantity, price],
                        )
                latencies.append((time.perf_counter() - start) * 1000)
        return latencies

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(user_ids)) as pool:
        results = list(pool.map(client, user_ids))
    elapsed = time.perf_counter() - start
    latencies = [ms for lat in results for ms in lat]
    return len(latencies) / elapsed, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--orders", type=int, default=100, help="orders per client")
    parser.add_argument("--servers", type=int, default=2, help="web processes")
    parser.add_argument(
        "--server", choices=["daphne", "uvicorn"], default="daphne", help="the ASGI server of each web process"
    )
    parser.add_argument("--port", type=int, default=8790)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tradesite_bench"),
    )
    args = parser.parse_args()

    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "DJANGO_SETTINGS_MODULE": "tradesite.settings",
        "TICKER_MAX_AGE_SECONDS": "86400",  # the stored board must stay tradable for the run
        "THROTTLE_AUTH_TOKEN": "100000/min",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)
    os.environ.update(env)
    _setup_database(args.database_url)

    import django

    django.setup()
    import requests
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework_simplejwt.tokens import RefreshToken

    from markets import services as market_services
    from markets.feed import store_batch
    from markets.models import Instrument
    from markets.sources.replay import ReplaySource
    from tests.accounts.factories import UserFactory
    from trading import services
    from trading.selectors import ledger_mismatches

    call_command("migrate", verbosity=0)
    source = ReplaySource("upbit_top20", data_dir=ROOT / "markets" / "data" / "coins_intraday", loop=False)
    market_services.instrument_upsert_many(infos=source.instruments())
    store_batch(batch=source.tickers(), source="replay")
    btc = Instrument.objects.get(exchange="upbit", symbol="BTC/KRW")
    users = [UserFactory() for _ in range(args.clients)]
    tokens = [str(RefreshToken.for_user(u).access_token) for u in users]
    for user in users:
        services.account_open(user=user)

    servers = [
        subprocess.Popen(
            (
                [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(args.port + i)]
                if args.server == "daphne"
                else [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(args.port + i)]
                + ["--no-access-log"]
            )
            + ["tradesite.asgi:application"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i in range(args.servers)
    ]
    try:
        for i in range(args.servers):
            for _ in range(600):  # up to 60 s: importing Django on a loaded machine
                try:
                    requests.get(f"http://127.0.0.1:{args.port + i}/api/v1/tickers/?top=1", timeout=1)
                    break
                except requests.RequestException:  # not up yet, or too slow to answer yet
                    time.sleep(0.1)
            else:
                raise SystemExit(f"web process {i} never answered on port {args.port + i}")

        def client(index: int) -> tuple[list[float], int]:
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {tokens[index]}"
            url = f"http://127.0.0.1:{args.port + index % args.servers}/api/v1/orders/"
            latencies, errors = [], {}
            for n in range(args.orders):
                body = {
                    "instrument": btc.pk,
                    "side": "buy" if n % 2 == 0 else "sell",
                    "type": "market",
                    "quantity": "0.001",
                }
                start = time.perf_counter()
                response = session.post(url, json=body, timeout=30)
                latencies.append((time.perf_counter() - start) * 1000)
                if response.status_code != 201:
                    key = f"{response.status_code} {response.text[:120]}"
                    errors[key] = errors.get(key, 0) + 1
            return latencies, errors

        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.clients) as pool:
            results = list(pool.map(client, range(args.clients)))
        elapsed = time.perf_counter() - start
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=10)

    latencies = [ms for lat, _ in results for ms in lat]
    errors = {}
    for _, errs in results:
        for key, count in errs.items():
            errors[key] = errors.get(key, 0) + count
    problems = ledger_mismatches()

    # where the time goes: the same order through the service alone, and its SQL
    solo = UserFactory()
    services.account_open(user=solo)
    with CaptureQueriesContext(connection) as queries:
        services.order_place(user=solo, instrument_id=btc.pk, side="buy", type="market", quantity="0.001")
    n_solo = 200
    t0 = time.perf_counter()
    for n in range(n_solo):
        services.order_place(
            user=solo, instrument_id=btc.pk, side="sell" if n % 2 == 0 else "buy", type="market", quantity="0.001"
        )
    service_ms = (time.perf_counter() - t0) * 1000 / n_solo

    # the plain-SQL reference of the same database work, same clients and orders, this run
    ref_users = [UserFactory() for _ in range(args.clients)]
    for user in ref_users:
        services.account_open(user=user)
    btc.refresh_from_db()
    ref_rate, ref_latencies = _sql_reference(
        args.database_url,
        user_ids=[u.pk for u in ref_users],
        instrument_id=btc.pk,
        price=btc.ticker.last_price,
        orders=args.orders,
    )

    total = len(latencies)
    print(
        f"HTTP + JWT, {args.servers} {args.server} process(es), {args.clients} clients x {args.orders} market orders, PostgreSQL:"
    )
    print(f"  {total / elapsed:.0f} orders/s ({total} orders in {elapsed:.1f} s), errors {sum(errors.values())}")
    for key, count in sorted(errors.items(), key=lambda kv: -kv[1])[:5]:
        print(f"    {count} x {key}")
    print(f"  latency p50 {statistics.median(latencies):.1f} ms, p99 {_pct(latencies, 0.99):.1f} ms")
    print(f"  ledger check after the run: {'reconciles' if not problems else f'{len(problems)} mismatches'}")
    print(
        f"  per order: {len(queries.captured_queries)} SQL statements; service alone, one thread: {service_ms:.1f} ms "
        f"({1000 / service_ms:.0f} orders/s per core)"
    )
    print(f"plain-SQL reference, same database work, {args.clients} psycopg connections x {args.orders} orders:")
    print(
        f"  {ref_rate:.0f} orders/s, latency p50 {statistics.median(ref_latencies):.1f} ms, p99 {_pct(ref_latencies, 0.99):.1f} ms"
    )
    print(f"  tradesite / reference: {100 * (total / elapsed) / ref_rate:.0f} %")


if __name__ == "__main__":
    main()
