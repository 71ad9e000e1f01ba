"""Loading: minute rows equal the reference, re-imports change nothing, no trade is lost or
counted twice across file boundaries, bad input writes nothing."""

import gzip
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from etl import services
from etl.formats import FormatError
from etl.models import CoverageSpan, IngestRun, PairState, StagedTrade, TakerVolume
from etl.pairs import get_pair
from tests.etl.conftest import BINANCE_CSV, BINANCE_WS, binance_csv_trades, reference_minutes, split_csv
from tests.helpers import stored

pytestmark = pytest.mark.django_db

BINANCE = get_pair("binance", "BTCUSDT")
FIELDS = [
    "exchange",
    "symbol",
    "minute",
    "quote",
    "taker_buy_volume",
    "taker_sell_volume",
    "taker_buy_value",
    "taker_sell_value",
    "trade_count",
    "is_complete",
]


def snapshot():
    return list(TakerVolume.objects.order_by("exchange", "symbol", "minute").values_list(*FIELDS))


def coverage():
    return list(CoverageSpan.objects.order_by("start").values_list("start", "end", "first_trade_id", "last_trade_id"))


def clear():
    for model in (TakerVolume, CoverageSpan, StagedTrade, PairState, IngestRun):
        model.objects.all().delete()


def test_a_binance_file_loads_every_minute_as_the_reference_computes_it():
    expected = reference_minutes(binance_csv_trades())

    run = services.taker_volume_import_file(pair=BINANCE, path=BINANCE_CSV)

    assert (run.status, run.trades_read, run.duplicates, run.minutes_written) == ("ok", 23635, 0, 18)
    rows = {r.minute: r for r in TakerVolume.objects.filter(exchange="binanceusdm", symbol="BTCUSDT")}
    assert rows.keys() == expected.keys()
    for minute, ref in expected.items():
        row = rows[minute]
        assert row.taker_buy_volume == stored(str(ref["buy_volume"]))
        assert row.taker_sell_volume == stored(str(ref["sell_volume"]))
        assert row.taker_buy_value == stored(str(ref["buy_value"]))
        assert row.taker_sell_value == stored(str(ref["sell_value"]))
        assert row.trade_count == ref["count"] and row.quote == "USDT"
    incomplete = sorted(m.strftime("%Y-%m-%d %H:%M") for m, r in rows.items() if not r.is_complete)
    assert incomplete == ["2023-04-04 23:58", "2023-04-05 00:06", "2024-07-18 23:57", "2024-07-19 00:05"]
    assert [(s[2], s[3]) for s in coverage()] == [("3535186032", "3535198966"), ("5182005737", "5182016437")]


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite keeps decimals as 15-digit floats; exact on PostgreSQL"
)
def test_sums_are_stored_exactly_on_postgresql():
    expected = reference_minutes(binance_csv_trades())

    services.taker_volume_import_file(pair=BINANCE, path=BINANCE_CSV)

    for row in TakerVolume.objects.all():
        ref = expected[row.minute]
        assert (row.taker_buy_value, row.taker_sell_value) == (ref["buy_value"], ref["sell_value"])
    total = sum(r.taker_buy_value + r.taker_sell_value for r in TakerVolume.objects.all())
    assert total == sum(v["buy_value"] + v["sell_value"] for v in expected.values())


def test_importing_the_same_file_again_changes_nothing():
    services.taker_volume_import_file(pair=BINANCE, path=BINANCE_CSV)
    rows, spans, staged = snapshot(), coverage(), StagedTrade.objects.count()

    run = services.taker_volume_import_file(pair=BINANCE, path=BINANCE_CSV)

    assert run.status == "ok"
    assert snapshot() == rows and coverage() == spans and StagedTrade.objects.count() == staged


def test_the_websocket_recording_of_the_same_trades_adds_nothing():
    services.taker_volume_import_file(pair=BINANCE, path=BINANCE_CSV)
    rows = snapshot()

    services.taker_volume_import_file(pair=BINANCE, path=BINANCE_WS)

    assert snapshot() == rows


def cut_points():
    """Row indexes to cut the CSV at: inside a minute, between two trades of one millisecond,
    just before the first trade of a minute, next to the insurance-fund fill, and between
    the two recorded windows."""
    with gzip.open(BINANCE_CSV, "rt") as fh:
        times = [int(line.split(",")[4]) for line in fh.read().splitlines()[1:]]
    same_ms = next(i for i in range(3000, len(times)) if times[i] == times[i - 1])
    minute_start = next(i for i in range(7000, len(times)) if times[i] // 60000 != times[i - 1] // 60000)
    window_gap = next(i for i in range(1, len(times)) if times[i] - times[i - 1] > 3_600_000)
    return sorted({1500, same_ms, 5049, minute_start, window_gap, window_gap + 4321})


def test_no_trade_is_lost_or_doubled_across_file_boundaries(tmp_path):
    services.taker_volume_import_file(pair=BINANCE, path=BINANCE_CSV)
    whole, whole_spans = snapshot(), coverage()
    clear()
    parts = split_csv(BINANCE_CSV, cut_points(), tmp_path)

    for path in [parts[3], parts[0], parts[5], parts[1], parts[6], parts[2], parts[4]]:  # out of order
        services.taker_volume_import_file(pair=BINANCE, path=path)

    assert snapshot() == whole
    assert sum(row[8] for row in snapshot()) == 23635
    assert coverage() == whole_spans  # consecutive ids join the files' spans


def test_overlapping_files_count_shared_trades_once(tmp_path):
    parts = split_csv(BINANCE_CSV, [4000, 9000], tmp_path)
    overlap = tmp_path / "overlap.csv"
    lines = BINANCE_CSV.open("rb").read()
    rows = gzip.decompress(lines).decode().splitlines()
    overlap.write_text("\n".join([rows[0], *rows[1 + 3000 : 1 + 10000]]) + "\n")  # straddles both cuts

    for path in (parts[0], overlap, parts[2], parts[1]):
        services.taker_volume_import_file(pair=BINANCE, path=path)
    mixed = snapshot()
    clear()
    services.taker_volume_import_file(pair=BINANCE, path=BINANCE_CSV)

    assert mixed == snapshot()


def test_partial_minutes_already_complete_are_left_alone(tmp_path):
    services.taker_volume_import_file(pair=BINANCE, path=BINANCE_CSV)
    rows, staged = snapshot(), StagedTrade.objects.count()
    (piece,) = split_csv(BINANCE_CSV, [], tmp_path)
    text = piece.read_text().splitlines()
    piece.write_text("\n".join([text[0], *text[2000:2600]]) + "\n")  # a slice inside complete minutes

    run = services.taker_volume_import_file(pair=BINANCE, path=piece)

    assert run.trades_staged == 0
    assert snapshot() == rows and StagedTrade.objects.count() == staged


def test_a_bad_file_writes_nothing_and_records_the_failed_run(tmp_path):
    services.taker_volume_import_file(pair=BINANCE, path=BINANCE_CSV)
    rows, spans = snapshot(), coverage()
    (bad,) = split_csv(BINANCE_CSV, [], tmp_path)
    text = bad.read_text().splitlines()
    broken = text[100].split(",")
    broken[1] = "28145.10.5"  # a malformed price in an otherwise real file
    bad.write_text("\n".join([*text[:100], ",".join(broken), *text[101:]]) + "\n")

    with pytest.raises(ValueError, match="price"):
        services.taker_volume_import_file(pair=BINANCE, path=bad)

    assert snapshot() == rows and coverage() == spans
    run = IngestRun.objects.latest("started_at")
    assert run.status == "failed" and "price" in run.error
    assert "price" in PairState.objects.get(exchange="binanceusdm", symbol="BTCUSDT").last_error


def test_a_file_of_the_wrong_format_is_refused_before_writing(tmp_path):
    with pytest.raises(FormatError):
        services.taker_volume_import_file(pair=BINANCE, path=BINANCE_CSV, fmt="bitmex_ws")

    assert TakerVolume.objects.count() == 0 and CoverageSpan.objects.count() == 0


def test_staged_trades_of_complete_minutes_are_purged_after_retention(tmp_path):
    parts = split_csv(BINANCE_CSV, [6000], tmp_path)
    services.taker_volume_import_file(pair=BINANCE, path=parts[0])
    services.taker_volume_import_file(pair=BINANCE, path=parts[1])
    cut_minute = StagedTrade.objects.filter(trade_id="3535192032").values_list("minute", flat=True).get()
    waiting = StagedTrade.objects.filter(
        minute__in=TakerVolume.objects.filter(is_complete=False).values("minute")
    ).count()
    assert TakerVolume.objects.get(minute=cut_minute).is_complete  # joined by the second file

    assert services.staged_trades_purge(retention=timedelta(days=1)) == 0  # too recent
    purged = services.staged_trades_purge(retention=timedelta(days=1), now=timezone.now() + timedelta(days=2))

    assert purged > 0
    assert StagedTrade.objects.filter(minute=cut_minute).count() == 0
    assert StagedTrade.objects.count() == waiting  # incomplete minutes keep theirs
    assert (
        TakerVolume.objects.get(minute=cut_minute).trade_count
        == reference_minutes(binance_csv_trades())[cut_minute]["count"]
    )


def test_values_need_no_more_places_than_the_columns_keep():
    services.taker_volume_import_file(pair=BINANCE, path=BINANCE_CSV)

    row = TakerVolume.objects.order_by("minute").first()
    assert row.taker_buy_value == stored("1525589.7420")  # 15255897420 units of 1e-4 USDT, per the transform
    assert Decimal(row.taker_buy_volume) == Decimal("54.202")
