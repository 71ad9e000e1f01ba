"""``manage.py import_instruments``: load instrument lists from a recorded file or live via ccxt.

    manage.py import_instruments --format upbit_markets markets/data/upbit/v1_market_all.json
    manage.py import_instruments --format bithumb_ticker [--quote KRW] markets/data/bithumb/public_ticker_ALL_KRW.json
    manage.py import_instruments --format krx_tickers ../shared/data/krx_daily/krx_tickers.csv   # + market cap, shares
    manage.py import_instruments --format kis_fo_master ../shared/data/kis/masterfiles/fo_idx_code_mts.csv
    manage.py import_instruments --format ccxt --exchange bithumb

Instruments are upserted on (exchange, symbol); a field the source leaves empty keeps its stored
value, so a name-less listing never wipes names another source gave.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from markets.importers import INSTRUMENT_FORMATS, ParsedInstruments
from markets.models import Exchange, Instrument
from markets.services import instrument_upsert_many
from markets.sources.base import SourceError


class Command(BaseCommand):
    help = "Import instruments from a recorded listing (--format <name> PATH) or live (--format ccxt --exchange X)."

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", help="listing file; not with --format ccxt")
        parser.add_argument("--format", required=True, choices=[*INSTRUMENT_FORMATS, "ccxt"])
        parser.add_argument("--exchange", choices=Exchange.values, help="required for ccxt; else the format's own")
        parser.add_argument("--quote", help="bithumb_ticker: quote currency when the file name has no ALL_<QUOTE>")

    def handle(self, *args, **options):
        fmt, path, exchange = options["format"], options["path"], options["exchange"]
        parsed = self._fetch(exchange, path) if fmt == "ccxt" else self._parse(fmt, path, exchange, options["quote"])
        keys = {(i.exchange, i.symbol) for i in parsed.instruments}
        before = {
            (e, s)
            for e, s in Instrument.objects.filter(
                exchange__in={k[0] for k in keys}, symbol__in={k[1] for k in keys}
            ).values_list("exchange", "symbol")
            if (e, s) in keys
        }
        try:
            instrument_upsert_many(infos=parsed.instruments, segments=parsed.segments)
        except DatabaseError as exc:
            raise CommandError(
                f"{parsed.source}: the database rejected the import ({exc}); nothing was written"
            ) from exc
        if options["verbosity"] == 0:
            return
        self.stdout.write(
            f"{parsed.source}: {len(keys)} instruments ({len(keys - before)} created, {len(before)} updated)"
        )
        for why, n in parsed.skipped.items():
            self.stdout.write(f"  skipped {n} {why}")

    def _parse(self, fmt: str, path: str | None, exchange: str | None, quote: str | None) -> ParsedInstruments:
        if not path:
            raise CommandError(f"--format {fmt} needs a PATH")
        extra = {"quote": quote} if quote else {}
        if quote and fmt != "bithumb_ticker":
            raise CommandError("--quote applies to --format bithumb_ticker only")
        try:
            return INSTRUMENT_FORMATS[fmt](path, exchange=exchange, **extra)
        except (ValueError, FileNotFoundError) as exc:  # ImportFormatError is a ValueError
            raise CommandError(str(exc)) from exc

    def _fetch(self, exchange: str | None, path: str | None) -> ParsedInstruments:
        if path or not exchange:
            raise CommandError("--format ccxt takes no PATH and needs --exchange")
        # ccxt takes ~0.4 s to import; file imports never need it
        import ccxt

        from markets.sources.ccxt_source import CcxtSource

        try:
            infos = CcxtSource(exchange, max_retries=2).instruments()
        except ccxt.NetworkError as exc:
            raise CommandError(f"can't reach {exchange} ({type(exc).__name__}: {exc}); nothing was imported") from exc
        except (SourceError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        return ParsedInstruments(source=f"ccxt {exchange}", instruments=infos, rows=len(infos))
