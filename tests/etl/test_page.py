"""The public taker-volume page (/taker-volume/): chart data, the KST table and the CSV link
agree with ``GET /api/v1/taker-volume/`` on the recorded Binance USD-M trades."""

import csv
import io
import json
import re

import pytest
from django.urls import reverse

from etl import services
from etl.pairs import get_pair
from tests.etl.conftest import BINANCE_CSV

pytestmark = pytest.mark.django_db


@pytest.fixture
def binance_minutes():
    services.taker_volume_import_file(pair=get_pair("binance"), path=BINANCE_CSV)


def chart_points(html: str) -> list[dict]:
    return json.loads(html.split('id="tv-data" type="application/json">')[1].split("</script>")[0])


def test_the_page_draws_the_apis_rows_in_kst_for_anyone(client, binance_minutes):
    # 09:00-09:03 KST = 00:00-00:03 UTC
    response = client.get(
        reverse("taker-volume-page"),
        {"exchange": "binance", "window": "min", "from": "2023-04-05T09:00", "to": "2023-04-05T09:03"},
    )
    api = client.get(
        reverse("taker-volume"),
        {"exchange": "binance", "window": "min", "from": "2023-04-05T00:00:00Z", "to": "2023-04-05T00:03:00Z"},
    ).json()["results"]

    assert response.status_code == 200
    html = response.content.decode()
    points = chart_points(html)
    assert len(points) == len(api) == 3
    for point, row in zip(points, reversed(api), strict=True):  # oldest first, shifted by +9 h for a KST axis
        assert point["time"] == row["timestamp"] + 9 * 3600
        assert point["buy"] == pytest.approx(float(row["taker_buy_volume"]))
        assert point["sell"] == pytest.approx(float(row["taker_sell_volume"]))
    table = html.split('id="tv-rows"')[1]
    assert re.findall(r"<td>(\d{4}-\d\d-\d\d \d\d:\d\d KST)</td>", table) == [
        "2023-04-05 09:02 KST",
        "2023-04-05 09:01 KST",
        "2023-04-05 09:00 KST",
    ]
    assert "lightweight-charts.standalone.production.js" in html and "etl/taker_volume.js" in html


def test_the_csv_link_downloads_the_same_rows(client, binance_minutes):
    html = client.get(
        reverse("taker-volume-page"),
        {"exchange": "binance", "window": "min", "from": "2023-04-05T09:00", "to": "2023-04-05T09:03"},
    ).content.decode()
    link = re.search(r'id="tv-csv" href="([^"]+)"', html).group(1).replace("&amp;", "&")

    assert link.startswith(reverse("taker-volume") + "?") and "format=csv" in link
    download = client.get(link)
    assert download.status_code == 200 and download["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(download.content.decode())))
    assert [r["datetime"] for r in rows] == ["2023-04-05T00:02:00Z", "2023-04-05T00:01:00Z", "2023-04-05T00:00:00Z"]


def test_hour_and_day_windows_and_the_default_range_end_at_the_newest_minute(client, binance_minutes):
    minute = chart_points(client.get(reverse("taker-volume-page")).content.decode())
    hour = chart_points(client.get(reverse("taker-volume-page"), {"window": "hour"}).content.decode())
    day = chart_points(client.get(reverse("taker-volume-page"), {"window": "day"}).content.decode())

    assert minute[-1]["time"] == 1721347500 + 9 * 3600  # 2024-07-19 00:05 UTC, the newest stored minute
    assert hour and all(p["time"] % 3600 == 0 for p in hour)
    assert day and sum(p["buy"] for p in day) >= sum(p["buy"] for p in hour)


@pytest.mark.parametrize(
    "query, field",
    [
        ({"window": "fortnight"}, "window"),
        ({"exchange": "nasdaq"}, "exchange"),
        ({"exchange": "binance", "symbol": "DOGEUSDT"}, "symbol"),
        ({"from": "soon"}, "from"),
        ({"from": "2023-04-05T09:03", "to": "2023-04-05T09:00"}, "to"),
    ],
)
def test_a_bad_selector_is_400_with_its_fields_message(client, binance_minutes, query, field):
    response = client.get(reverse("taker-volume-page"), query, HTTP_ACCEPT_LANGUAGE="ko")

    assert response.status_code == 400
    html = response.content.decode()
    errors = re.findall(rf'<span class="tv-error" id="id_{field}_error">([^<]*)</span>', html)
    assert len(errors) == 1 and re.search("[가-힣]", errors[0]), errors
    assert chart_points(html) == []


def test_the_nav_links_the_taker_volume_page(client):
    html = client.get(reverse("taker-volume-page")).content.decode()

    assert f'href="{reverse("taker-volume-page")}"' in html.split("</header>")[0]
    assert reverse("taker-volume-page") == "/taker-volume/"


def test_the_table_writes_volumes_without_padding_and_the_selectors_in_order(client, binance_minutes):
    html = client.get(
        reverse("taker-volume-page"),
        {"exchange": "binance", "window": "min", "from": "2023-04-05T09:00", "to": "2023-04-05T09:01"},
    ).content.decode()
    api = client.get(
        reverse("taker-volume"),
        {"exchange": "binance", "window": "min", "from": "2023-04-05T00:00:00Z", "to": "2023-04-05T00:01:00Z"},
    ).json()["results"][0]

    row = html.split('id="tv-rows"')[1].split("</tbody>")[0]
    assert f'<td class="col-num up">{float(api["taker_buy_volume"]):,}</td>' in row  # "75.983", not "75.98300000"
    names = re.findall(r'name="(exchange|symbol|window|from|to)"', html.split('id="tv-form"')[1].split("</form>")[0])
    assert names == ["exchange", "symbol", "window", "from", "to"]
