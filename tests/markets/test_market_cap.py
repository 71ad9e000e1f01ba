"""Market cap on KRX instruments and ``GET /api/v1/instruments/top/`` against the real
``../shared/data/krx_daily/krx_tickers.csv`` (FinanceData/marcap, see its SOURCE.md)."""

import csv
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from markets.importers import ImportFormatError, parse_krx_tickers
from markets.models import Instrument
from tests.markets.test_importers import shared_file

pytestmark = pytest.mark.django_db


@pytest.fixture
def krx_tickers():
    path = shared_file("krx_daily/krx_tickers.csv")
    call_command("import_instruments", "--format", "krx_tickers", str(path), stdout=StringIO())
    return path


def _independent_top(path, boards, n):
    """The file sorted by plain Python: listed rows of those boards, marcap_krw descending."""
    with open(path, encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["market"] in boards and r["listed_on_2026_02_20"] == "1"]
    rows.sort(key=lambda r: (-int(r["marcap_krw"]), r["code"]))
    return [(r["code"], r["name"], int(r["marcap_krw"]), int(r["shares"])) for r in rows[:n]]


def test_import_stores_market_cap_listed_shares_and_their_date(krx_tickers):
    samsung = Instrument.objects.get(exchange="krx", symbol="005930")
    # the file's row for 005930 (read here, not hard-coded): marcap and shares on 2026-02-20
    with open(krx_tickers, encoding="utf-8", newline="") as fh:
        row = next(r for r in csv.DictReader(fh) if r["code"] == "005930")

    assert samsung.market_cap == Decimal(row["marcap_krw"])
    assert samsung.listed_shares == int(row["shares"])
    assert samsung.market_cap_date.isoformat() == row["last_seen_date"] == "2026-02-20"
    assert samsung.segment == "KOSPI"
    assert Instrument.objects.filter(exchange="krx", market_cap__isnull=True).count() == 0


@pytest.mark.parametrize(("market", "boards"), [("KOSPI", {"KOSPI"}), ("KOSDAQ", {"KOSDAQ", "KOSDAQ GLOBAL"})])
def test_top_25_by_market_cap_equals_an_independent_sort_of_the_file(api_client, krx_tickers, market, boards):
    response = api_client.get("/api/v1/instruments/top/", {"market": market, "by": "market_cap", "limit": 25})

    assert response.status_code == 200
    body = response.json()
    got = [(r["symbol"], r["name_ko"], int(r["market_cap"]), r["listed_shares"]) for r in body["results"]]
    assert got == _independent_top(krx_tickers, boards, 25)
    assert [r["rank"] for r in body["results"]] == list(range(1, 26))
    assert body["count"] == 25 and set(body["boards"]) == boards


def test_kosdaq_top_includes_its_kosdaq_global_segment(api_client, krx_tickers):
    body = api_client.get("/api/v1/instruments/top/", {"market": "KOSDAQ", "limit": 100}).json()

    segments = {r["segment"] for r in body["results"]}
    assert segments == {"KOSDAQ", "KOSDAQ GLOBAL"}
    assert [r["symbol"] for r in body["results"]] == [c for c, *_ in _independent_top(krx_tickers, segments, 100)]


def test_top_leaves_out_delisted_stocks(api_client, krx_tickers):
    # 000060 메리츠화재: last seen 2023-02-14 with a KOSPI market cap that would rank, now delisted
    delisted = Instrument.objects.get(exchange="krx", symbol="000060")
    assert not delisted.active and delisted.market_cap > 0

    body = api_client.get("/api/v1/instruments/top/", {"market": "KOSPI", "limit": 100}).json()

    assert "000060" not in {r["symbol"] for r in body["results"]}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"market": "NASDAQ"}, "market"),
        ({}, "market"),
        ({"market": "KOSPI", "by": "volume"}, "by"),
        ({"market": "KOSPI", "limit": 0}, "limit"),
        ({"market": "KOSPI", "limit": "many"}, "limit"),
        ({"market": "KOSPI", "limit": 101}, "limit"),
    ],
)
def test_top_bad_params_are_400_naming_the_field(api_client, params, field):
    response = api_client.get("/api/v1/instruments/top/", params)

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_a_bad_market_cap_cell_names_the_line(tmp_path):
    path = tmp_path / "krx_tickers.csv"
    path.write_text(
        "code,name,market,market_id,last_seen_date,listed_on_2026_02_20,marcap_krw,shares,marcap_rank\n"
        "000020,동화약품,KOSPI,STK,2026-02-20,1,184906331400,27931470,1125\n"
        "000040,KR모터스,KOSPI,STK,2026-02-20,1,3.4e10,86375184,2351\n",
        encoding="utf-8",
    )

    with pytest.raises(ImportFormatError, match="line 3: marcap_krw '3.4e10'"):
        parse_krx_tickers(path)


def test_a_listing_without_size_columns_keeps_stored_market_caps(krx_tickers, tmp_path):
    path = tmp_path / "names.csv"
    path.write_text("code,name,market\n005930,삼성전자,KOSPI\n", encoding="utf-8")
    before = Instrument.objects.get(exchange="krx", symbol="005930").market_cap

    call_command("import_instruments", "--format", "krx_tickers", str(path), stdout=StringIO())

    assert Instrument.objects.get(exchange="krx", symbol="005930").market_cap == before


def test_board_page_lists_the_top_25_of_kospi_and_kosdaq(client, krx_tickers):
    response = client.get("/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Top 25 by market cap" in html
    assert "시가총액 상위 25" in client.get("/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    for boards in ({"KOSPI"}, {"KOSDAQ", "KOSDAQ GLOBAL"}):
        top = _independent_top(krx_tickers, boards, 25)
        assert all(name in html for _, name, _, _ in top)
        assert _independent_top(krx_tickers, boards, 26)[-1][1] not in html  # 26th is not shown
