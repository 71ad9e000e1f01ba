"""Benchmark: KIS realtime records parsed per second, and ticks stored per second on PostgreSQL.

(a) ``FrameParser.parse`` (``markets/sources/kis/frames.py``, the production path) over the
recorded raw frames of ``../shared/data/kis`` (``raw_frames_futures_night.txt``: night futures
quotes with their 40-field quirk and 46-field executions; ``raw_frames_stock.txt``: H0STCNT0),
repeated to ``--records`` records (default 1,000,000); also the same records packed 10 to a
frame (``count`` 010, as KIS sends bursts). Prints records/s. Aim: >= 200,000/s.

(b) ``markets.services.tick_insert_many`` (the tick store) on a fresh PostgreSQL database
(``--database-url``, default ``$BENCH_DATABASE_URL``; the database is dropped and recreated):
the futures/options masters imported, the recorded sessions
(``recordings/*.sqlite3``) read with ``read_recording`` and repeated with distinct sequences to
``--ticks`` ticks (default 200,000), stored in batches of ``--batch`` in one transaction per
batch. Prints ticks/s. Aim: >= 20,000/s.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/tradesite_kis_bench \\
      .venv/bin/python bench/kis.py [--records 1000000] [--ticks 200000] [--batch 2000] [--skip-db]

The recorded data are unlicensed and live in ``../shared/data/kis`` only (SOURCE.md).
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
KIS = ROOT.parent / "shared" / "data" / "kis"


def _frames() -> list[str]:
    lines: list[str] = []
    for name in ("raw_frames_futures_night.txt", "raw_frames_stock.txt"):
        lines += [line for line in (KIS / name).read_text(encoding="utf-8").splitlines() if line[:2] in ("0|", "1|")]
    return lines


def _packed(frames: list[str], per: int) -> list[str]:
    """Frames of ``per`` records of one tr_id and field count each, built from the recorded records."""
    by_tr: dict[tuple[str, int], list[str]] = {}
    for raw in frames:
        _, tr_id, _, payload = raw.split("|", 3)
        by_tr.setdefault((tr_id, payload.count("^")), []).append(payload)
    packed = []
    for (tr_id, _), payloads in by_tr.items():
        records = (payloads * per)[:per]
        packed.append(f"0|{tr_id}|{per:03d}|" + "^".join(records))
    return packed


def bench_parser(total: int) -> None:
    from tqdm import tqdm

    from markets.sources.kis.frames import FrameParser

    parser = FrameParser.from_spec_file(KIS / "spec" / "kis_realtime_fields.json")
    for label, frames, per in (("1 record a frame", _frames(), 1), ("10 records a frame", _packed(_frames(), 10), 10)):
        for raw in frames:  # every frame parses as data (no quarantine) before timing
            frame = parser.parse(raw)
            assert frame.kind == "data" and len(frame.records) == per, (frame.kind, frame.reason)
        loops = total // (per * len(frames)) + 1
        parser.stats.clear()
        parse = parser.parse
        start, cpu = time.perf_counter(), time.process_time()
        for _ in tqdm(range(loops), desc=f"parse ({label})", unit=" loop", mininterval=1, leave=False):
            for raw in frames:
                parse(raw)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        records = parser.stats["records"]
        print(
            f"parser ({label}): {records:,} records in {elapsed:.2f} s = {records / elapsed:,.0f} records/s"
            f" (CPU time {cpu:.2f} s = {records / cpu:,.0f} records/s of CPU)"
        )


def _setup_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True)
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def bench_store(url: str, total: int, batch_size: int) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradesite.settings")
    os.environ["LOG_LEVEL"] = "WARNING"
    _setup_database(url)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from tqdm import tqdm

    from markets.models import Instrument, Tick
    from markets.services import tick_insert_many
    from markets.sources.kis.frames import FrameParser
    from markets.sources.kis.recording import read_recording

    assert connection.vendor == "postgresql", "the tick store bench runs on PostgreSQL"
    call_command("migrate", verbosity=0)
    for master in ("fo_idx_code_mts.csv", "fo_eurex_code.csv", "fo_cme_code.csv"):
        call_command("import_instruments", str(KIS / "masterfiles" / master), format="kis_fo_master", verbosity=0)
    instruments = dict(Instrument.objects.filter(exchange="krx").values_list("symbol", "id"))
    parser = FrameParser.from_spec_file(KIS / "spec" / "kis_realtime_fields.json")
    records = [
        rec
        for path in sorted((KIS / "recordings").glob("kis_*.sqlite3"))
        for rec in read_recording(path, parser)
        if rec.symbol in instruments
    ]
    print(f"tick store: {len(records):,} recorded records of {len({r.symbol for r in records})} instruments")

    def ticks(copy: int) -> list:
        # copy k of the recording: sequences shifted by k * 10^6, so every tick is a new row
        return [
            Tick(
                instrument_id=instruments[rec.symbol],
                kind=rec.kind,
                session_date=rec.session_date,
                sequence=rec.sequence + copy * 1_000_000,
                exchange_time=rec.exchange_time,
                received_time=rec.received_time,
                price=rec.price,
                size=rec.size,
                side=rec.side,
                bid=rec.bid,
                ask=rec.ask,
                bid_size=rec.bid_size,
                ask_size=rec.ask_size,
                source="kis_recording",
                extra={"tr_id": rec.tr_id, **rec.extra},
            )
            for rec in records
        ]

    pending: list = []
    copy = 0
    stored = 0
    elapsed = 0.0
    with tqdm(total=total, desc="store ticks", unit=" tick", mininterval=1, leave=False) as bar:
        while stored < total:
            while len(pending) < batch_size:
                pending += ticks(copy)
                copy += 1
            batch, pending = pending[:batch_size], pending[batch_size:]
            start = time.perf_counter()  # the store alone: building Tick objects is the caller's work
            with transaction.atomic():
                inserted = tick_insert_many(ticks=batch, batch_size=batch_size)
            elapsed += time.perf_counter() - start
            assert inserted == len(batch), (inserted, len(batch))
            stored += inserted
            bar.update(inserted)
    rows = Tick.objects.count()
    print(
        f"tick store (PostgreSQL, batches of {batch_size:,}): {stored:,} ticks in {elapsed:.2f} s = {stored / elapsed:,.0f} ticks/s"
    )
    again = ticks(0)[:batch_size]
    start = time.perf_counter()
    with transaction.atomic():
        duplicate = tick_insert_many(ticks=again, batch_size=batch_size)
    print(
        f"tick store re-insert of {len(again):,} stored ticks: {duplicate} new rows in {time.perf_counter() - start:.3f} s;"
        f" rows in the table: {rows:,}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="records to parse (a)")
    parser.add_argument("--ticks", type=int, default=200_000, help="ticks to store (b)")
    parser.add_argument("--batch", type=int, default=2000, help="ticks per tick_insert_many call (b)")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", ""))
    parser.add_argument("--skip-db", action="store_true", help="only the parser (a)")
    args = parser.parse_args()
    if not KIS.exists():
        sys.exit(f"{KIS} absent: the KIS recordings are unlicensed and not shipped with the project")
    bench_parser(args.records)
    if args.skip_db:
        return
    if not args.database_url.startswith("postgres"):
        sys.exit("the tick store bench needs PostgreSQL: set BENCH_DATABASE_URL or --database-url postgres://...")
    bench_store(args.database_url, args.ticks, args.batch)


if __name__ == "__main__":
    main()
