"""``import_instruments --format kis_fo_master`` on the real KIS masters in ../shared/data/kis/masterfiles
(unlicensed: skips when absent). Expiry dates are checked against the XKRX calendar rule."""

from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from markets.importers import kospi200_expiry, nth_weekday
from markets.models import Instrument
from tests.kis.test_frames import kis_file

MASTERS = ["masterfiles/fo_idx_code_mts.csv", "masterfiles/fo_eurex_code.csv", "masterfiles/fo_cme_code.csv"]


def load_masters():
    out = StringIO()
    for name in MASTERS:
        call_command("import_instruments", "--format", "kis_fo_master", str(kis_file(name)), stdout=out)
    return out.getvalue()


def test_expiry_rule_second_thursday_and_holiday_moves_back():
    assert nth_weekday(2025, 9, 3, 2) == date(2025, 9, 11)
    assert kospi200_expiry("F 202509") == date(2025, 9, 11)
    # 2025-10-09 (Hangul Day) and 10-03..08 (Chuseok, National Foundation Day) closed -> 10-02
    assert kospi200_expiry("C 202510 300.0") == date(2025, 10, 2)
    assert kospi200_expiry("위클리C 2507W3 382.5") == date(2025, 7, 17)
    assert kospi200_expiry("위클리M P 2507W3 387.5") == date(2025, 7, 21)
    for bad in ("F 2025", "SP 2509-2512", "위클리C 2507W6 382.5"):
        with pytest.raises(ValueError):
            kospi200_expiry(bad)


@pytest.mark.django_db
def test_import_real_masters_fields_and_idempotent(api_client):
    report = load_masters()
    assert "1847 instruments (1847 created, 0 updated)" in report and "skipped 1397 not a KOSPI200" in report
    total = Instrument.objects.filter(market="krx_derivatives").count()
    # idx master 1,847 + eurex-only weekly series + the CME master's futures already in idx
    assert total == Instrument.objects.filter(exchange="krx", kind__in=["future", "option"]).count() > 1847
    fut = Instrument.objects.get(symbol="101W09")
    assert (
        fut.kind,
        fut.underlying,
        fut.expiry,
        fut.strike,
        fut.right,
        fut.multiplier,
        fut.tick_size,
        fut.name_ko,
    ) == ("future", "KOSPI200", date(2025, 9, 11), None, "", Decimal(250000), Decimal("0.05"), "F 202509")
    call = Instrument.objects.get(symbol="201W08450")
    assert (call.kind, call.right, call.strike, call.expiry, call.name_ko) == (
        "option",
        "call",
        Decimal(450),
        date(2025, 8, 14),
        "C 202508 450.0",
    )
    put = Instrument.objects.get(symbol="301W08450")
    assert (put.right, put.strike) == ("put", Decimal(450))
    weekly = Instrument.objects.get(symbol="209E1W382")
    assert (weekly.expiry, weekly.strike) == (date(2025, 7, 17), Decimal("382.5"))
    assert not Instrument.objects.filter(name_ko__startswith="미니").exists()

    before = list(Instrument.objects.order_by("id").values())
    again = load_masters()
    assert "0 created" in again
    after = list(Instrument.objects.order_by("id").values())
    assert [{k: v for k, v in r.items() if k != "updated_at"} for r in after] == [
        {k: v for k, v in r.items() if k != "updated_at"} for r in before
    ]

    for term, symbol in (("101W09", "101W09"), ("F 202509", "101W09"), ("C 202508 450", "201W08450")):
        body = api_client.get("/api/v1/instruments/", {"search": term}).json()
        rows = body["results"] if isinstance(body, dict) else body
        first = rows[0]
        assert first["symbol"] == symbol, term
        assert first["market"] == "krx_derivatives" and first["kind"] in ("future", "option")
    body = api_client.get("/api/v1/instruments/", {"search": "201W08450"}).json()
    row = (body["results"] if isinstance(body, dict) else body)[0]
    assert (row["kind"], row["right"], row["expiry"], row["underlying"]) == ("option", "call", "2025-08-14", "KOSPI200")
    assert Decimal(row["strike"]) == 450 and Decimal(row["multiplier"]) == 250000


@pytest.mark.django_db
def test_broken_row_names_the_line_and_writes_nothing(tmp_path):
    src = kis_file(MASTERS[0]).read_text(encoding="utf-8").splitlines()
    src[2] = src[2].replace("F 202512", "F 2025-12")
    broken = tmp_path / "fo_idx_code_mts.csv"
    broken.write_text("\n".join(src) + "\n", encoding="utf-8")
    with pytest.raises(CommandError, match="line 3"):
        call_command("import_instruments", "--format", "kis_fo_master", str(broken))
    assert not Instrument.objects.filter(market="krx_derivatives").exists()
