"""``import_kis_recording`` on the real recorded sessions (../shared/data/kis/recordings; unlicensed, skips when absent)."""

from datetime import UTC, date, datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from markets.models import Tick
from tests.kis.test_fo_master import load_masters
from tests.kis.test_frames import kis_file

pytestmark = pytest.mark.django_db
NIGHT, DAY = "recordings/kis_20250714_night.sqlite3", "recordings/kis_20250718_day.sqlite3"


def run(*names):
    out = StringIO()
    call_command("import_kis_recording", *[str(kis_file(n)) for n in names], stdout=out)
    return out.getvalue()


def test_import_both_sessions_then_reimport_changes_nothing():
    load_masters()
    report = run(NIGHT, DAY)
    assert f"{kis_file(NIGHT)}: 1749 records" in report and f"{kis_file(DAY)}: 197 records" in report
    stored = Tick.objects.count()
    skipped = sum(
        int(line.split()[1].rstrip(":")) for line in report.splitlines() if line.strip().startswith("skipped")
    )
    assert stored == 1749 + 197 - skipped and stored > 1900
    counts = {
        (k, s): Tick.objects.filter(kind=k, instrument__symbol=s).count()
        for k, s in [("trade", "101W09"), ("quote", "101W09"), ("quote", "101W12")]
    }
    assert counts == {("trade", "101W09"): 140 + 53, ("quote", "101W09"): 1019 + 96, ("quote", "101W12"): 127 + 22}

    first = Tick.objects.get(instrument__symbol="101W09", kind="trade", session_date=date(2025, 7, 14), sequence=1)
    assert (first.price, first.size, first.side) == (Decimal("433.15"), Decimal(1), "")
    assert first.exchange_time == datetime(2025, 7, 14, 9, 44, 11, tzinfo=UTC)  # 18:44:11 KST
    assert first.received_time == datetime(2025, 7, 14, 9, 44, 12, 114244, tzinfo=UTC)
    assert first.extra["tr_id"] == "H0MFCNT0" and first.extra["acml_vol"] == "1226"
    # night options re-read with the H0EUCNT0 columns: optn_prpr is the price, not the change
    option = Tick.objects.get(instrument__symbol="201W08450", session_date=date(2025, 7, 14), sequence=1)
    assert (option.price, option.size, option.extra["optn_prdy_vrss"]) == (Decimal("4.11"), Decimal(2), "0.18")
    day_option = Tick.objects.get(instrument__symbol="201W08450", session_date=date(2025, 7, 18), sequence=1)
    assert (day_option.price, day_option.extra["delta"], day_option.extra["hts_ints_vltl"]) == (
        Decimal("2.34"),
        "0.26",
        "18.47",
    )
    quote = Tick.objects.get(instrument__symbol="101W09", kind="quote", session_date=date(2025, 7, 18), sequence=1)
    assert (quote.ask, quote.bid, quote.ask_size, quote.bid_size, quote.price) == (
        Decimal("430.65"),
        Decimal("430.60"),
        12,
        36,
        None,
    )

    snapshot = list(Tick.objects.order_by("id").values())
    again = run(NIGHT, DAY)
    assert "0 ticks inserted" in again and list(Tick.objects.order_by("id").values()) == snapshot


def test_without_instruments_everything_is_skipped_and_nothing_written():
    report = run(DAY)
    assert "0 ticks inserted" in report and "skipped" in report and not Tick.objects.exists()


def test_not_a_recording_fails_and_writes_nothing(tmp_path):
    load_masters()
    bad = tmp_path / "kis_20250718_day.sqlite3"
    bad.write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(CommandError, match="nothing was written"):
        call_command("import_kis_recording", str(bad))
    with pytest.raises(CommandError, match="kis_<YYYYMMDD>"):
        call_command("import_kis_recording", str(tmp_path / "session.sqlite3"))
    assert not Tick.objects.exists()
