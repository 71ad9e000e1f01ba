"""``manage.py etl_taker_volume``: per-minute taker buy/sell volume from a file or live.

    manage.py etl_taker_volume --exchange binance --symbol BTCUSDT --file trades.csv.gz [--file more.csv.gz]
    manage.py etl_taker_volume --exchange bitmex --file bitmex_XBTUSD_ws_trade_messages.jsonl --format bitmex_ws
    manage.py etl_taker_volume --exchange bybit --symbol BTCUSDT                # live, from the stored cursor
    manage.py etl_taker_volume --exchange bitmex --since 2026-01-01T00:00:00Z   # live, from a time

Files are read whole and validated before anything is written, each file in one transaction;
running an import twice leaves the same rows. Formats: see ``etl.formats`` (detected when
``--format`` is not given).
"""

from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError
from tqdm import tqdm

from core.timeparse import TimeParseError, parse_moment
from etl import services
from etl.extract import ExtractNetworkError
from etl.formats import FORMATS, FormatError
from etl.pairs import API_EXCHANGES, UnknownPair, get_pair
from markets.sources.base import SourceError


def parse_since(text: str) -> datetime:
    """Unix seconds, an ISO 8601 datetime with an offset, or a date (an Asia/Seoul day) -> tz-aware
    UTC datetime (``core.timeparse``)."""
    try:
        return parse_moment(text, unix=True)
    except TimeParseError as exc:
        raise CommandError(f"--since: {exc}") from None


class Command(BaseCommand):
    help = "Load per-minute taker buy/sell volume from recorded trade files (--file) or live from the cursor."

    def add_arguments(self, parser):
        parser.add_argument("--exchange", required=True, help=f"{', '.join(API_EXCHANGES)} (or binanceusdm)")
        parser.add_argument(
            "--symbol", help="the exchange's symbol (BTCUSDT, BTCUSD, XBTUSD, BTC_KRW); its BTC pair by default"
        )
        parser.add_argument(
            "--file",
            action="append",
            dest="files",
            metavar="PATH",
            help="recorded trades to import (repeatable, imported in order)",
        )
        parser.add_argument("--format", choices=sorted(FORMATS), help="file format (detected when omitted)")
        parser.add_argument("--since", help="live: start here instead of the stored cursor (ISO-8601 or unix seconds)")

    def handle(self, *args, **options):
        try:
            pair = get_pair(options["exchange"], options["symbol"])
        except UnknownPair as exc:
            raise CommandError(str(exc)) from None
        if options["files"]:
            if options["since"]:
                raise CommandError("--since applies to live runs only (without --file)")
            self._import_files(pair, options)
        else:
            if options["format"]:
                raise CommandError("--format applies to --file only")
            self._live(pair, options)

    def _import_files(self, pair, options):
        verbosity = options["verbosity"]
        for path in tqdm(options["files"], unit="file", desc="files", disable=True if verbosity == 0 else None):
            with tqdm(unit="minute", desc="writing", leave=False, disable=True if verbosity == 0 else None) as bar:
                try:
                    run = services.taker_volume_import_file(
                        pair=pair, path=path, fmt=options["format"], progress=bar.update
                    )
                except FileNotFoundError:
                    raise CommandError(f"{path}: no such file") from None
                except (FormatError, ValueError, OverflowError) as exc:
                    raise CommandError(f"{path}: {exc}; nothing was written") from exc
                except DatabaseError as exc:
                    raise CommandError(
                        f"{path}: the database rejected the import ({exc}); nothing was written"
                    ) from exc
            self._report(run, verbosity)

    def _live(self, pair, options):
        since = parse_since(options["since"]) if options["since"] else None
        try:
            run = services.taker_volume_live_run(pair=pair, since=since)
        except ExtractNetworkError as exc:
            raise CommandError(f"can't reach {pair.exchange} ({exc}); nothing was written") from exc
        except (SourceError, ValueError, OverflowError) as exc:
            raise CommandError(f"{exc}; nothing was written") from exc
        self._report(run, options["verbosity"])

    def _report(self, run, verbosity):
        if verbosity == 0:
            return
        span = ""
        if run.first_trade_time:
            span = f" {run.first_trade_time:%Y-%m-%d %H:%M:%S.%f} .. {run.last_trade_time:%Y-%m-%d %H:%M:%S.%f} UTC"
        self.stdout.write(
            f"{run.exchange}:{run.symbol} {run.kind} {run.source}: {run.trades_read} trades{span}, "
            f"{run.duplicates} duplicate rows dropped, {run.minutes_written} minutes written, "
            f"{run.trades_staged} trades staged for partial minutes"
        )
