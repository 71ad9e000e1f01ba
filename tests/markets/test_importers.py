"""import_instruments / import_candles on the real recorded files (markets/data, ../shared/data).

Files only in ../shared/data (unlicensed or not needed by the demo) skip, saying why, when that
folder is absent. Broken inputs are real files copied to tmp_path with one row broken.
"""

import gzip
import json
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from markets.importers import parse_upbit_csv
from markets.models import Candle, Instrument
from tests.helpers import stored

pytestmark = pytest.mark.django_db

DATA = Path(settings.MARKETS["DATA_DIR"])
SHARED = Path(settings.MARKETS["SHARED_DATA_DIR"])
UPBIT_MARKETS = DATA / "upbit" / "v1_market_all.json"
BITHUMB_TICKER = DATA / "bithumb" / "public_ticker_ALL_KRW.json"
UPBIT_DAILY_10 = DATA / "coins_daily" / "upbit_KRW_daily_10coins_2024-09-26_2025-09-27.csv.gz"
UPBIT_DAILY_4 = DATA / "coins_daily" / "upbit_KRW_daily_DOGE_ETH_SOL_XRP_2023-07-25_2025-09-28.csv.gz"
UPBIT_15M_20 = DATA / "coins_intraday" / "upbit_KRW_15min_20coins_2026-06-28_1700-2245KST.csv"
KRX_TOP50 = DATA / "krx_daily" / "krx_daily_ohlcv_top50.csv.gz"
KRX_TOP50_ROWS, KRX_TOP50_HALTS = 18_500, 18  # halts: 012450 2024-08-29 .. 09-26


def shared_file(relative: str) -> Path:
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"../shared/data absent: {relative} is not shipped (unlicensed or not needed by the demo)")
    return path


def run(command: str, *args) -> str:
    out = StringIO()
    call_command(command, *map(str, args), stdout=out)
    return out.getvalue()


def candle_rows() -> list[tuple]:
    return list(
        Candle.objects.order_by("instrument__exchange", "instrument__symbol", "interval", "open_time").values_list(
            "instrument__exchange",
            "instrument__symbol",
            "interval",
            "open_time",
            "open",
            "high",
            "low",
            "close",
            "volume",
            "quote_volume",
        )
    )


def candle(exchange: str, symbol: str, interval: str, open_time: datetime) -> Candle:
    return Candle.objects.get(
        instrument__exchange=exchange, instrument__symbol=symbol, interval=interval, open_time=open_time
    )


def copy_with_line(src: Path, dest_dir: Path, line: int, edit) -> Path:
    """A plain-text copy of a real CSV with physical line ``line`` replaced by ``edit(text)``."""
    opener = gzip.open if src.suffix == ".gz" else open
    with opener(src, "rt", encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    lines[line - 1] = edit(lines[line - 1])
    dest = dest_dir / src.name.removesuffix(".gz")
    dest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return dest


def set_field(index: int, value: str):
    def edit(text: str) -> str:
        fields = text.split(",")
        fields[index] = value
        return ",".join(fields)

    return edit


# -- instruments ---------------------------------------------------------------------------------


def test_upbit_markets_import_creates_every_krw_btc_usdt_market_with_names():
    # given the real /v1/market/all reply
    markets = json.loads(UPBIT_MARKETS.read_text(encoding="utf-8"))
    per_quote = Counter(m["market"].split("-")[0] for m in markets)

    # when
    out = run("import_instruments", "--format", "upbit_markets", UPBIT_MARKETS)

    # then
    stored_quotes = Counter(Instrument.objects.filter(exchange="upbit").values_list("quote", flat=True))
    assert stored_quotes == per_quote and set(per_quote) == {"KRW", "BTC", "USDT"}
    btc = Instrument.objects.get(exchange="upbit", symbol="BTC/KRW")
    assert (btc.base, btc.quote, btc.market, btc.name_ko, btc.name_en) == (
        "BTC",
        "KRW",
        "crypto",
        "비트코인",
        "Bitcoin",
    )
    assert f"{len(markets)} instruments ({len(markets)} created, 0 updated)" in out


def test_bithumb_ticker_import_creates_167_krw_instruments_without_the_date_key():
    out = run("import_instruments", "--format", "bithumb_ticker", BITHUMB_TICKER)

    assert Instrument.objects.filter(exchange="bithumb", quote="KRW", market="crypto").count() == 167
    assert Instrument.objects.count() == 167
    assert Instrument.objects.filter(symbol="BTC/KRW", base="BTC").exists()
    assert "167 instruments" in out


def test_bithumb_ticker_import_keeps_names_another_listing_gave():
    # given a Bithumb BTC/KRW named by hand (the ticker listing has no names)
    Instrument.objects.create(
        exchange="bithumb", market="crypto", symbol="BTC/KRW", base="BTC", quote="KRW", name_ko="비트코인"
    )

    # when
    out = run("import_instruments", "--format", "bithumb_ticker", BITHUMB_TICKER)

    # then
    assert Instrument.objects.get(exchange="bithumb", symbol="BTC/KRW").name_ko == "비트코인"
    assert "(166 created, 1 updated)" in out


def test_krx_tickers_import_keeps_codes_as_text_and_sets_board_and_listing():
    path = shared_file("krx_daily/krx_tickers.csv")

    run("import_instruments", "--format", "krx_tickers", path)

    assert Instrument.objects.filter(exchange="krx", market="krx").count() == 3186
    assert Instrument.objects.filter(exchange="krx", active=True).count() == 2882  # listed_on_2026_02_20 == 1
    pref = Instrument.objects.get(exchange="krx", symbol="00088K")
    assert (pref.base, pref.quote, pref.name_ko, pref.segment, pref.lot_size) == (
        "00088K",
        "KRW",
        "한화3우B",
        "KOSPI",
        1,
    )
    assert Instrument.objects.get(exchange="krx", symbol="000020").name_ko == "동화약품"
    assert Instrument.objects.filter(exchange="krx", segment="KONEX").count() == 156


def test_live_instruments_import_says_the_exchange_cannot_be_reached(monkeypatch):
    import ccxt

    class Offline:
        def __init__(self, exchange_id, **kwargs):
            pass

        def instruments(self):
            raise ccxt.NetworkError("bithumb GET https://api.bithumb.com/v1/market/all")

    monkeypatch.setattr("markets.sources.ccxt_source.CcxtSource", Offline)

    with pytest.raises(CommandError, match="can't reach bithumb"):
        run("import_instruments", "--format", "ccxt", "--exchange", "bithumb")
    assert Instrument.objects.count() == 0


# -- candles, shipped files ----------------------------------------------------------------------


def test_upbit_daily_csv_import_writes_3670_candles_of_10_coins_opening_00_utc():
    out = run("import_candles", "--format", "upbit_csv", "--interval", "1d", UPBIT_DAILY_10)

    assert Candle.objects.filter(interval="1d").count() == 3670
    assert Instrument.objects.filter(exchange="upbit").count() == 10
    ada = candle("upbit", "ADA/KRW", "1d", datetime(2024, 9, 26, tzinfo=UTC))  # 09:00 KST
    assert (ada.open, ada.high, ada.low, ada.close) == (
        Decimal("508.8"),
        Decimal("532.9"),
        Decimal("504.7"),
        Decimal("530.0"),
    )
    assert ada.volume == stored("15568386.61109085")
    assert ada.quote_volume == stored("8138583777.920832")
    # the BTC rows (aggregated from 15-min candles) have no traded value
    assert candle("upbit", "BTC/KRW", "1d", datetime(2024, 9, 26, tzinfo=UTC)).quote_volume is None
    assert "10 groups, 3670 candles written" in out and "rows skipped: 0" in out


def test_upbit_daily_parse_prefers_candle_open_kst_and_keeps_text_precision():
    parsed = parse_upbit_csv(UPBIT_DAILY_4, interval="1d")

    assert parsed.candles == 3188 and len(parsed.groups) == 4
    first = parsed.groups[("upbit", "DOGE/KRW", "1d")][0]  # 2023-07-25 09:00:00 KST
    assert first.open_time == datetime(2023, 7, 25, tzinfo=UTC)
    assert (first.open, first.volume) == (Decimal("96.3"), Decimal("3011982773.9368443"))


def test_upbit_15min_csv_import_converts_kst_candle_open_to_utc():
    run("import_candles", "--format", "upbit_csv", "--interval", "15m", UPBIT_15M_20)

    assert Candle.objects.filter(interval="15m").count() == 480
    assert Instrument.objects.filter(exchange="upbit").count() == 20
    btc = candle("upbit", "BTC/KRW", "15m", datetime(2026, 6, 28, 8, 0, tzinfo=UTC))  # 17:00 KST
    assert btc.open == Decimal("91291000")
    assert btc.quote_volume == stored("326137091.16127")


def test_krx_daily_import_skips_halt_rows_and_takes_names_and_board_from_the_file():
    out = run("import_candles", "--format", "krx_daily", KRX_TOP50)

    assert Candle.objects.filter(instrument__exchange="krx", interval="1d").count() == KRX_TOP50_ROWS - KRX_TOP50_HALTS
    assert Instrument.objects.filter(exchange="krx", market="krx", segment="KOSPI").count() == 50
    samsung = Instrument.objects.get(exchange="krx", symbol="005930")
    assert (samsung.name_ko, samsung.base, samsung.quote) == ("삼성전자", "005930", "KRW")
    # session 2024-12-03 opens 00:00 KST = 2024-12-02 15:00 UTC
    row = candle("krx", "005930", "1d", datetime(2024, 12, 2, 15, tzinfo=UTC))
    assert (row.open, row.high, row.low, row.close, row.volume) == (53100, 54400, 53100, 53600, 23374603)
    assert not Candle.objects.filter(
        instrument__symbol="012450", open_time=datetime(2024, 8, 28, 15, tzinfo=UTC)
    ).exists()
    assert f"rows skipped: {KRX_TOP50_HALTS}\n  {KRX_TOP50_HALTS} KRX trading halt" in out


def test_krx_daily_import_with_keep_halts_stores_halt_rows_as_recorded():
    run("import_candles", "--format", "krx_daily", "--keep-halts", KRX_TOP50)

    assert Candle.objects.count() == KRX_TOP50_ROWS
    halt = candle("krx", "012450", "1d", datetime(2024, 8, 28, 15, tzinfo=UTC))  # session 2024-08-29
    assert (halt.open, halt.high, halt.low, halt.close, halt.volume) == (0, 0, 0, 295411, 0)


def test_importing_the_same_file_twice_leaves_the_same_rows_and_counts():
    # given one import
    first_out = run("import_candles", "--format", "upbit_csv", "--interval", "1d", UPBIT_DAILY_10)
    first_rows, instruments = candle_rows(), list(Instrument.objects.values_list("pk", "symbol"))

    # when the same file is imported again
    second_out = run("import_candles", "--format", "upbit_csv", "--interval", "1d", UPBIT_DAILY_10)

    # then nothing changed
    assert candle_rows() == first_rows and len(first_rows) == 3670
    assert list(Instrument.objects.values_list("pk", "symbol")) == instruments
    assert second_out == first_out.replace("10 created", "0 created")


# -- candles, broken copies of real files --------------------------------------------------------


def test_non_numeric_price_on_line_5_aborts_naming_file_and_line_and_writes_nothing(tmp_path):
    broken = copy_with_line(UPBIT_15M_20, tmp_path, 5, set_field(2, "1O7800.0"))  # letter O for zero

    with pytest.raises(CommandError) as failure:
        run("import_candles", "--format", "upbit_csv", "--interval", "15m", broken)

    message = str(failure.value)
    assert broken.name in message and "line 5" in message and "open '1O7800.0'" in message
    assert Candle.objects.count() == 0 and Instrument.objects.count() == 0


def test_high_below_low_is_rejected_with_its_line(tmp_path):
    # line 5 of the real file is KRW-SOL with high 108200 and low 107700: swap them
    def swap_high_low(text: str) -> str:
        f = text.split(",")
        f[3], f[4] = f[4], f[3]
        return ",".join(f)

    broken = copy_with_line(UPBIT_15M_20, tmp_path, 5, swap_high_low)

    with pytest.raises(CommandError, match=r"line 5: high 107700\.0 < low 108200\.0"):
        run("import_candles", "--format", "upbit_csv", "--interval", "15m", broken)
    assert Candle.objects.count() == 0


def test_failed_import_leaves_previously_imported_candles_untouched(tmp_path):
    # given the 15-min board candles already stored
    run("import_candles", "--format", "upbit_csv", "--interval", "15m", UPBIT_15M_20)
    before, instruments_before = candle_rows(), Instrument.objects.count()
    # and a daily file broken on its LAST line, so every earlier row parses
    broken = copy_with_line(UPBIT_DAILY_10, tmp_path, 3671, set_field(4, "-1"))

    # when
    with pytest.raises(CommandError, match="line 3671: low -1 is not positive"):
        run("import_candles", "--format", "upbit_csv", "--interval", "1d", broken)

    # then
    assert candle_rows() == before
    assert Instrument.objects.count() == instruments_before
    assert not Candle.objects.filter(interval="1d").exists()


def test_exact_duplicate_row_is_dropped_and_a_conflicting_one_is_an_error(tmp_path):
    lines = UPBIT_15M_20.read_text(encoding="utf-8").splitlines()
    duplicated = tmp_path / "dup.csv"
    duplicated.write_text("\n".join([*lines, lines[1]]) + "\n", encoding="utf-8")

    out = run("import_candles", "--format", "upbit_csv", "--interval", "15m", duplicated)

    assert Candle.objects.count() == 480
    assert "1 exact duplicate row" in out

    (tmp_path / "conflict").mkdir()
    conflicting = copy_with_line(duplicated, tmp_path / "conflict", 482, set_field(5, "91213000.0"))
    with pytest.raises(CommandError, match="line 482: conflicts with line 2"):
        run("import_candles", "--format", "upbit_csv", "--interval", "15m", conflicting)


def test_wrong_interval_is_caught_as_candles_off_the_grid():
    with pytest.raises(CommandError, match=r"line 22: open time 2026-06-28 08:15 UTC is not on the 1h grid"):
        run("import_candles", "--format", "upbit_csv", "--interval", "60m", UPBIT_15M_20)
    assert Candle.objects.count() == 0


def test_live_candles_import_says_the_exchange_cannot_be_reached(monkeypatch):
    import ccxt

    class Offline:
        def __init__(self, exchange_id, **kwargs):
            pass

        def ohlcv(self, *args, **kwargs):
            raise ccxt.RequestTimeout("bithumb GET https://api.bithumb.com/public/candlestick/BTC_KRW/24h")

    monkeypatch.setattr("markets.sources.ccxt_source.CcxtSource", Offline)

    with pytest.raises(CommandError, match="can't reach bithumb"):
        run(
            "import_candles",
            "--format",
            "ccxt",
            "--exchange",
            "bithumb",
            "--symbol",
            "BTC/KRW",
            "--interval",
            "1d",
            "--since",
            "2024-01-01",
        )
    assert Candle.objects.count() == 0


# -- candles, files only in ../shared/data -------------------------------------------------------


def test_bithumb_candlestick_24h_drops_its_exact_duplicate_and_keeps_the_in_progress_day():
    path = shared_file("bithumb/z3rosmith_mocks/public_candlestick_BTC_KRW_24h.json")

    out = run("import_candles", "--format", "bithumb_candlestick", "--symbol", "BTC_KRW", "--interval", "24h", path)

    assert (
        Candle.objects.filter(instrument__exchange="bithumb", instrument__symbol="BTC/KRW", interval="1d").count()
        == 2899
    )
    assert "2900 rows" in out and "1 exact duplicate row" in out
    first = Candle.objects.earliest("open_time")
    assert first.open_time == datetime(2013, 12, 26, 15, tzinfo=UTC)  # 2013-12-27 00:00 KST
    # row = [t, open, CLOSE, HIGH, LOW, volume]
    assert (first.open, first.high, first.low, first.close) == (737000, 755000, 737000, 755000)
    last = Candle.objects.latest("open_time")  # in progress, stamped 2022-03-04 11:00 KST
    assert last.open_time == datetime(2022, 3, 4, 2, tzinfo=UTC) and last.close == 50635000


def test_bad_json_element_is_named_by_its_index_and_nothing_is_written(tmp_path):
    reply = json.loads(shared_file("bithumb/z3rosmith_mocks/public_candlestick_BTC_KRW_24h.json").read_text())
    reply["data"][17][3] = "n/a"  # the HIGH of the 18th candle
    broken = tmp_path / "public_candlestick_BTC_KRW_24h.json"
    broken.write_text(json.dumps(reply))

    with pytest.raises(
        CommandError, match=r"public_candlestick_BTC_KRW_24h\.json, data\[17\]: high 'n/a' is not a number"
    ):
        run("import_candles", "--format", "bithumb_candlestick", "--symbol", "BTC/KRW", "--interval", "1d", broken)
    assert Candle.objects.count() == 0 and Instrument.objects.count() == 0


def test_bithumb_candlestick_needs_a_symbol():
    path = shared_file("bithumb/z3rosmith_mocks/public_candlestick_BTC_KRW_24h.json")

    with pytest.raises(CommandError, match="needs --symbol"):
        run("import_candles", "--format", "bithumb_candlestick", "--interval", "1d", path)


def test_bithumb_daily_csv_matches_the_candlestick_reply_it_was_converted_from():
    reply = shared_file("bithumb/z3rosmith_mocks/public_candlestick_BTC_KRW_24h.json")
    daily = shared_file("coins_daily/bithumb_BTC_KRW_daily_2013-12-27_2022-03-04.csv")
    run("import_candles", "--format", "bithumb_candlestick", "--symbol", "BTC/KRW", "--interval", "1d", reply)
    from_reply = candle_rows()

    out = run("import_candles", "--format", "bithumb_daily_csv", "--symbol", "BTC/KRW", daily)

    assert candle_rows() == from_reply
    assert "2899 candles written" in out


def test_investing_csv_import_needs_an_exchange_and_opens_days_00_kst():
    path = shared_file("coins_daily/investingcom_style_KRW_daily_BTC_ETH_XRP.csv")
    with pytest.raises(CommandError, match="needs --exchange"):
        run("import_candles", "--format", "investing_csv", path)

    run("import_candles", "--format", "investing_csv", "--exchange", "bithumb", path)

    assert Candle.objects.count() == 7022
    assert set(Instrument.objects.values_list("symbol", flat=True)) == {"BTC/KRW", "ETH/KRW", "XRP/KRW"}
    btc = candle("bithumb", "BTC/KRW", "1d", datetime(2017, 5, 22, 15, tzinfo=UTC))  # 2017-05-23 KST
    assert (btc.open, btc.high, btc.low, btc.close, btc.volume) == (3104000, 3281000, 3081000, 3206000, 21580)


def test_binance_csv_and_raw_klines_of_2019_give_the_same_candles():
    csv_path = shared_file("coins_daily/binance_spot_BTCUSDT_1d_2019.csv")
    klines = shared_file("trades/rest_fixtures/binance_spot_api_v3_klines_BTCUSDT_1d_2019.json")
    run("import_candles", "--format", "binance_csv", "--symbol", "BTCUSDT", csv_path)
    from_csv = candle_rows()

    run("import_candles", "--format", "binance_klines", "--symbol", "BTCUSDT", "--interval", "1d", klines)

    assert candle_rows() == from_csv and len(from_csv) == 365
    day = candle("binance", "BTC/USDT", "1d", datetime(2019, 1, 1, tzinfo=UTC))
    assert (day.open, day.high, day.low, day.close) == (
        Decimal("3701.23"),
        Decimal("3810.16"),
        Decimal("3642"),
        Decimal("3797.14"),
    )
    assert day.volume == stored("23741.687033") and day.quote_volume == stored("88149249.09230461")
    assert Instrument.objects.get().market == "crypto"
