"""Incremental candle crawl on recorded responses: Binance klines served by a fake ccxt exchange
object (paging with ``since``), Bithumb candlesticks through ccxt's HTTP layer (``responses``)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import ccxt
import pytest
import responses

from markets.models import Candle, CandleGap, Instrument, JobStatus, Ticker
from markets.services import candle_upsert_many, candles_crawl
from markets.sources.base import Bar
from markets.sources.ccxt_source import CcxtSource
from tests.markets.test_sources import BITHUMB, BITHUMB_LEGACY, add_legacy_markets, load_json, shared_data

pytestmark = pytest.mark.django_db

KLINES_1 = "trades/rest_fixtures/binance_spot_api_v3_klines_BTCUSDT_1h_start1588280400000.json"
KLINES_2 = "trades/rest_fixtures/binance_spot_api_v3_klines_BTCUSDT_1h_start1591880400000.json"
HOUR_MS = 3_600_000


class FakeBinance:
    """Answers ``fetch_ohlcv`` from recorded kline arrays the way Binance pages: rows with an
    open time >= ``since``, at most ``page`` of them; records each call's ``since``."""

    def __init__(self, rows, page=500, fail_on_call=None):
        self.rows = [[r[0], float(r[1]), float(r[2]), float(r[3]), float(r[4]), float(r[5])] for r in rows]
        self.page = page
        self.calls = []
        self.fail_on_call = fail_on_call

    def fetch_ohlcv(self, symbol, timeframe, since=None, limit=None):
        self.calls.append(since)
        if self.fail_on_call == len(self.calls):
            raise ccxt.RequestTimeout("binanceusdm GET /fapi/v1/klines timed out")
        rows = [r for r in self.rows if since is None or r[0] >= since]
        return rows[: min(self.page, limit or self.page)]


@pytest.fixture
def klines():
    return load_json(KLINES_1) + load_json(KLINES_2)


@pytest.fixture
def btcusdt(db):
    return Instrument.objects.create(
        market="crypto", exchange="binanceusdm", symbol="BTC/USDT:USDT", base="BTC", quote="USDT"
    )


def source(fake):
    src = CcxtSource("binanceusdm", sleep=lambda s: None)
    src.exchange = fake
    return src


def ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


def at(ms_: int) -> datetime:
    return datetime.fromtimestamp(ms_ / 1000, UTC)


def store(instrument, rows):
    bars = [Bar(at(r[0]), Decimal(r[1]), Decimal(r[2]), Decimal(r[3]), Decimal(r[4]), Decimal(r[5])) for r in rows]
    candle_upsert_many(instrument=instrument, interval="1h", bars=bars)


def series(instrument, interval="1h"):
    return list(
        Candle.objects.filter(instrument=instrument, interval=interval)
        .order_by("open_time")
        .values_list("open_time", "open", "high", "low", "close", "volume")
    )


def file_gaps(rows, step_ms=HOUR_MS):
    """(first missing open time ms, count) of the holes in recorded rows, computed apart from the code."""
    times = [int(r[0]) for r in rows]
    holes = [(a + step_ms, (b - a) // step_ms - 1) for a, b in zip(times, times[1:], strict=False)]
    return [(start, missing) for start, missing in holes if missing > 0]


def stored_gaps(instrument, interval="1h"):
    return [(ms(g.start), g.missing) for g in CandleGap.objects.filter(instrument=instrument, interval=interval)]


def test_crawl_pages_forward_from_the_last_stored_candle(btcusdt, klines):
    assert len(klines) == 1468 and len(file_gaps(klines)) == 1  # the recording has a 3-hour hole
    store(btcusdt, klines[:500])
    fake = FakeBinance(klines)
    now = at(klines[-1][0]) + timedelta(minutes=30)

    result = candles_crawl(instrument=btcusdt, interval="1h", source=source(fake), now=now)

    # from the newest stored candle (it may have been in progress), then page after page
    assert fake.calls[0] == klines[499][0]
    assert fake.calls[1] == klines[499 + 500 - 1][0] + 1
    assert fake.calls[-1] == klines[-1][0] + 1  # the empty page that ends the crawl
    assert result.since == at(klines[499][0]) and result.written == 1468 - 499
    assert result.gaps == 1 and stored_gaps(btcusdt) == file_gaps(klines) == [(klines[1396][0] + HOUR_MS, 3)]
    stored = series(btcusdt)
    assert len(stored) == 1468
    last = klines[-1]
    assert stored[-1] == (at(last[0]), *(Decimal(x) for x in last[1:6]))


def test_a_crawl_run_twice_changes_nothing(btcusdt, klines):
    fake = FakeBinance(klines)
    now = at(klines[-1][0]) + timedelta(hours=1)
    candles_crawl(instrument=btcusdt, interval="1h", source=source(fake), now=now, backfill=timedelta(days=365 * 10))
    before = series(btcusdt)

    again = candles_crawl(instrument=btcusdt, interval="1h", source=source(FakeBinance(klines)), now=now)

    assert again.written == 1 and again.since == at(klines[-1][0])
    assert series(btcusdt) == before and len(before) == 1468


def test_gaps_between_stored_candles_are_recorded_and_cleared_when_filled(btcusdt, klines):
    store(btcusdt, klines[:100] + klines[105:600])  # 5 hours missing
    now = at(klines[-1][0]) + timedelta(hours=1)

    result = candles_crawl(instrument=btcusdt, interval="1h", source=source(FakeBinance(klines)), now=now)

    assert result.gaps == 2
    gap = CandleGap.objects.filter(instrument=btcusdt, interval="1h").order_by("start").first()
    assert (gap.start, gap.end, gap.missing) == (at(klines[100][0]), at(klines[104][0]), 5)
    assert stored_gaps(btcusdt) == file_gaps(klines[:100] + klines[105:])

    store(btcusdt, klines[100:105])
    again = candles_crawl(instrument=btcusdt, interval="1h", source=source(FakeBinance(klines)), now=now)
    assert again.gaps == 1 and stored_gaps(btcusdt) == file_gaps(klines)  # only the recording's own hole


def test_a_failed_page_writes_nothing(btcusdt, klines):
    store(btcusdt, klines[:100] + klines[105:500])
    candles_crawl(instrument=btcusdt, interval="1h", source=source(FakeBinance(klines[:500])), now=at(klines[499][0]))
    before, gaps = series(btcusdt), list(CandleGap.objects.values_list("start", "missing"))
    fake = FakeBinance(klines, fail_on_call=2)
    src = CcxtSource("binanceusdm", sleep=lambda s: None, max_retries=0)
    src.exchange = fake

    with pytest.raises(ccxt.NetworkError):
        candles_crawl(instrument=btcusdt, interval="1h", source=src, now=at(klines[-1][0]))

    assert len(fake.calls) == 2  # the first page was fetched, then the second failed
    assert series(btcusdt) == before  # not the first page either
    assert list(CandleGap.objects.values_list("start", "missing")) == gaps


def test_bithumb_daily_candles_from_the_recorded_candlestick_reply():
    path = shared_data("bithumb/z3rosmith_mocks/public_candlestick_BTC_KRW_24h.json")
    payload = load_json("bithumb/z3rosmith_mocks/public_candlestick_BTC_KRW_24h.json")
    assert path.exists()
    btc = Instrument.objects.create(market="crypto", exchange="bithumb", symbol="BTC/KRW", base="BTC", quote="KRW")
    now = datetime(2022, 3, 5, tzinfo=UTC)
    since_ms = ms(now - timedelta(days=365 * 10))  # the whole recording (2013-12-27 on)
    rows = sorted({int(r[0]): r for r in payload["data"] if int(r[0]) >= since_ms}.values(), key=lambda r: int(r[0]))
    # the gaps, computed independently from the recorded rows
    expected = [
        (int(a[0]) + 86_400_000, (int(b[0]) - int(a[0])) // 86_400_000 - 1)
        for a, b in zip(rows, rows[1:], strict=False)
        if int(b[0]) - int(a[0]) >= 2 * 86_400_000
    ]
    with responses.RequestsMock() as rs:
        add_legacy_markets(rs)
        rs.add(responses.GET, f"{BITHUMB}/public/candlestick/BTC_KRW/24h", json=payload)
        src = CcxtSource("bithumb", config=BITHUMB_LEGACY, sleep=lambda s: None)
        result = candles_crawl(instrument=btc, interval="1d", source=src, now=now, backfill=timedelta(days=365 * 10))

    assert result.written == len(rows) == 2899  # 2,900 rows, one open time twice
    assert len(expected) == 2 and result.gaps == 2  # two outages of 46 and 45 days in 2014 and 2015
    stored = series(btc, "1d")
    assert stored[0][0] == at(int(rows[0][0])) and stored[-1][0] == at(int(rows[-1][0]))
    # Bithumb's candlestick row: [time, open, close, high, low, volume]
    t, o, c, h, lo, v = rows[-1]
    assert stored[-1][1:] == (Decimal(o), Decimal(h), Decimal(lo), Decimal(c), Decimal(v))
    assert stored_gaps(btc, "1d") == expected == file_gaps(rows, 86_400_000)


def test_the_crawl_job_covers_board_held_and_bot_coins_and_records_each_venue(btcusdt, user):
    from bots.models import Bot
    from tradesite import crawl

    board = Instrument.objects.create(market="crypto", exchange="upbit", symbol="ETH/KRW", base="ETH", quote="KRW")
    Ticker.objects.create(
        instrument=board, last_price=Decimal(1), traded_value_24h=Decimal(10), time=datetime.now(UTC), source="t"
    )
    idle = Instrument.objects.create(market="crypto", exchange="upbit", symbol="XRP/KRW", base="XRP", quote="KRW")
    Bot.objects.create(user=user, instrument=btcusdt, name="b")

    targets = crawl.crawl_targets()
    assert targets["1d"] == {board.pk, btcusdt.pk} and targets["1h"] == {board.pk}
    assert idle.pk not in targets["1d"]

    class Down:
        def ohlcv(self, *a, **kw):
            raise ccxt.NetworkError("upbit unreachable")

    daily = load_json("trades/rest_fixtures/binance_spot_api_v3_klines_BTCUSDT_1d_2019.json")
    sources = {"binanceusdm": source(FakeBinance(daily)), "upbit": Down()}
    written = crawl.crawl_all(source_for=sources.__getitem__, now=datetime(2020, 1, 1, tzinfo=UTC))

    assert written == len(daily) == 365  # the bot's coin, 1d (400 days back covers 2019)
    assert Candle.objects.filter(instrument=btcusdt, interval="1d").count() == 365
    assert not Candle.objects.filter(instrument=board).exists()
    statuses = {s.venue: s for s in JobStatus.objects.filter(job=crawl.JOB)}
    assert statuses["upbit"].failures == 1 and "upbit unreachable" in statuses["upbit"].last_error
    assert statuses["binanceusdm"].last_success_at is not None and statuses["binanceusdm"].rows_written == 365
