"""Reader of the prototype's KIS session recordings (``../shared/data/kis/recordings``), pure Python.

File ``kis_<YYYYMMDD>_<day|night>.sqlite3``: one table ``'{series}_{tr_id}'`` per subscription,
rows ``id, timestamp`` (receive time, naive Asia/Seoul) then the record's fields as TEXT:

* ``*CNT0`` executions: the full record in wire order. ``H0MFCNT0`` / ``H0IFCNT0`` / ``H0IOCNT0``
  are re-encoded as a wire frame and parsed by ``FrameParser`` (the production path, field count
  versioned). ``H0EUCNT0`` tables were stored under the futures column names (SOURCE.md: a
  recording defect) and hold only the first 46 wire fields: they are re-read by position with the
  first 46 H0EUCNT0 columns of the spec.
* ``*ASP0`` quotes: level 1 only, under their own column names (bsop_hour, futs_askp1, futs_bidp1,
  askp_csnu1, bidp_csnu1, askp_rsqn1, bidp_rsqn1); the code is the table's series.

Each record becomes a ``TickRecord``: exchange time = session date + ``bsop_hour`` in KST (a
night-session hour before 06:00 belongs to the next calendar day), received time from
``timestamp`` (KST), both tz-aware UTC; ``sequence`` = the table's row id (unique per table, so per
instrument and kind within the session; identical records in one second stay distinct).
Aggressor side: the futures/options execution records carry none (``side`` ""). Prices index
points, sizes contracts, as ``Decimal`` parsed from the text.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path

from .frames import FrameParser

KST = timezone(timedelta(hours=9), "KST")
_FILE = re.compile(r"kis_(\d{8})_(day|night)")
_TABLE = re.compile(r"^([0-9A-Z]+)_(H0[A-Z]{2}(?:CNT0|ASP0))$")
QUOTE_FIELDS = ("bsop_hour", "futs_askp1", "futs_bidp1", "askp_csnu1", "bidp_csnu1", "askp_rsqn1", "bidp_rsqn1")
POSITIONAL = {"H0EUCNT0": 46}  # tr_id -> the number of wire fields the recording kept


class RecordingError(ValueError):
    """The file is not a KIS recording of the documented form; the message says where."""


@dataclass
class TickRecord:
    """One execution (``kind`` "trade": price, size) or best bid/ask (``kind`` "quote": bid, ask,
    bid_size, ask_size) of ``symbol`` (KRX short code). Times tz-aware UTC; ``extra``: the
    record's other fields as text."""

    symbol: str
    kind: str
    session_date: date
    sequence: int
    exchange_time: datetime
    received_time: datetime
    tr_id: str
    price: Decimal | None = None
    size: Decimal | None = None
    side: str = ""
    bid: Decimal | None = None
    ask: Decimal | None = None
    bid_size: Decimal | None = None
    ask_size: Decimal | None = None
    extra: dict[str, str] = field(default_factory=dict)


def session_of(path: Path | str) -> tuple[date, str]:
    """(session date, "day" | "night") from the file name; RecordingError otherwise."""
    match = _FILE.search(Path(path).name)
    if not match:
        raise RecordingError(f"{path}: name is not kis_<YYYYMMDD>_<day|night>.sqlite3")
    return datetime.strptime(match[1], "%Y%m%d").date(), match[2]


def _dec(text: str, where: str) -> Decimal:
    try:
        return Decimal(text.strip())
    except (InvalidOperation, AttributeError) as exc:
        raise RecordingError(f"{where}: {text!r} is not a number") from exc


def _exchange_time(session: date, night: bool, hhmmss: str, where: str) -> datetime:
    if len(hhmmss) != 6 or not hhmmss.isdigit():
        raise RecordingError(f"{where}: bsop_hour {hhmmss!r} is not HHMMSS")
    try:
        clock = time(int(hhmmss[:2]), int(hhmmss[2:4]), int(hhmmss[4:]))
    except ValueError as exc:
        raise RecordingError(f"{where}: bsop_hour {hhmmss!r}: {exc}") from exc
    day = session + timedelta(days=1) if night and clock.hour < 6 else session
    return datetime.combine(day, clock, KST).astimezone(UTC)


def read_recording(path: Path | str, parser: FrameParser) -> Iterator[TickRecord]:
    """Every record of every table, table by table in name order, rows by id. Raises
    RecordingError (bad name, table, row) or sqlite3.Error (not a SQLite file)."""
    path = Path(path)
    session, part = session_of(path)
    night = part == "night"
    if not path.exists():
        raise RecordingError(f"{path}: no such file")
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [
            n
            for (n,) in con.execute("select name from sqlite_master where type='table' order by name")
            if n != "sqlite_sequence"
        ]
        for table in tables:
            match = _TABLE.match(table)
            if not match:
                raise RecordingError(f"{path}: table {table!r} is not '<series>_<tr_id>'")
            series, tr_id = match[1], match[2]
            cursor = con.execute(f'select * from "{table}" order by id')
            columns = [d[0] for d in cursor.description]
            for row in cursor:
                where = f"{path.name} {table} id {row[0]}"
                received = datetime.fromisoformat(row[1]).replace(tzinfo=KST).astimezone(UTC)
                values = ["" if v is None else str(v) for v in row[2:]]
                if tr_id.endswith("ASP0"):
                    rec = dict(zip(columns[2:], values, strict=True))
                    yield TickRecord(
                        symbol=series,
                        kind="quote",
                        session_date=session,
                        sequence=int(row[0]),
                        exchange_time=_exchange_time(session, night, rec.get("bsop_hour", ""), where),
                        received_time=received,
                        tr_id=tr_id,
                        ask=_dec(rec["futs_askp1"], where),
                        bid=_dec(rec["futs_bidp1"], where),
                        ask_size=_dec(rec["askp_rsqn1"], where),
                        bid_size=_dec(rec["bidp_rsqn1"], where),
                        extra={
                            k: v
                            for k, v in rec.items()
                            if k not in ("bsop_hour", "futs_askp1", "futs_bidp1", "askp_rsqn1", "bidp_rsqn1")
                        },
                    )
                    continue
                if tr_id in POSITIONAL:
                    spec_columns = parser.versions[tr_id][max(parser.versions[tr_id])].columns
                    if len(values) != POSITIONAL[tr_id]:
                        raise RecordingError(
                            f"{where}: {len(values)} fields, the recording form has {POSITIONAL[tr_id]}"
                        )
                    rec = dict(zip(spec_columns[: len(values)], values, strict=True))
                else:
                    frame = parser.parse(f"0|{tr_id}|001|" + "^".join(values))
                    if frame.kind != "data":
                        raise RecordingError(f"{where}: {frame.reason}")
                    rec = dict(frame.records[0])
                code_key, price_key = (
                    ("futs_shrn_iscd", "futs_prpr") if "futs_prpr" in rec else ("optn_shrn_iscd", "optn_prpr")
                )
                yield TickRecord(
                    symbol=rec[code_key],
                    kind="trade",
                    session_date=session,
                    sequence=int(row[0]),
                    exchange_time=_exchange_time(session, night, rec["bsop_hour"], where),
                    received_time=received,
                    tr_id=tr_id,
                    price=_dec(rec[price_key], where),
                    size=_dec(rec["last_cnqn"], where),
                    extra={k: v for k, v in rec.items() if k not in (code_key, "bsop_hour", price_key, "last_cnqn")},
                )
    finally:
        con.close()
