"""``GET /api/v1/ticks/`` and ``/ticks/stats/`` on the recorded KIS sessions (../shared/data/kis;
unlicensed, skips when absent): filters, the keyset cursor, CSV, 400s naming the field."""

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from markets.models import Instrument, Tick

pytestmark = pytest.mark.django_db
URL, STATS = "/api/v1/ticks/", "/api/v1/ticks/stats/"


def future():
    return Instrument.objects.get(exchange="krx", symbol="101W09")


def test_trades_of_one_instrument_in_a_window_match_the_store(client, recorded):
    fut = future()
    response = client.get(
        URL, {"instrument": fut.pk, "kind": "trade", "from": "2025-07-18T14:03:40+09:00", "to": "2025-07-18"}
    )
    assert response.status_code == 200
    body = response.json()
    expected = Tick.objects.filter(
        instrument=fut, kind="trade", exchange_time__gte=datetime(2025, 7, 18, 5, 3, 40, tzinfo=UTC)
    ).filter(exchange_time__lt=datetime(2025, 7, 18, 15, 0, tzinfo=UTC))
    assert body["count"] == expected.count() > 0 and body["next"] is None
    assert [r["id"] for r in body["results"]] == list(
        expected.order_by("exchange_time", "id").values_list("id", flat=True)
    )
    first = body["results"][0]
    assert first["exchange_time"].endswith("+09:00") and first["exchange_time"].startswith("2025-07-18T14:03:")
    assert first["symbol"] == "101W09" and first["kind"] == "trade"
    stored = Tick.objects.get(pk=first["id"])
    assert Decimal(first["price"]) == stored.price and Decimal(first["size"]) == stored.size


def test_symbol_key_selects_the_same_instrument(client, recorded):
    by_id = client.get(URL, {"instrument": future().pk, "kind": "quote", "limit": 5}).json()
    by_key = client.get(URL, {"instrument": "krx:101W09", "kind": "quote", "limit": 5}).json()
    assert by_id["results"] == by_key["results"] and len(by_id["results"]) == 5
    assert all(r["bid"] and r["ask"] and r["price"] is None for r in by_id["results"])


def test_empty_parameters_count_as_absent(client, recorded):
    body = client.get(URL + "?instrument=&kind=trade&from=&to=&limit=&format=").json()
    assert body["count"] == 100 and {r["kind"] for r in body["results"]} == {"trade"}


def test_cursor_pages_cover_every_tick_once_in_order(client, recorded):
    fut = future()
    seen, url, params = [], URL, {"instrument": fut.pk, "limit": 97}
    while url:
        body = client.get(url, params).json()
        assert body["count"] <= 97
        seen += [(r["exchange_time"], r["id"]) for r in body["results"]]
        url, params = body["next"], None
    expected = list(Tick.objects.filter(instrument=fut).order_by("exchange_time", "id").values_list("id", flat=True))
    assert [pk for _, pk in seen] == expected and len(expected) == 140 + 1019 + 53 + 96


def test_csv_downloads_every_matching_tick(client, recorded):
    fut = future()
    response = client.get(URL, {"instrument": fut.pk, "kind": "trade", "format": "csv", "limit": 3})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert 'filename="ticks_101W09.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == Tick.objects.filter(instrument=fut, kind="trade").count() == 140 + 53  # not the page's 3
    night = [r for r in rows if r["session_date"] == "2025-07-14"]
    assert night[0]["exchange_time"] == "2025-07-14T18:44:11+09:00" and night[0]["price"] == "433.15"
    assert night[0]["tr_id"] == "H0MFCNT0"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"kind": "fill"}, "kind"),
        ({"from": "yesterday"}, "from"),
        ({"from": "2025-07-18T14:00:00"}, "from"),  # no offset
        ({"to": "2025-13-01"}, "to"),
        ({"from": "2025-07-19", "to": "2025-07-18"}, "to"),
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"format": "xml"}, "format"),
        ({"cursor": "garbage!"}, "cursor"),
        ({"instrument": "krx:NOPE"}, "instrument"),
        ({"instrument": "99999999999999999999999"}, "instrument"),
    ],
)
def test_bad_parameters_are_400_naming_the_field(client, params, field):
    response = client.get(URL, params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and list(error["fields"]) == [field]


def test_stats_per_instrument_of_a_session(client, recorded):
    body = client.get(STATS, {"date": "2025-07-18"}).json()
    assert body["date"] == "2025-07-18"
    by_symbol = {r["symbol"]: r for r in body["results"]}
    assert by_symbol["101W09"]["trades"] == 53 and by_symbol["101W09"]["quotes"] == 96
    assert by_symbol["101W09"]["rows"] == 149 and by_symbol["101W12"]["rows"] == 22
    assert (
        body["rows"]
        == sum(r["rows"] for r in body["results"])
        == Tick.objects.filter(session_date=date(2025, 7, 18)).count()
    )
    ticks = Tick.objects.filter(instrument__symbol="101W09", session_date=date(2025, 7, 18))
    first = ticks.order_by("exchange_time").first().exchange_time
    assert datetime.fromisoformat(by_symbol["101W09"]["first_time"]) == first
    assert by_symbol["101W09"]["first_time"].endswith("+09:00")
    latest = client.get(STATS).json()
    assert latest["date"] == "2025-07-18"  # the latest session stored


def test_stats_bad_date_is_400_naming_it(client):
    response = client.get(STATS, {"date": "18/07/2025"})
    assert response.status_code == 400 and list(response.json()["error"]["fields"]) == ["date"]
