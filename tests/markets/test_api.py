from datetime import UTC, datetime
from decimal import Decimal

import pytest

from markets.models import Candle, Instrument
from tests.helpers import stored

pytestmark = pytest.mark.django_db


def _btc(client):
    response = client.get("/api/v1/instruments/", {"exchange": "upbit", "search": "BTC/KRW"})
    assert response.status_code == 200
    (row,) = [r for r in response.json()["results"] if r["symbol"] == "BTC/KRW"]
    return row


def test_instruments_filter_by_market_and_exchange(api_client, upbit_daily):
    response = api_client.get("/api/v1/instruments/", {"market": "crypto", "exchange": "upbit"})

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 10
    assert {r["symbol"] for r in body["results"]} >= {"BTC/KRW", "ETH/KRW", "ADA/KRW"}
    assert api_client.get("/api/v1/instruments/", {"market": "krx"}).json()["count"] == 0


def test_instruments_bad_filter_value_is_400_naming_the_field(api_client, upbit_daily):
    response = api_client.get("/api/v1/instruments/", {"exchange": "nasdaq"})

    assert response.status_code == 400
    assert "exchange" in response.json()["error"]["fields"]


def test_candles_return_the_files_values_ascending(api_client, upbit_daily):
    ada = Instrument.objects.get(exchange="upbit", symbol="ADA/KRW")

    response = api_client.get(
        f"/api/v1/instruments/{ada.pk}/candles/", {"interval": "1d", "start": "2024-09-26", "end": "2024-09-27"}
    )

    assert response.status_code == 200
    body = response.json()
    assert body["interval"] == "1d" and body["count"] == 2
    first, second = body["results"]
    # the file's row: KRW-ADA,2024-09-26,508.8,532.9,504.7,530.0,15568386.61109085,8138583777.920832
    assert first["open_time"] == "2024-09-26T00:00:00Z"
    assert first["open"] == "508.8"  # plain decimals, not padded to the column's 12 places
    assert [Decimal(first[k]) for k in ("open", "high", "low", "close")] == [
        Decimal("508.8"),
        Decimal("532.9"),
        Decimal("504.7"),
        Decimal("530.0"),
    ]
    assert Decimal(first["volume"]) == stored("15568386.61109085")
    assert second["open_time"] == "2024-09-27T00:00:00Z"


def test_candles_default_to_the_latest_limit_in_ascending_order(api_client, upbit_daily):
    btc = _btc(api_client)

    body = api_client.get(f"/api/v1/instruments/{btc['id']}/candles/", {"interval": "1d", "limit": 3}).json()

    times = [row["open_time"] for row in body["results"]]
    assert times == ["2025-09-25T00:00:00Z", "2025-09-26T00:00:00Z", "2025-09-27T00:00:00Z"]


def test_candles_date_range_is_in_seoul_days_with_inclusive_end(api_client, upbit_daily):
    btc = _btc(api_client)

    body = api_client.get(
        f"/api/v1/instruments/{btc['id']}/candles/", {"interval": "1d", "start": "2025-01-01", "end": "2025-01-31"}
    ).json()

    # Upbit's day opens 09:00 KST: the 2025-01-01 candle opens inside the Seoul day 2025-01-01
    assert body["count"] == 31
    assert body["results"][0]["open_time"] == "2025-01-01T00:00:00Z"
    assert body["results"][-1]["open_time"] == "2025-01-31T00:00:00Z"


def test_candles_of_another_interval_are_empty_not_mixed(api_client, upbit_daily):
    btc = _btc(api_client)

    body = api_client.get(f"/api/v1/instruments/{btc['id']}/candles/", {"interval": "15m"}).json()

    assert body["count"] == 0 and body["results"] == []


@pytest.mark.parametrize(
    "params, field",
    [
        ({"interval": "7m"}, "interval"),
        ({"start": "2025-13-01"}, "start"),
        ({"end": "yesterday"}, "end"),
        ({"start": "2025-02-01", "end": "2025-01-01"}, "end"),
        ({"start": "2025-01-01T00:00:00"}, "start"),
        ({"limit": "0"}, "limit"),
        ({"limit": "abc"}, "limit"),
    ],
)
def test_candles_bad_query_is_400_naming_the_field(api_client, upbit_daily, params, field):
    btc = _btc(api_client)

    response = api_client.get(f"/api/v1/instruments/{btc['id']}/candles/", params)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and field in error["fields"]


def test_candles_of_unknown_instrument_is_404(api_client, upbit_daily):
    response = api_client.get("/api/v1/instruments/999999/candles/")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_market_data_is_read_only(auth_client, upbit_daily):
    btc = Instrument.objects.get(exchange="upbit", symbol="BTC/KRW")

    assert auth_client.post("/api/v1/instruments/", {"symbol": "X/KRW"}, format="json").status_code == 405
    assert auth_client.delete(f"/api/v1/instruments/{btc.pk}/").status_code == 405
    assert Instrument.objects.filter(pk=btc.pk).exists()
    assert Candle.objects.filter(instrument=btc).count() == 367


def test_tickers_top_ranks_by_traded_value(api_client, replay_board):
    response = api_client.get("/api/v1/tickers/", {"top": 5})

    assert response.status_code == 200
    rows = response.json()
    assert len(rows) == 5
    values = [Decimal(r["traded_value_24h"]) for r in rows]
    assert values == sorted(values, reverse=True)
    assert api_client.get("/api/v1/tickers/", {"top": "0"}).status_code == 400


def test_schema_and_docs_are_served(api_client):
    schema = api_client.get("/api/schema/")
    docs = api_client.get("/api/docs/")

    assert schema.status_code == 200 and b"/api/v1/instruments/{id}/candles/" in schema.content
    assert docs.status_code == 200


def test_board_page_renders(client):
    response = client.get("/")

    assert response.status_code == 200
    assert b'data-ws-path="/ws/tickers/"' in response.content and b"markets/board.js" in response.content


def test_candle_times_are_stored_aware_utc(upbit_daily):
    candle = Candle.objects.filter(instrument__symbol="BTC/KRW").order_by("open_time").first()

    assert candle.open_time == datetime(2024, 9, 26, tzinfo=UTC)


def test_search_ranks_the_exact_symbol_and_base_first(api_client, replay_board):
    from django.conf import settings
    from django.core.management import call_command

    # the Bithumb list adds many instruments matching "BTC" (BTC/KRW, BTT, BTG...)
    call_command(
        "import_instruments",
        "--format",
        "bithumb_ticker",
        str(settings.MARKETS["DATA_DIR"] / "bithumb" / "public_ticker_ALL_KRW.json"),
        verbosity=0,
    )

    results = api_client.get("/api/v1/instruments/", {"search": "BTC", "limit": 3}).json()["results"]

    # base BTC on Upbit (with a ticker, most traded) then Bithumb; not BTT, BTG... first
    assert [(r["exchange"], r["symbol"]) for r in results[:2]] == [("upbit", "BTC/KRW"), ("bithumb", "BTC/KRW")]


def test_candles_of_a_non_numeric_instrument_id_is_404(api_client):
    response = api_client.get("/api/v1/instruments/abc/candles/")

    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
