"""``GET /api/v1/taker-volume/``: parameters, 400s, windows, CSV, all_exchange; on imported
real trades."""

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from etl import services
from etl.models import TakerVolume
from etl.pairs import get_pair, usd_perpetuals
from tests.etl.conftest import BINANCE_CSV, BITMEX_WS, BYBIT_INVERSE_REST, BYBIT_LINEAR_REST

pytestmark = pytest.mark.django_db
URL = "/api/v1/taker-volume/"


@pytest.fixture
def binance(db):
    services.taker_volume_import_file(pair=get_pair("binance"), path=BINANCE_CSV)


@pytest.fixture
def bybit_both(db):
    """Bybit's linear BTCUSDT and inverse BTCUSD trades of the same minutes (2023-08-16)."""
    services.taker_volume_import_file(pair=get_pair("bybit", "BTCUSDT"), path=BYBIT_LINEAR_REST)
    services.taker_volume_import_file(pair=get_pair("bybit", "BTCUSD"), path=BYBIT_INVERSE_REST)


def minute_rows(exchange, symbol):
    return {r.minute: r for r in TakerVolume.objects.filter(exchange=exchange, symbol=symbol)}


def d(text):
    return Decimal(text) if text is not None else None


def test_minutes_come_newest_first_with_the_stored_values(api_client, binance):
    response = api_client.get(URL, {"exchange": "binance", "symbol": "BTCUSDT"})

    assert response.status_code == 200
    body = response.json()
    assert (body["exchange"], body["symbol"], body["window"], body["quote"], body["count"]) == (
        "binance",
        "BTCUSDT",
        "min",
        "USDT",
        18,
    )
    stamps = [r["timestamp"] for r in body["results"]]
    assert stamps == sorted(stamps, reverse=True)
    stored = minute_rows("binanceusdm", "BTCUSDT")
    for row in body["results"]:
        minute = datetime.fromtimestamp(row["timestamp"], UTC)
        assert row["datetime"] == minute.strftime("%Y-%m-%dT%H:%M:%SZ")
        db = stored[minute]
        assert d(row["taker_buy_volume"]) == db.taker_buy_volume and d(row["taker_sell_value"]) == db.taker_sell_value
        assert d(row["taker_total_volume"]) == db.taker_buy_volume + db.taker_sell_volume
        assert row["trade_count"] == db.trade_count and row["is_complete"] == db.is_complete
    first = body["results"][-1]  # 2023-04-04 23:58, the first (partial) minute
    assert (first["datetime"], first["taker_buy_volume"], first["is_complete"]) == (
        "2023-04-04T23:58:00Z",
        "54.202",
        False,
    )


def test_ratios_follow_the_volumes_and_are_null_without_a_denominator(api_client, binance):
    services.taker_volume_import_file(pair=get_pair("bitmex"), path=BITMEX_WS)

    row = api_client.get(URL, {"exchange": "binance", "limit": 1}).json()["results"][0]
    buy, sell, total = d(row["taker_buy_volume"]), d(row["taker_sell_volume"]), d(row["taker_total_volume"])
    assert d(row["taker_buy_ratio"]) == (buy / total).quantize(Decimal("1E-12"))
    assert d(row["taker_sell_ratio"]) == (sell / total).quantize(Decimal("1E-12"))
    assert d(row["taker_buy_sell_ratio"]) == (buy / sell).quantize(Decimal("1E-12"))

    bitmex = api_client.get(URL, {"exchange": "bitmex"}).json()["results"]
    assert all(r["taker_sell_volume"] == "0" for r in bitmex)  # the 16 recorded BitMEX trades are all buys
    assert {r["taker_buy_sell_ratio"] for r in bitmex} == {None}
    assert {r["taker_buy_ratio"] for r in bitmex} == {"1"}


def test_limit_keeps_the_newest_rows(api_client, binance):
    body = api_client.get(URL, {"exchange": "binance", "limit": 3}).json()

    assert [r["datetime"] for r in body["results"]] == [
        "2024-07-19T00:05:00Z",
        "2024-07-19T00:04:00Z",
        "2024-07-19T00:03:00Z",
    ]


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("1680652800", "1680652980"),  # unix seconds
        ("2023-04-05T00:00:00", "2023-04-05T00:03:00"),  # ISO without offset = UTC
        ("2023-04-05T09:00:00+09:00", "2023-04-05T00:03:00Z"),  # with offsets
    ],
)
def test_from_is_inclusive_and_to_exclusive(api_client, binance, start, end):
    body = api_client.get(URL, {"exchange": "binance", "from": start, "to": end}).json()

    assert [r["datetime"] for r in body["results"]] == [
        "2023-04-05T00:02:00Z",
        "2023-04-05T00:01:00Z",
        "2023-04-05T00:00:00Z",
    ]
    assert body["from"] == "2023-04-05T00:00:00Z" and body["to"] == "2023-04-05T00:03:00Z"


def test_hour_window_sums_its_minutes_and_is_incomplete_when_minutes_are_missing(api_client, binance):
    body = api_client.get(
        URL, {"exchange": "binance", "window": "hour", "from": "2023-04-05T00:00:00Z", "to": "2023-04-05T01:00:00Z"}
    ).json()

    (row,) = body["results"]
    minutes = [r for m, r in minute_rows("binanceusdm", "BTCUSDT").items() if m.date() == datetime(2023, 4, 5).date()]
    assert len(minutes) == 7  # 00:00 .. 00:06 recorded, not 60
    assert row["datetime"] == "2023-04-05T00:00:00Z" and row["is_complete"] is False
    assert row["trade_count"] == sum(r.trade_count for r in minutes)
    assert d(row["taker_buy_volume"]) == pytest.approx(sum(r.taker_buy_volume for r in minutes), abs=Decimal("1E-9"))
    assert d(row["taker_sell_value"]) == pytest.approx(sum(r.taker_sell_value for r in minutes), rel=Decimal("1E-14"))


def test_day_window_groups_utc_days(api_client, binance):
    body = api_client.get(URL, {"exchange": "binance", "window": "day"}).json()

    assert [r["datetime"] for r in body["results"]] == [
        "2024-07-19T00:00:00Z",
        "2024-07-18T00:00:00Z",
        "2023-04-05T00:00:00Z",
        "2023-04-04T00:00:00Z",
    ]
    assert sum(r["trade_count"] for r in body["results"]) == 23635
    assert not any(r["is_complete"] for r in body["results"])


def test_csv_has_a_header_and_the_json_values(api_client, binance):
    as_json = api_client.get(URL, {"exchange": "binance", "limit": 5}).json()["results"]

    response = api_client.get(URL, {"exchange": "binance", "limit": 5, "format": "csv"})

    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert list(rows[0]) == list(as_json[0])
    assert [r["taker_buy_volume"] for r in rows] == [r["taker_buy_volume"] for r in as_json]
    assert [r["is_complete"] for r in rows] == ["false" if not r["is_complete"] else "true" for r in as_json]


def test_all_exchange_sums_the_usd_perpetuals_and_names_who_contributed(api_client, bybit_both):
    body = api_client.get(
        URL,
        {"exchange": "all_exchange", "symbol": "BTCUSDT", "from": "2023-08-16T05:12:00Z", "to": "2023-08-16T05:19:00Z"},
    ).json()

    assert body["quote"] == "USD" and body["count"] == 7
    linear, inverse = minute_rows("bybit", "BTCUSDT"), minute_rows("bybit", "BTCUSD")
    for row in body["results"]:
        minute = datetime.fromtimestamp(row["timestamp"], UTC)
        assert row["exchanges"] == ["bybit:BTCUSD", "bybit:BTCUSDT"]
        assert row["trade_count"] == linear[minute].trade_count + inverse[minute].trade_count
        assert d(row["taker_buy_value"]) == pytest.approx(
            linear[minute].taker_buy_value + inverse[minute].taker_buy_value, rel=Decimal("1E-14")
        )
        assert d(row["taker_sell_volume"]) == pytest.approx(
            linear[minute].taker_sell_volume + inverse[minute].taker_sell_volume, abs=Decimal("1E-11")
        )
    earlier = api_client.get(URL, {"exchange": "all_exchange", "to": "2023-08-16T05:00:00Z", "limit": 1}).json()[
        "results"
    ][0]
    assert earlier["exchanges"] == ["bybit:BTCUSD"]  # before the linear recording starts


def test_all_exchange_is_the_usd_and_usdt_perpetuals_only():
    assert [p.label for p in usd_perpetuals("BTC")] == [
        "binance:BTCUSDT",
        "bybit:BTCUSDT",
        "bybit:BTCUSD",
        "bitmex:XBTUSD",
    ]


def test_no_rows_in_range_is_an_empty_200(api_client, binance):
    body = api_client.get(URL, {"exchange": "bithumb"}).json()

    assert body["count"] == 0 and body["results"] == [] and body["symbol"] == "BTC_KRW"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "exchange"),
        ({"exchange": "nyse"}, "exchange"),
        ({"exchange": "binance", "symbol": "ETHUSDT"}, "symbol"),
        ({"exchange": "all_exchange", "symbol": "ETH"}, "symbol"),
        ({"exchange": "binance", "window": "week"}, "window"),
        ({"exchange": "binance", "from": "yesterday"}, "from"),
        ({"exchange": "binance", "to": "2023-13-01"}, "to"),
        ({"exchange": "binance", "from": "1680652980", "to": "1680652800"}, "to"),
        ({"exchange": "binance", "limit": "0"}, "limit"),
        ({"exchange": "binance", "limit": "100001"}, "limit"),
        ({"exchange": "binance", "limit": "ten"}, "limit"),
        ({"exchange": "binance", "format": "xml"}, "format"),
        ({"exchange": "binance", "to": "9999-12-31T23:59:30Z"}, "to"),  # once a 500: window arithmetic overflowed
        ({"exchange": "binance", "from": "9999-12-31T23:30:00Z", "window": "hour"}, "from"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(api_client, params, field):
    response = api_client.get(URL, params)

    assert response.status_code == 400
    error = response.json()["error"]
    assert set(error) == {"code", "message", "fields"}
    assert list(error["fields"]) == [field] and error["message"].startswith(f"{field}: ")


def test_limit_at_its_maximum_is_accepted(api_client, binance):
    response = api_client.get(URL, {"exchange": "binance", "limit": "100000"})

    assert response.status_code == 200 and response.json()["count"] == 18
