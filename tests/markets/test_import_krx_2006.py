"""import_candles --format krx_daily on slices of ../shared/data/krx_daily_2006/ (7.17M rows,
no licence: never copied into the project; these tests skip, saying why, when it is absent).

The slice: the header, the first 3,000 data lines (000020 2006-2017, with volume-0 flat halts
from line 866) and lines 2,371,500 .. 2,371,800 (033660 in 2021, with the open = high = low = 0
rows SOURCE.md counts among its 175 data errors), written to tmp_path as they are.
"""

import gzip
from datetime import UTC, datetime
from io import StringIO
from itertools import islice
from pathlib import Path

import pandas as pd
import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from markets.importers import (
    HALT,
    HALT_FLAT,
    ImportFormatError,
    StreamSummary,
    parse_krx_daily,
    stream_krx_daily,
)
from markets.models import Candle, Instrument

pytestmark = pytest.mark.django_db

KRX_2006 = Path(settings.MARKETS["SHARED_DATA_DIR"]) / "krx_daily_2006" / "krx_daily_ohlcv_2006_2021.csv.gz"
SECOND_PART = (2_371_500, 2_371_800)  # physical lines of the full file (header = 1)


@pytest.fixture(scope="module")
def slice_lines() -> list[str]:
    if not KRX_2006.exists():
        pytest.skip("../shared/data absent: krx_daily_2006 has no licence and is not shipped")
    with gzip.open(KRX_2006, "rt", encoding="utf-8") as fh:
        head = list(islice(fh, 3001))
        rest = list(islice(fh, SECOND_PART[0] - 3002, SECOND_PART[1] - 3001))
    return head + rest


def write(tmp_path: Path, lines: list[str], name: str = "krx_2006_slice.csv") -> Path:
    path = tmp_path / name
    path.write_text("".join(lines), encoding="utf-8")
    return path


def run(*args) -> str:
    out = StringIO()
    call_command("import_candles", *map(str, args), stdout=out)
    return out.getvalue()


def expected(path: Path) -> pd.DataFrame:
    """The slice read independently of the importer, with both halt forms marked."""
    df = pd.read_csv(path, dtype={"code": str})
    df["zero_halt"] = (df[["open", "high", "low"]] == 0).all(axis=1) & (df["close"] > 0)
    df["flat_halt"] = (df["volume"] == 0) & (df["open"] == df["high"]) & (df["high"] == df["low"])
    df["flat_halt"] &= (df["low"] == df["close"]) & ~df["zero_halt"]
    return df


def session_open(day: str) -> datetime:
    d = datetime.fromisoformat(day)
    return datetime(d.year, d.month, d.day, tzinfo=UTC) - pd.Timedelta(hours=9)


def test_both_halt_forms_are_skipped_and_counted_and_every_other_row_is_stored_exactly(tmp_path, slice_lines):
    path = write(tmp_path, slice_lines)
    df = expected(path)
    assert df["zero_halt"].sum() > 0 and df["flat_halt"].sum() > 0  # the slice holds both forms

    out = run("--format", "krx_daily", path)

    traded = df[~df["zero_halt"] & ~df["flat_halt"]]
    assert Candle.objects.count() == len(traded)
    assert f"{df['flat_halt'].sum()} {HALT_FLAT}" in out and f"{df['zero_halt'].sum()} {HALT}" in out
    assert set(Instrument.objects.values_list("symbol", "segment")) == set(zip(df.code, df.market, strict=True))
    flat = df[df["flat_halt"]].iloc[0]
    assert not Candle.objects.filter(instrument__symbol=flat.code, open_time=session_open(flat.date)).exists()
    row = traded.iloc[-1]
    stored = Candle.objects.get(instrument__symbol=row.code, open_time=session_open(row.date))
    assert [stored.open, stored.high, stored.low, stored.close, stored.volume] == [
        int(row[k]) for k in ("open", "high", "low", "close", "volume")
    ]


def test_keep_halts_stores_the_flat_halt_rows_as_recorded(tmp_path, slice_lines):
    path = write(tmp_path, slice_lines)
    df = expected(path)

    run("--format", "krx_daily", "--keep-halts", path)

    assert Candle.objects.count() == len(df)
    flat = df[df["flat_halt"]].iloc[0]
    stored = Candle.objects.get(instrument__symbol=flat.code, open_time=session_open(flat.date))
    assert (stored.open, stored.high, stored.low, stored.close, stored.volume) == (*[int(flat.open)] * 4, 0)


def broken(lines: list[str], line: int) -> list[str]:
    """``lines`` with physical line ``line`` given a high below its low."""
    fields = lines[line - 1].rstrip("\n").split(",")
    fields[5] = str(int(fields[6]) - 10)  # high < low
    return [*lines[: line - 1], ",".join(fields) + "\n", *lines[line:]]


def test_an_invalid_row_stops_the_import_naming_file_and_line_and_writes_nothing(tmp_path, slice_lines):
    path = write(tmp_path, broken(slice_lines, 2_500))

    with pytest.raises(CommandError) as error:
        run("--format", "krx_daily", path)

    assert f"{path}, line 2500: high" in str(error.value) and "nothing was written" in str(error.value)
    assert Candle.objects.count() == 0 and Instrument.objects.count() == 0


def test_an_invalid_row_in_a_later_chunk_rolls_back_the_chunks_already_written(tmp_path, slice_lines, monkeypatch):
    from markets.management.commands import import_candles

    monkeypatch.setattr(
        import_candles, "stream_krx_daily", lambda path, **kw: stream_krx_daily(path, chunk_rows=500, **kw)
    )
    path = write(tmp_path, broken(slice_lines, 3_200))

    with pytest.raises(CommandError, match="line 3200"):
        run("--format", "krx_daily", path)

    assert Candle.objects.count() == 0 and Instrument.objects.count() == 0


def test_skip_invalid_skips_and_lists_the_bad_rows_by_line_with_their_count(tmp_path, slice_lines):
    path = write(tmp_path, broken(broken(slice_lines, 100), 2_900))
    df = expected(path)

    out = run("--format", "krx_daily", "--skip-invalid", path)

    assert "invalid rows skipped: 2\n  line 100: high" in out and "\n  line 2900: high" in out
    good = df[~df["zero_halt"] & ~df["flat_halt"]]
    assert Candle.objects.count() == len(good) - 2
    bad = df.iloc[100 - 2]
    assert not Candle.objects.filter(instrument__symbol=bad.code, open_time=session_open(bad.date)).exists()


def test_streamed_and_whole_file_parsers_accept_the_same_bars(tmp_path, slice_lines):
    path = write(tmp_path, slice_lines)
    whole = parse_krx_daily(path)
    summary = StreamSummary(source=str(path))
    streamed: dict = {}
    for chunk in stream_krx_daily(path, chunk_rows=700, summary=summary):
        for key, bars in chunk.groups.items():
            streamed.setdefault(key, []).extend(bars)

    assert streamed == whole.groups
    assert summary.skipped == whole.skipped and summary.rows == whole.rows


def test_a_code_and_date_repeated_in_a_later_chunk_is_invalid(tmp_path, slice_lines):
    path = write(tmp_path, [*slice_lines[:1001], slice_lines[10]])  # line 1002 repeats line 11

    with pytest.raises(ImportFormatError, match="line 1002: repeats 000020"):
        list(stream_krx_daily(path, chunk_rows=500))
    summary = StreamSummary(source=str(path))
    list(stream_krx_daily(path, chunk_rows=500, skip_invalid=True, summary=summary))
    assert [where for where, _ in summary.invalid] == ["line 1002"]
