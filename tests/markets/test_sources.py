"""Tests of ``markets.sources`` on recorded real data only (no network, no Django, no database).

* ccxt: the real Bithumb/Upbit HTTP responses in ``../shared/data/bithumb`` are served to ccxt's
  sync classes through ``responses`` (they use ``requests``), at exactly the URLs ccxt 4.5.90 calls.
* replay: the recordings in ``../shared/data/{coins_intraday,krx_daily,bithumb}``; expected values
  are read from the files with the ``csv``/``json`` modules, independently of the pandas reader.

Run: ``.venv/bin/python -m pytest tests/markets/test_sources.py -q -p no:django``
"""

from __future__ import annotations

import asyncio
import csv
import gzip
import json
import shutil
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import ccxt
import pytest
import requests
import responses
from ccxt.base.decimal_to_precision import DECIMAL_PLACES, SIGNIFICANT_DIGITS, TICK_SIZE
from responses import matchers

from markets.sources import (
    Bar,
    CcxtSource,
    ReplaySource,
    SourceError,
    TickerSnapshot,
    get_source,
)
from markets.sources.ccxt_source import snapshot_from_ccxt

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"
# licensed recordings shipped in the repo, by their name in ../shared/data
SHIPPED = {
    "bithumb/library_fixtures/ccxt_bithumb_http_responses.json": REPO
    / "tests/fixtures/ccxt_bithumb_http_responses.json",
    "bithumb/public_ticker_ALL_BTC.json": REPO / "tests/fixtures/public_ticker_ALL_BTC.json",
    "bithumb/public_ticker_ALL_KRW.json": REPO / "markets/data/bithumb/public_ticker_ALL_KRW.json",
    "bithumb/upbit/v1_market_all.json": REPO / "markets/data/upbit/v1_market_all.json",
    "coins_intraday/upbit_KRW_15min_20coins_2026-06-28_1700-2245KST.csv": REPO
    / "markets/data/coins_intraday/upbit_KRW_15min_20coins_2026-06-28_1700-2245KST.csv",
    "bithumb/upbit/ws_trade_orderbook_messages_SIMPLE.jsonl": REPO
    / "markets/data/upbit/ws_trade_orderbook_messages_SIMPLE.jsonl",
    "coins_intraday": REPO / "markets/data/coins_intraday",
}
KST = timezone(timedelta(hours=9))
BITHUMB = "https://api.bithumb.com"
BITHUMB_LEGACY = {"options": {"generation": 1}}  # ccxt's switch to Bithumb's /public/... API


def shared_data(rel: str) -> Path:
    """Path of a recorded file: the repo's shipped copy, else ``../shared/data``; skip the test
    when neither has it. Call it before entering a ``responses`` mock (a skip inside one turns
    into "not all requests executed")."""
    if rel in SHIPPED:
        return SHIPPED[rel]
    path = SHARED_DATA / rel
    if not path.exists():
        pytest.skip(f"../shared/data absent: {rel} not found under {SHARED_DATA}")
    return path


def load_json(rel: str):
    return json.loads(shared_data(rel).read_text(encoding="utf-8"))


def ccxt_fixture(method: str):
    """``httpResponse`` of one method in ccxt's own static test responses for Bithumb (MIT)."""
    return load_json("bithumb/library_fixtures/ccxt_bithumb_http_responses.json")[method]["httpResponse"]


class FakeSleep:
    """Records requested sleeps instead of sleeping; awaitable when ``is_async``."""

    def __init__(self, is_async: bool = False, clock: list[float] | None = None):
        self.calls: list[float] = []
        self.clock = clock
        self.is_async = is_async

    def _record(self, seconds: float):
        self.calls.append(seconds)
        if self.clock is not None:
            self.clock[0] += seconds

    def __call__(self, seconds: float):
        self._record(seconds)
        if self.is_async:
            return asyncio.sleep(0)
        return None


def collect(source, n: int | None = None, symbols=None, on_batch=None) -> list[list[TickerSnapshot]]:
    """Drive ``source.stream_tickers`` and return up to ``n`` batches (all when ``n`` is None)."""

    async def run():
        out = []
        stream = source.stream_tickers(symbols)
        try:
            async for batch in stream:
                out.append(batch)
                if on_batch:
                    on_batch()
                if n is not None and len(out) >= n:
                    break
        finally:
            await stream.aclose()
        return out

    return asyncio.run(run())


# ---------------------------------------------------------------------------------------------
# ccxt: Bithumb / Upbit on recorded responses
# ---------------------------------------------------------------------------------------------


def add_legacy_markets(rs):
    """Bithumb legacy load_markets = GET /public/ticker/ALL_KRW + /public/ticker/ALL_BTC (2021-06-02)."""
    rs.add(responses.GET, f"{BITHUMB}/public/ticker/ALL_KRW", json=load_json("bithumb/public_ticker_ALL_KRW.json"))
    rs.add(responses.GET, f"{BITHUMB}/public/ticker/ALL_BTC", json=load_json("bithumb/public_ticker_ALL_BTC.json"))


def test_bithumb_legacy_instruments_and_tickers():
    krw = load_json("bithumb/public_ticker_ALL_KRW.json")["data"]
    btc_rec = krw["BTC"]
    with responses.RequestsMock() as rs:
        add_legacy_markets(rs)
        src = CcxtSource("bithumb", config=BITHUMB_LEGACY, sleep=FakeSleep())
        infos = {i.symbol: i for i in src.instruments()}
        snaps = {s.symbol: s for s in src.tickers()}
        urls = [c.request.url for c in rs.calls]
    assert urls == [f"{BITHUMB}/public/ticker/ALL_KRW", f"{BITHUMB}/public/ticker/ALL_BTC"] * 2
    n_btc = len(load_json("bithumb/public_ticker_ALL_BTC.json")["data"]) - 1  # minus "date"
    assert len(infos) == (len(krw) - 1) + n_btc
    info = infos["BTC/KRW"]
    assert (info.exchange, info.base, info.quote, info.market) == ("bithumb", "BTC", "KRW", "crypto")
    assert info.tick_size is None  # ccxt: SIGNIFICANT_DIGITS precision -> no fixed step
    assert info.min_notional == Decimal("500")

    btc = snaps["BTC/KRW"]
    assert btc.last_price == Decimal(btc_rec["closing_price"]) == Decimal("43232000")
    assert btc.volume_24h == Decimal(btc_rec["units_traded_24H"])
    assert btc.traded_value_24h == Decimal(btc_rec["acc_trade_value_24H"])
    assert btc.change == Decimal(btc_rec["fluctate_24H"]) == Decimal("-718000")
    assert btc.change_rate == Decimal("-0.0163")  # fluctate_rate_24H -1.63 % as a fraction
    assert btc.time == datetime(2021, 6, 1, 23, 43, 21, 555000, tzinfo=UTC)  # "date" 1622591001555
    assert len([s for s in snaps.values() if s.symbol.endswith("/KRW")]) == len(krw) - 1


def test_bithumb_ccxt_static_ticker_all_fixture():
    """ccxt's own recorded /public/ticker/ALL_KRW (2024, BTC+ETH, no "date" field)."""
    rec = ccxt_fixture("fetchTickers")["data"]["BTC"]
    with responses.RequestsMock() as rs:
        add_legacy_markets(rs)  # markets as of 2021; only the symbol table is used here
        rs.add(responses.GET, f"{BITHUMB}/public/ticker/ALL_KRW", json=ccxt_fixture("fetchTickers"))
        src = CcxtSource("bithumb", config=BITHUMB_LEGACY)
        src.instruments()
        before = datetime.now(UTC)
        snaps = src.tickers(["BTC/KRW", "ETH/KRW"])
    btc = {s.symbol: s for s in snaps}["BTC/KRW"]
    assert btc.last_price == Decimal(rec["closing_price"]) == Decimal("80694000")
    assert btc.volume_24h == Decimal(rec["units_traded_24H"])
    assert btc.traded_value_24h == Decimal(rec["acc_trade_value_24H"])
    assert (btc.change, btc.change_rate) == (Decimal("-351000"), Decimal("-0.0043"))
    assert btc.time >= before  # no exchange timestamp in this reply -> time of parsing, UTC


def test_bithumb_v1_ticker_fixture_mapping():
    """ccxt's default (v1) ticker reply, GET /v1/ticker?markets=KRW-BTC (2023-10-24).

    ``fetch_tickers`` in v1 mode needs v1 market ids ("KRW-BTC") from /v1/market/all, and the only
    recorded /v1/market/all reply does not parse (see the xfail below), so the recorded ticker goes
    through ccxt's own ``parse_ticker`` and then our mapping.
    """
    rec = ccxt_fixture("fetchTicker")["data"][0]
    with responses.RequestsMock() as rs:
        add_legacy_markets(rs)
        ex = ccxt.bithumb(BITHUMB_LEGACY)
        ex.load_markets()
    btc = snapshot_from_ccxt("bithumb", ex.parse_ticker(rec, ex.market("BTC/KRW")))
    assert btc.symbol == "BTC/KRW"
    assert btc.last_price == Decimal(str(rec["trade_price"])) == Decimal("45831000")
    assert btc.change == Decimal("4312000")  # signed_change_price: vs previous close, not ccxt's vs open
    assert btc.change_rate == Decimal("0.1038560659")
    assert btc.volume_24h == Decimal("8464.71765997")
    assert btc.traded_value_24h == Decimal("366228795843.045")
    assert btc.time == datetime.fromtimestamp(rec["trade_timestamp"] / 1000, UTC)  # ccxt: trade time


@pytest.mark.xfail(
    raises=KeyError,
    strict=True,
    reason="ccxt 4.5.90's v1 fetch_markets expects a bare list; ccxt's recorded "
    "/v1/market/all reply is wrapped in {status, data}",
)
def test_bithumb_v1_market_all_fixture():
    """ccxt's default (v1) load_markets = GET /v1/market/all?isDetails=true."""
    with responses.RequestsMock() as rs:
        rs.add(
            responses.GET,
            f"{BITHUMB}/v1/market/all",
            json=ccxt_fixture("fetchMarkets"),
            match=[matchers.query_param_matcher({"isDetails": "true"})],
        )
        CcxtSource("bithumb").instruments()


def test_bithumb_ohlcv_ccxt_fixture_column_order():
    row = ccxt_fixture("fetchOHLCV")["data"][0]  # [ts, open, close, high, low, volume]
    with responses.RequestsMock() as rs:
        add_legacy_markets(rs)
        rs.add(responses.GET, f"{BITHUMB}/public/candlestick/BTC_KRW/1m", json=ccxt_fixture("fetchOHLCV"))
        bars = list(CcxtSource("bithumb", config=BITHUMB_LEGACY).ohlcv("BTC/KRW", "1m"))
        candle_calls = [c for c in rs.calls if "candlestick" in c.request.url]
    assert bars == [
        Bar(
            datetime(2024, 8, 7, 7, 13, tzinfo=UTC),
            Decimal(row[1]),
            Decimal(row[3]),
            Decimal(row[4]),
            Decimal(row[2]),
            Decimal(row[5]),
        )
    ]
    assert len(candle_calls) == 2  # second page (since = last + 1 ms) brought nothing new -> stop


def test_bithumb_ohlcv_pagination_on_recorded_1m_candles():
    payload = load_json("bithumb/z3rosmith_mocks/public_candlestick_BTC_KRW_1m.json")
    rows = payload["data"]
    with responses.RequestsMock() as rs:
        add_legacy_markets(rs)
        rs.add(responses.GET, f"{BITHUMB}/public/candlestick/BTC_KRW/1m", json=payload)
        src = CcxtSource("bithumb", config=BITHUMB_LEGACY)
        bars = list(src.ohlcv("BTC/KRW", "1m"))
        t10, t20 = bars[10].open_time, bars[20].open_time
        window = list(src.ohlcv("BTC/KRW", "1m", since=t10, until=t20))
        capped = list(src.ohlcv("BTC/KRW", "1m", since=t10, limit=5))
    assert len(bars) == len({r[0] for r in rows})
    assert [b.open_time for b in bars] == sorted({b.open_time for b in bars})
    first = rows[0]
    assert (bars[0].open, bars[0].close, bars[0].high, bars[0].low) == tuple(Decimal(x) for x in first[1:5])
    assert [b.open_time for b in window] == [b.open_time for b in bars[10:21]]
    assert capped == bars[10:15]
    with pytest.raises(ValueError):
        next(src.ohlcv("BTC/KRW", "2m"))


def test_retry_on_network_error_then_success():
    sleep = FakeSleep()
    with responses.RequestsMock() as rs:
        rs.add(responses.GET, f"{BITHUMB}/public/ticker/ALL_KRW", body=requests.ConnectionError("connection refused"))
        add_legacy_markets(rs)
        infos = CcxtSource("bithumb", config=BITHUMB_LEGACY, sleep=sleep, backoff_base=1.0).instruments()
        krw_calls = [c for c in rs.calls if c.request.url.endswith("ALL_KRW")]
    assert len(krw_calls) == 2
    assert sleep.calls == [1.0]
    assert any(i.symbol == "BTC/KRW" for i in infos)


def test_retry_gives_up_after_max_retries():
    sleep = FakeSleep()
    with responses.RequestsMock() as rs:
        rs.add(responses.GET, f"{BITHUMB}/public/ticker/ALL_KRW", body=requests.ConnectionError("connection refused"))
        src = CcxtSource("bithumb", config=BITHUMB_LEGACY, sleep=sleep, max_retries=2, backoff_base=0.5)
        with pytest.raises(ccxt.NetworkError):
            src.instruments()
        assert len(rs.calls) == 3  # 1 attempt + 2 retries
    assert sleep.calls == [0.5, 1.0]


def test_exchange_error_is_not_retried():
    # Bithumb's error reply as quoted in ccxt's bithumb.py ("status" 5100, HTTP 200).
    sleep = FakeSleep()
    with responses.RequestsMock() as rs:
        rs.add(
            responses.GET,
            f"{BITHUMB}/public/ticker/ALL_KRW",
            json={"status": "5100", "message": "Bad Request.(Auth Data)"},
        )
        src = CcxtSource("bithumb", config=BITHUMB_LEGACY, sleep=sleep)
        with pytest.raises(SourceError) as err:
            src.instruments()
        assert len(rs.calls) == 1
    assert sleep.calls == []
    assert err.value.exchange == "bithumb" and "bithumb" in str(err.value)
    assert isinstance(err.value.__cause__, ccxt.AuthenticationError)


def test_upbit_instruments_from_recorded_market_all():
    rec = load_json("bithumb/upbit/v1_market_all.json")
    with responses.RequestsMock() as rs:
        rs.add(responses.GET, "https://api.upbit.com/v1/market/all", json=rec)
        infos = {i.symbol: i for i in CcxtSource("upbit").instruments()}
    assert len(infos) == len(rec)
    btc = infos["BTC/KRW"]
    assert (btc.name_ko, btc.name_en, btc.base, btc.quote) == ("비트코인", "Bitcoin", "BTC", "KRW")
    assert btc.tick_size is None  # Upbit's KRW tick depends on the price band
    assert btc.lot_size == Decimal("1E-8")
    assert "ETH/BTC" in infos


def test_stream_tickers_reconnects_after_network_error(monkeypatch):
    with responses.RequestsMock() as rs:  # real parsed tickers to hand to the fake async exchange
        add_legacy_markets(rs)
        ex = ccxt.bithumb(BITHUMB_LEGACY)
        recorded = ex.fetch_tickers(["BTC/KRW"])
    made = []

    class FakeAsyncExchange:
        def __init__(self, fail):
            self.fail, self.closed = fail, False

        async def fetch_tickers(self, symbols=None):
            if self.fail:
                raise ccxt.RequestTimeout("bithumb GET timed out")
            return recorded

        async def close(self):
            self.closed = True

    def factory():
        made.append(FakeAsyncExchange(fail=not made))  # the first connection fails
        return made[-1]

    src = CcxtSource("bithumb", config=BITHUMB_LEGACY, poll_interval=0, backoff_base=0)
    monkeypatch.setattr(src, "_new_async_exchange", factory)
    batches = collect(src, n=2, symbols=["BTC/KRW"])
    assert [[s.last_price for s in b] for b in batches] == [[Decimal("43232000")]] * 2
    assert len(made) == 2 and all(x.closed for x in made)  # failed one replaced; last closed in finally


def test_snapshot_derives_change_from_open_when_missing():
    t = {
        "symbol": "BTC/USDT:USDT",
        "last": 101.5,
        "open": 100.0,
        "change": None,
        "percentage": None,
        "baseVolume": None,
        "quoteVolume": None,
        "timestamp": 0,
        "info": {},
    }
    snap = snapshot_from_ccxt("bybit", t)
    assert (snap.change, snap.change_rate) == (Decimal("1.5"), Decimal("0.015"))


def test_precision_modes_to_steps():
    src = CcxtSource("binanceusdm")
    src.exchange.precisionMode = DECIMAL_PLACES
    assert src._step(2) == Decimal("0.01")
    src.exchange.precisionMode = TICK_SIZE
    assert src._step(0.1) == Decimal("0.1")
    src.exchange.precisionMode = SIGNIFICANT_DIGITS
    assert src._step(4) is None


def test_get_source_factory(tmp_path):
    assert isinstance(get_source("bithumb"), CcxtSource)
    assert get_source("binanceusdm").name == "binanceusdm"
    with pytest.raises(ValueError):
        get_source("nope")
    with pytest.raises(FileNotFoundError):
        get_source("replay", dataset="upbit_top20", data_dir=tmp_path)
    src = get_source("replay", dataset="upbit_top20", data_dir=shared_data("coins_intraday"))
    assert isinstance(src, ReplaySource)


# ---------------------------------------------------------------------------------------------
# replay
# ---------------------------------------------------------------------------------------------

TOP20 = "coins_intraday/upbit_KRW_15min_20coins_2026-06-28_1700-2245KST.csv"


@pytest.fixture(scope="module")
def top20_rows():
    with shared_data(TOP20).open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def top20(**kwargs) -> ReplaySource:
    return ReplaySource("upbit_top20", data_dir=shared_data("coins_intraday"), **kwargs)


def test_top20_first_batch(top20_rows):
    first = top20().tickers()
    assert len(first) == 20
    btc = {t.symbol: t for t in first}["BTC/KRW"]
    assert btc.last_price == Decimal("91291000.0") == Decimal(top20_rows[0]["open"])
    assert (btc.exchange, btc.change, btc.change_rate, btc.volume_24h) == ("upbit", 0, 0, 0)
    assert btc.time == datetime(2026, 6, 28, 17, 0, tzinfo=KST)


def test_top20_candle_walk_order(top20_rows):
    batches = collect(top20(loop=False, sleep=FakeSleep(is_async=True)))
    btc_points = [next(t for t in b if t.symbol == "BTC/KRW") for b in batches]
    btc_rows = [r for r in top20_rows if r["market"] == "KRW-BTC"]
    o, h, lo, c = (Decimal(btc_rows[0][k]) for k in ("open", "high", "low", "close"))
    assert c < o  # the first BTC candle closed down: O-H-L-C
    assert [p.last_price for p in btc_points[:4]] == [o, h, lo, c]
    up = next(i for i, r in enumerate(btc_rows) if Decimal(r["close"]) > Decimal(r["open"]))
    r = btc_rows[up]
    assert [p.last_price for p in btc_points[4 * up : 4 * up + 4]] == [
        Decimal(r[k]) for k in ("open", "low", "high", "close")
    ]
    start = datetime(2026, 6, 28, 17, 0, tzinfo=KST)
    assert [p.time for p in btc_points[:5]] == [start + timedelta(seconds=225 * k) for k in range(5)]
    # window totals: at the 2nd candle's open, the 1st candle is complete
    assert btc_points[4].volume_24h == Decimal(btc_rows[0]["volume_base"])
    assert btc_points[4].traded_value_24h == Decimal(btc_rows[0]["value_krw"])
    assert btc_points[4].change == Decimal(btc_rows[1]["open"]) - o


def test_top20_full_pass_only_recorded_prices_and_timing(top20_rows):
    recorded = {(f"{r['market'][4:]}/KRW", Decimal(r[k])) for r in top20_rows for k in ("open", "high", "low", "close")}
    sleep = FakeSleep(is_async=True)
    batches = collect(top20(loop=False, sleep=sleep, speed=450))
    assert len(batches) == 24 * 4  # loop=False: stops after the last batch
    assert all(len(b) == 20 for b in batches)
    assert all((t.symbol, t.last_price) in recorded for b in batches for t in b)
    assert sleep.calls == [225 / 450] * (len(batches) - 1)  # recorded gap / speed


def test_top20_default_speed_is_one_batch_per_second():
    sleep = FakeSleep(is_async=True)
    collect(top20(sleep=sleep), n=5)
    assert sleep.calls == [1.0] * 4


def test_top20_loop_restarts():
    batches = collect(top20(loop=True, sleep=FakeSleep(is_async=True)), n=96 + 3)
    assert batches[96] == batches[0] and batches[97] == batches[1]  # totals reset on restart


def test_replay_clock_keeps_schedule():
    clock = [0.0]
    sleep = FakeSleep(is_async=True, clock=clock)

    def consumer_work():
        clock[0] += 0.25  # the consumer spends 0.25 s per batch

    collect(top20(sleep=sleep, clock=lambda: clock[0]), n=4, on_batch=consumer_work)
    assert sleep.calls == [0.75] * 3


def test_top20_symbol_filter_ohlcv_and_instruments(top20_rows):
    src = top20(sleep=FakeSleep(is_async=True))
    assert [t.symbol for t in src.tickers(["ETH/KRW"])] == ["ETH/KRW"]
    batches = collect(src, n=3, symbols=["ETH/KRW", "SHIB/KRW"])
    assert all({t.symbol for t in b} == {"ETH/KRW", "SHIB/KRW"} for b in batches)
    bars = list(src.ohlcv("BTC/KRW", "15m"))
    assert len(bars) == 24 and bars[0].quote_volume == Decimal(top20_rows[0]["value_krw"])
    assert bars[0].open_time == datetime(2026, 6, 28, 8, 0, tzinfo=UTC)
    assert len(list(src.ohlcv("BTC/KRW", "15m", since=bars[2].open_time, limit=3))) == 3
    with pytest.raises(ValueError):
        list(src.ohlcv("BTC/KRW", "1h"))
    assert len(src.instruments()) == 20
    assert {(i.base, i.quote) for i in src.instruments()} >= {("BTC", "KRW"), ("PEPE", "KRW")}


def test_gzipped_csv_and_available_datasets(tmp_path):
    src_csv = shared_data(TOP20)
    with src_csv.open("rb") as fin, gzip.open(tmp_path / f"{src_csv.name}.gz", "wb") as fout:
        shutil.copyfileobj(fin, fout)
    assert ReplaySource.available_datasets(tmp_path) == ["upbit_top20"]
    assert ReplaySource("upbit_top20", data_dir=tmp_path).tickers() == top20().tickers()
    assert ReplaySource.available_datasets(tmp_path / "missing") == []


KRX = "krx_daily/krx_daily_ohlcv_top50.csv"


@pytest.fixture(scope="module")
def krx_rows():
    with shared_data(KRX).open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_krx_replay(krx_rows):
    sleep = FakeSleep(is_async=True)
    src = ReplaySource("krx_daily", data_dir=shared_data("krx_daily"), loop=False, sleep=sleep)
    batches = collect(src)
    dates = sorted({r["date"] for r in krx_rows})
    assert len(batches) == len(dates) and sleep.calls == [1.0] * (len(dates) - 1)
    halted = {(r["code"], r["date"]) for r in krx_rows if r["open"] == r["high"] == r["low"] == "0"}
    assert halted  # the file does contain halt days
    by_key = {(r["code"], r["date"]): r for r in krx_rows}
    for batch in batches:
        for t in batch:
            key = (t.symbol, t.time.astimezone(KST).date().isoformat())
            assert key not in halted and t.last_price > 0
            assert t.last_price == Decimal(by_key[key]["close"])
            assert t.volume_24h == Decimal(by_key[key]["volume"]) and t.traded_value_24h is None
            if t.change_rate is not None:  # agrees with the source's own 등락률 (4 dp)
                assert abs(t.change_rate * 100 - Decimal(by_key[key]["change_pct"])) < Decimal("0.0001")
    first_day = [r for r in krx_rows if r["date"] == dates[0] and (r["code"], r["date"]) not in halted]
    assert len(batches[0]) == len(first_day)
    samsung = {t.symbol: t for t in batches[0]}["005930"]
    assert samsung.exchange == "krx" and samsung.change is None  # no previous session in the file
    assert samsung.time == datetime.fromisoformat(f"{dates[0]}T15:30:00+09:00")
    code, day = sorted(halted)[0]
    assert all(t.symbol != code for t in batches[dates.index(day)])
    bars = list(src.ohlcv(code, "1d"))
    assert all(b.open > 0 for b in bars) and len(bars) == len(dates) - sum(1 for c, _ in halted if c == code)
    assert {i.symbol: i.name_ko for i in src.instruments()}["005930"] == "삼성전자"


def test_bithumb_1m_replay_column_order():
    path = shared_data("bithumb/z3rosmith_mocks/public_candlestick_BTC_KRW_1m.json")
    row = json.loads(path.read_text())["data"][0]  # [ts, open, close, high, low, volume]
    src = ReplaySource("bithumb_btc_1m", data_dir=path.parent, loop=False, sleep=FakeSleep(is_async=True))
    bar = next(src.ohlcv("BTC/KRW", "1m"))
    assert bar.open_time == datetime.fromtimestamp(row[0] / 1000, UTC)
    assert (bar.open, bar.close, bar.high, bar.low, bar.volume) == tuple(Decimal(x) for x in row[1:6])
    points = [b[0].last_price for b in collect(src, n=4)]
    assert points == list(ReplaySource.ohlc_path(bar))
    assert src.tickers()[0].traded_value_24h is None  # Bithumb candles carry no traded value


def test_upbit_trades_replay():
    path = shared_data("bithumb/upbit/ws_trade_orderbook_messages_SIMPLE.jsonl")
    trades = [
        m
        for m in (json.loads(line)["msg"] for line in path.read_text().splitlines())
        if m["ty"] == "trade" and m["cd"].startswith("KRW-")
    ]
    sleep = FakeSleep(is_async=True)
    src = ReplaySource("upbit_trades", data_dir=path.parent, loop=False, sleep=sleep, speed=2)
    batches = collect(src)
    assert len(batches) == len(trades) and all(len(b) == 1 for b in batches)
    first, rec = batches[0][0], trades[0]
    assert (first.symbol, first.last_price) == ("LAMB/KRW", Decimal("127.0"))
    assert first.change == Decimal(str(rec["tp"])) - Decimal(str(rec["pcp"])) == Decimal(str(rec["cp"]))
    assert first.time == datetime.fromtimestamp(rec["tms"] / 1000, UTC)
    assert all(b[0].last_price == Decimal(str(m["tp"])) for b, m in zip(batches, trades, strict=False))
    gaps = [max(0.0, (b["tms"] - a["tms"]) / 1000) / 2 for a, b in zip(trades, trades[1:], strict=False)]
    assert sleep.calls == pytest.approx(gaps)
    with pytest.raises(ValueError):
        list(src.ohlcv("LAMB/KRW", "1m"))
