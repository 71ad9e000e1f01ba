"""Paths of the recorded trades, and the independent reference computation the ETL is checked
against: a plain Python loop over the raw rows with ``Decimal``, written without any of the
ETL's code (csv/json modules only)."""

from __future__ import annotations

import csv
import gzip
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from pathlib import Path

import pytest
from django.conf import settings

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "etl" / "data"
BINANCE_CSV = FIXTURES / "binance_usdm_BTCUSDT_trades.csv.gz"
BINANCE_WS = FIXTURES / "binance_usdm_BTCUSDT_trade_ws_messages.jsonl.gz"
BINANCE_REST = FIXTURES / "binance_spot_api_v3_trades_BTCUSDT_limit1000.json"
BYBIT_LINEAR_REST = FIXTURES / "bybit_public_linear_recent-trading-records_BTCUSDT.json"
BYBIT_INVERSE_REST = FIXTURES / "bybit_v2_public_trading-records_BTCUSD.json"
BYBIT_V2_WS = FIXTURES / "bybit_v2_BTCUSD_ws_trade_messages_2021.jsonl"
BYBIT_V5_WS = FIXTURES / "bybit_v5_BTCUSDT_publicTrade_ws_messages.jsonl"
BITMEX_WS = FIXTURES / "bitmex_XBTUSD_ws_trade_messages.jsonl"
BITHUMB_WS = FIXTURES / "bithumb_ws_transaction_messages.jsonl"
BITHUMB_WS_CCXWS = FIXTURES / "bithumb_ws_messages_ccxws.jsonl"
CCXT_BITHUMB = REPO / "tests" / "fixtures" / "ccxt_bithumb_http_responses.json"
E12 = Decimal("1E-12")


def shared_file(rel: str) -> Path:
    """A recording kept in ../shared/data only (licence not stated); skips when absent."""
    path = Path(settings.MARKETS["SHARED_DATA_DIR"]) / rel
    if not path.exists():
        pytest.skip(f"{rel} is not shipped (no licence stated) and ../shared/data is absent at {path.parent}")
    return path


@dataclass(frozen=True)
class RefTrade:
    trade_id: str
    ts_us: int
    is_buy: bool
    price: str
    amount: str


def binance_csv_trades(path: Path = BINANCE_CSV) -> list[RefTrade]:
    """Rows of the Binance CSV with a taker (execType MARKET)."""
    with gzip.open(path, "rt", newline="") as fh:
        return [
            RefTrade(r["id"], int(r["time"]) * 1000, r["isBuyerMaker"] == "false", r["price"], r["qty"])
            for r in csv.DictReader(fh)
            if r["execType"] == "MARKET"
        ]


def recv_messages(path: Path) -> list[dict]:
    return [json.loads(line, parse_float=str)["msg"] for line in path.read_text().splitlines() if line.strip()]


def bitmex_ws_rows(path: Path = BITMEX_WS) -> list[dict]:
    return [row for msg in recv_messages(path) if msg.get("table") == "trade" for row in msg["data"]]


def bitmex_trades(rows: list[dict]) -> list[RefTrade]:
    def us(text):
        when = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        return int((when - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1))

    return [
        RefTrade(r["trdMatchID"], us(r["timestamp"]), r["side"] == "Buy", str(r["price"]), str(r["size"])) for r in rows
    ]


def bybit_v5_ws_rows(path: Path = BYBIT_V5_WS) -> list[dict]:
    return [row for msg in recv_messages(path) for row in msg["data"]]


def reference_minutes(trades: list[RefTrade], *, inverse: bool = False) -> dict[datetime, dict]:
    """Per minute start (UTC): buy/sell volume (base), buy/sell value (quote), trade count.

    Straightforward: one Decimal step per trade, de-duplicated by trade id. Inverse: value =
    contracts (1 USD each), volume = contracts / price rounded half-even to 1e-12 BTC.
    """
    seen, out = (
        set(),
        defaultdict(
            lambda: {
                "buy_volume": Decimal(0),
                "sell_volume": Decimal(0),
                "buy_value": Decimal(0),
                "sell_value": Decimal(0),
                "count": 0,
            }
        ),
    )
    for t in trades:
        if t.trade_id in seen:
            continue
        seen.add(t.trade_id)
        minute = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(minutes=t.ts_us // 60_000_000)
        price, amount = Decimal(t.price), Decimal(t.amount)
        if inverse:
            with localcontext() as ctx:
                ctx.prec = 60
                volume, value = (amount / price).quantize(E12, rounding=ROUND_HALF_EVEN), amount
        else:
            volume, value = amount, price * amount
        side = "buy" if t.is_buy else "sell"
        row = out[minute]
        row[f"{side}_volume"] += volume
        row[f"{side}_value"] += value
        row["count"] += 1
    return dict(out)


def minute_of(ts_us: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(minutes=ts_us // 60_000_000)


def split_csv(path: Path, cuts: list[int], out_dir: Path) -> list[Path]:
    """Cut the CSV into files at the given data-row indexes (header repeated in each)."""
    with gzip.open(path, "rt", newline="") as fh:
        lines = fh.read().splitlines()
    header, rows = lines[0], lines[1:]
    bounds = [0, *cuts, len(rows)]
    files = []
    for n, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:], strict=False)):
        part = out_dir / f"part{n}.csv"
        part.write_text("\n".join([header, *rows[lo:hi]]) + "\n")
        files.append(part)
    return files
