"""Issue 12: page, date and id parameters out of range are 400s naming the parameter, never 500s
and never silently ignored."""

import pytest

from core.pagination import MAX_LIMIT
from markets.models import Instrument

pytestmark = pytest.mark.django_db

LISTS = [
    "/api/v1/instruments/",
    "/api/v1/orders/",
    "/api/v1/fills/",
    "/api/v1/positions/",
    "/api/v1/bots/",
    "/api/v1/backtests/",
    "/api/v1/predictors/",
    "/api/v1/predictions/",
    "/api/v1/prediction-backtests/",
    "/api/v1/alerts/",
    "/api/v1/notifications/",
]
BAD = [str(2**63), str(2**64 + 5), "-1", "abc", "1_000", "１０", "1e3", "1.5", str(MAX_LIMIT + 1), "0"]


def _error_naming(response, name):
    assert response.status_code == 400, (response.status_code, response.content[:300])
    error = response.json()["error"]
    assert set(error) == {"code", "message", "fields"}
    assert name in error["fields"]


@pytest.mark.parametrize("url", LISTS)
@pytest.mark.parametrize("value", BAD)
def test_bad_limit_on_every_list_is_400_naming_limit(auth_client, url, value):
    _error_naming(auth_client.get(url, {"limit": value}), "limit")


@pytest.mark.parametrize("url", LISTS)
@pytest.mark.parametrize("value", [str(2**63), "-1", "abc", "１", "10000000000"])
def test_bad_offset_on_every_list_is_400_naming_offset(auth_client, url, value):
    _error_naming(auth_client.get(url, {"offset": value}), "offset")


@pytest.mark.parametrize("url", LISTS)
def test_the_largest_limit_and_an_offset_past_the_end_are_served_on_every_list(auth_client, url):
    response = auth_client.get(url, {"limit": str(MAX_LIMIT), "offset": "1000000"})

    assert response.status_code == 200, response.content[:300]
    assert response.json()["results"] == []


def test_limit_at_the_max_and_a_plain_offset_still_page(api_client, upbit_daily):
    every = api_client.get("/api/v1/instruments/", {"limit": str(MAX_LIMIT)}).json()
    page = api_client.get("/api/v1/instruments/", {"limit": "2", "offset": "1"}).json()

    assert every["count"] == 10 and len(every["results"]) == 10
    assert [r["id"] for r in page["results"]] == [r["id"] for r in every["results"][1:3]]


def test_schema_documents_the_limit_maximum(api_client):
    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    (limit,) = [p for p in schema["paths"]["/api/v1/instruments/"]["get"]["parameters"] if p["name"] == "limit"]
    assert limit["schema"]["maximum"] == MAX_LIMIT


@pytest.mark.parametrize(
    "params, name",
    [
        ({"start": "0001-01-01"}, "start"),
        ({"end": "9999-12-31"}, "end"),
        ({"start": "0001-01-01T00:00:00+00:00"}, "start"),
        ({"end": "9999-12-31T23:59:59+00:00"}, "end"),
    ],
)
def test_candle_bounds_beyond_the_calendar_are_400(api_client, upbit_daily, params, name):
    ada = Instrument.objects.get(exchange="upbit", symbol="ADA/KRW")
    _error_naming(api_client.get(f"/api/v1/instruments/{ada.pk}/candles/", params), name)


def test_candle_bounds_inside_the_range_still_answer(api_client, upbit_daily):
    ada = Instrument.objects.get(exchange="upbit", symbol="ADA/KRW")
    response = api_client.get(
        f"/api/v1/instruments/{ada.pk}/candles/", {"interval": "1d", "start": "2024-09-26", "end": "2024-09-27"}
    )
    assert response.status_code == 200 and len(response.json()) >= 1


@pytest.mark.parametrize(
    "params, name",
    [
        ({"from": "253402300800"}, "from"),
        ({"to": "253402300800"}, "to"),
        ({"from": "999999999999"}, "from"),
        ({"to": "999999999999.5"}, "to"),
        ({"from": "2009-01-01T00:00:00Z", "to": str(9000 * 366 * 86400)}, "to"),
    ],
)
def test_taker_volume_unix_bounds_beyond_the_range_are_400(api_client, params, name):
    _error_naming(api_client.get("/api/v1/taker-volume/", {"exchange": "binance", **params}), name)


@pytest.mark.parametrize(
    "url, name",
    [
        ("/api/v1/fills/", "instrument"),
        ("/api/v1/fills/", "order"),
        ("/api/v1/orders/", "instrument"),
        ("/api/v1/positions/", "instrument"),
    ],
)
@pytest.mark.parametrize("value", [str(2**64), str(2**63), "-" + str(2**64)])
def test_ids_beyond_64_bits_are_400(auth_client, url, name, value):
    _error_naming(auth_client.get(url, {name: value}), name)


def test_an_ordinary_instrument_filter_still_filters(auth_client, btc):
    response = auth_client.get("/api/v1/fills/", {"instrument": str(btc.pk)})
    assert response.status_code == 200 and response.json()["count"] == 0


@pytest.mark.parametrize("url", ["/api/v1/orders/", "/api/v1/fills/"])
@pytest.mark.parametrize(
    "name, value", [("created_after", "0001-01-01T00:00:00+09:00"), ("created_before", "9999-12-31T23:59:59-09:00")]
)
def test_created_bounds_beyond_the_calendar_are_400(auth_client, url, name, value):
    _error_naming(auth_client.get(url, {name: value}), name)
