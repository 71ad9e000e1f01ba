"""``manage.py import_candles``: load OHLCV candles from a recorded file, or live through ccxt.

    manage.py import_candles --format upbit_csv --interval 1d markets/data/coins_daily/upbit_....csv.gz
    manage.py import_candles --format krx_daily [--keep-halts] markets/data/krx_daily/krx_daily_ohlcv_top50.csv.gz
    manage.py import_candles --format krx_daily [--skip-invalid] ../shared/data/krx_daily_2006/krx_daily_ohlcv_2006_2021.csv.gz
    manage.py import_candles --format ccxt --exchange bithumb --symbol BTC/KRW --interval 1d --since 2024-01-01

The whole input is parsed and validated first; a bad row stops the command naming file and line,
with nothing written. Then everything is written in one transaction (missing instruments
created, candles upserted), so running it twice leaves the same rows.

``krx_daily`` files are streamed instead (7.17M rows of ``krx_daily_2006/``): read and written in
chunks inside ONE transaction, so a bad row found late still leaves nothing written. With
``--skip-invalid`` invalid rows are skipped and listed by line, with their count.
"""

from datetime import datetime, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, transaction
from tqdm import tqdm

from core.timeparse import TimeParseError, parse_moment
from markets.importers import (
    CANDLE_FORMATS,
    ImportFormatError,
    ParsedCandles,
    StreamSummary,
    candles_from_bars,
    normalize_interval,
    stream_krx_daily,
    unified_symbol,
)
from markets.models import Exchange
from markets.services import candles_import
from markets.sources.base import SourceError


def parse_when(text: str, *, end_of_day: bool = False) -> datetime:
    """A date (an Asia/Seoul day; with ``end_of_day`` its last millisecond, for an inclusive
    ``--until``) or an ISO datetime with an offset -> tz-aware UTC datetime (``core.timeparse``)."""
    try:
        moment = parse_moment(text, end_of_day=end_of_day)
        return moment - timedelta(milliseconds=1) if end_of_day and len(text.strip()) == 10 else moment
    except TimeParseError as exc:
        raise CommandError(str(exc)) from None


class Command(BaseCommand):
    help = "Import OHLCV candles from a recorded file (--format <name> PATH) or live (--format ccxt)."

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", help="file to import (.gz is read gzipped); not with --format ccxt")
        parser.add_argument("--format", required=True, choices=[*CANDLE_FORMATS, "ccxt"])
        parser.add_argument(
            "--exchange", choices=Exchange.values, help="exchange the candles belong to (default per format)"
        )
        parser.add_argument("--symbol", help="unified symbol, e.g. BTC/KRW, for files that do not name it")
        parser.add_argument("--interval", help="1m 5m 10m 15m 30m 1h 4h 1d (60m -> 1h, 24h -> 1d)")
        parser.add_argument("--keep-halts", action="store_true", help="krx_daily: keep open=high=low=0 halt rows")
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="krx_daily: skip invalid rows and list them by line (default: the first one stops the import)",
        )
        parser.add_argument(
            "--since", help="ccxt: first open time, YYYY-MM-DD (an Asia/Seoul day) or ISO datetime with an offset"
        )
        parser.add_argument("--until", help="ccxt: last open time, inclusive (a date means its whole Asia/Seoul day)")

    def handle(self, *args, **options):
        if options["skip_invalid"] and options["format"] != "krx_daily":
            raise CommandError("--skip-invalid applies to --format krx_daily only")
        if options["format"] == "krx_daily":
            return self._stream_krx_daily(options)
        parsed = self._fetch(options) if options["format"] == "ccxt" else self._parse(options)
        verbosity = options["verbosity"]
        try:
            # tqdm's own default (None) shows the bar only on a terminal
            with tqdm(
                total=parsed.candles, unit="candle", desc="writing", disable=True if verbosity == 0 else None
            ) as bar:
                result = candles_import(
                    groups=parsed.groups,
                    instruments=parsed.instruments.values(),
                    segments=parsed.segments,
                    progress=bar.update,
                )
        except DatabaseError as exc:
            raise CommandError(
                f"{parsed.source}: the database rejected the import ({exc}); nothing was written"
            ) from exc
        if verbosity == 0:
            return
        self.stdout.write(
            f"{parsed.source}: {parsed.rows} rows, {len(parsed.groups)} groups, "
            f"{result.candles_written} candles written; instruments {result.instruments_created} created, "
            f"{result.instruments_renamed} renamed"
        )
        skipped = sum(parsed.skipped.values())
        self.stdout.write(f"rows skipped: {skipped}" + "".join(f"\n  {n} {why}" for why, n in parsed.skipped.items()))
        for why, n in parsed.kept_quirks.items():
            self.stdout.write(f"kept as recorded: {n} {why}")

    def _stream_krx_daily(self, options) -> None:
        path, verbosity = options["path"], options["verbosity"]
        if not path:
            raise CommandError("--format krx_daily needs a PATH")
        if options["exchange"] not in (None, "krx"):
            raise CommandError("krx_daily holds KRX stocks; exchange must be krx")
        if options["symbol"]:
            raise CommandError("krx_daily files name their own symbols; drop --symbol")
        if options["since"] or options["until"]:
            raise CommandError("--since/--until apply to --format ccxt only")
        try:
            normalize_interval(options["interval"], fmt="krx_daily", fixed="1d")
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        summary = StreamSummary(source=str(path))
        created = renamed = written = 0
        try:
            with (
                transaction.atomic(),
                tqdm(unit="row", desc="importing", disable=True if verbosity == 0 else None) as bar,
            ):
                for chunk in stream_krx_daily(
                    path, keep_halts=options["keep_halts"], skip_invalid=options["skip_invalid"], summary=summary
                ):
                    result = candles_import(
                        groups=chunk.groups,
                        instruments=chunk.instruments.values(),
                        segments=chunk.segments,
                        plain_sql=True,
                    )
                    created += result.instruments_created
                    renamed += result.instruments_renamed
                    written += result.candles_written
                    bar.update(chunk.rows)
        except (ImportFormatError, FileNotFoundError) as exc:
            raise CommandError(f"{exc}; nothing was written") from exc
        except DatabaseError as exc:
            raise CommandError(f"{path}: the database rejected the import ({exc}); nothing was written") from exc
        if verbosity == 0:
            return
        self.stdout.write(
            f"{summary.source}: {summary.rows} rows, {summary.codes} groups, "
            f"{written} candles written; instruments {created} created, {renamed} renamed"
        )
        skipped = sum(summary.skipped.values())
        self.stdout.write(f"rows skipped: {skipped}" + "".join(f"\n  {n} {why}" for why, n in summary.skipped.items()))
        for why, n in summary.kept_quirks.items():
            self.stdout.write(f"kept as recorded: {n} {why}")
        if summary.invalid:
            self.stdout.write(f"invalid rows skipped: {len(summary.invalid)}")
            for where, problem in summary.invalid:
                self.stdout.write(f"  {where}: {problem}")

    def _parse(self, options) -> ParsedCandles:
        fmt, path = options["format"], options["path"]
        if not path:
            raise CommandError(f"--format {fmt} needs a PATH")
        extra = {}
        if options["keep_halts"]:
            if fmt != "krx_daily":
                raise CommandError("--keep-halts applies to --format krx_daily only")
            extra["keep_halts"] = True
        if options["since"] or options["until"]:
            raise CommandError("--since/--until apply to --format ccxt only")
        try:
            return CANDLE_FORMATS[fmt](
                path, exchange=options["exchange"], symbol=options["symbol"], interval=options["interval"], **extra
            )
        except (ValueError, FileNotFoundError) as exc:  # ImportFormatError is a ValueError
            raise CommandError(str(exc)) from exc

    def _fetch(self, options) -> ParsedCandles:
        exchange, symbol, interval = options["exchange"], options["symbol"], options["interval"]
        if options["path"] or not (exchange and symbol and interval):
            raise CommandError("--format ccxt takes no PATH and needs --exchange, --symbol and --interval")
        # ccxt takes ~0.4 s to import; file imports never need it
        import ccxt

        from markets.sources.ccxt_source import CcxtSource

        try:
            symbol, interval = unified_symbol(symbol), normalize_interval(interval, fmt="ccxt")
            since = parse_when(options["since"]) if options["since"] else None
            until = parse_when(options["until"], end_of_day=True) if options["until"] else None
            source = CcxtSource(exchange, max_retries=2)
            bars = list(source.ohlcv(symbol, interval, since=since, until=until))
            return candles_from_bars(
                bars, source=f"ccxt {exchange} {symbol} {interval}", exchange=exchange, symbol=symbol, interval=interval
            )
        except ccxt.NetworkError as exc:
            raise CommandError(f"can't reach {exchange} ({type(exc).__name__}: {exc}); nothing was imported") from exc
        except (SourceError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
