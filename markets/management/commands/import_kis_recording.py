"""``manage.py import_kis_recording FILE [FILE ...]``: load recorded KIS sessions into the tick store
and the 1-minute candles of their executions (interval ``1m``, rebuilt from the stored trades).

    manage.py import_instruments --format kis_fo_master ../shared/data/kis/masterfiles/fo_idx_code_mts.csv
    manage.py import_instruments --format kis_fo_master ../shared/data/kis/masterfiles/fo_eurex_code.csv
    manage.py import_kis_recording ../shared/data/kis/recordings/kis_20250714_night.sqlite3

Files of the ``kis/recordings`` form (see ``markets.sources.kis.recording``). Instruments must be
imported first (the masters); records of codes not in the database are skipped and counted.
Idempotent: ticks are unique per (instrument, kind, session date, sequence), a re-import
inserts nothing. Column lists: ``--spec`` (default ``<SHARED_DATA_DIR>/kis/spec/kis_realtime_fields.json``).
"""

import sqlite3
from collections import Counter
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, transaction
from tqdm import tqdm

from markets.models import Instrument, Tick
from markets.services import candles_1m_from_ticks, tick_insert_many, trade_spans
from markets.sources.kis.frames import FrameParser
from markets.sources.kis.recording import RecordingError, read_recording

BATCH = 2000


class Command(BaseCommand):
    help = "Import recorded KIS realtime sessions (kis_<YYYYMMDD>_<day|night>.sqlite3) into ticks."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+")
        parser.add_argument("--spec", help="KIS realtime column lists (JSON)")

    def handle(self, *args, **options):
        spec = Path(
            options["spec"] or Path(settings.MARKETS["SHARED_DATA_DIR"]) / "kis" / "spec" / "kis_realtime_fields.json"
        )
        try:
            parser = FrameParser.from_spec_file(spec)
        except (OSError, ValueError, KeyError) as exc:
            raise CommandError(f"{spec}: can't read the KIS column lists ({exc})") from exc
        instruments = dict(Instrument.objects.filter(exchange="krx").values_list("symbol", "id"))
        for path in options["paths"]:
            self._import(Path(path), parser, instruments, options["verbosity"])

    def _import(self, path: Path, parser: FrameParser, instruments: dict[str, int], verbosity: int) -> None:
        skipped: Counter = Counter()
        read = inserted = candles = 0
        spans: dict[int, tuple] = {}
        try:
            with transaction.atomic():
                batch: list[Tick] = []
                for rec in tqdm(read_recording(path, parser), desc=path.name, unit=" rec", disable=verbosity < 2):
                    read += 1
                    instrument_id = instruments.get(rec.symbol)
                    if instrument_id is None:
                        skipped[f"code not imported (run import_instruments --format kis_fo_master): {rec.symbol}"] += 1
                        continue
                    batch.append(
                        Tick(
                            instrument_id=instrument_id,
                            kind=rec.kind,
                            session_date=rec.session_date,
                            sequence=rec.sequence,
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
                    )
                    if len(batch) >= BATCH:
                        inserted += tick_insert_many(ticks=batch)
                        _widen(spans, batch)
                        batch = []
                inserted += tick_insert_many(ticks=batch)
                _widen(spans, batch)
                candles = candles_1m_from_ticks(spans=spans)
        except (RecordingError, sqlite3.Error) as exc:
            raise CommandError(f"{path}: {exc}; nothing was written") from exc
        except DatabaseError as exc:
            raise CommandError(f"{path}: the database rejected the import ({exc}); nothing was written") from exc
        if verbosity:
            self.stdout.write(
                f"{path}: {read} records, {inserted} ticks inserted, {read - inserted - sum(skipped.values())} already stored, "
                f"{candles} 1-minute candles written"
            )
            for why, n in sorted(skipped.items()):
                self.stdout.write(f"  skipped {n}: {why}")


def _widen(spans: dict[int, tuple], ticks: list[Tick]) -> None:
    for instrument_id, (first, last) in trade_spans(ticks).items():
        if instrument_id in spans:
            first, last = min(first, spans[instrument_id][0]), max(last, spans[instrument_id][1])
        spans[instrument_id] = (first, last)
