"""Which candles to crawl, and the crawl of them all (wiring: it reads every app's instruments).

Targets, crypto instruments only (the ccxt venues, ``markets.sources.CCXT_EXCHANGES``):

* ``1d`` for every instrument on the board (the top 20 KRW tickers by traded value), held (a
  position with a quantity), in an open order, in a bot or in an active alert;
* ``1h`` for the board's coins.

(There is no watchlist model yet; KRX daily charts through KIS are not crawled here.)
Each instrument is crawled incrementally from its newest stored candle
(``markets.services.candles_crawl``: paginated ``fetch_ohlcv`` with ``since``, one transaction
per instrument, gaps recorded).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime

from django.db.models import Q

from markets.jobs import job_run
from markets.models import Instrument
from markets.sources.base import MarketSource, SourceError
from markets.sources.retry import HostDown

log = logging.getLogger(__name__)

JOB = "markets: candle crawl"
BOARD_SIZE = 20


def crawl_targets() -> dict[str, set[int]]:
    """Instrument ids to crawl per interval (``{"1d": {...}, "1h": {...}}``)."""
    from alerts.models import Alert
    from bots.models import Bot
    from markets.selectors import ticker_top
    from markets.sources import CCXT_EXCHANGES
    from trading.models import Order, Position

    board = set(ticker_top(limit=BOARD_SIZE).values_list("instrument_id", flat=True))
    used = (
        set(Position.objects.filter(~Q(quantity=0)).values_list("instrument_id", flat=True))
        | set(Order.objects.filter(status__in=Order.OPEN_STATUSES).values_list("instrument_id", flat=True))
        | set(Bot.objects.values_list("instrument_id", flat=True))
        | set(Alert.objects.filter(state=Alert.State.ACTIVE).values_list("instrument_id", flat=True))
    )
    crypto = set(
        Instrument.objects.filter(pk__in=board | used, exchange__in=CCXT_EXCHANGES).values_list("pk", flat=True)
    )
    return {"1d": crypto, "1h": crypto & board}


def crawl_all(*, source_for: Callable[[str], MarketSource] | None = None, now: datetime | None = None) -> int:
    """Crawl every target; returns the candles written. Per venue one ``JobStatus`` row
    (``markets: candle crawl``/venue): an exchange that is down (network error, open breaker)
    stops that venue's crawl for this run and is recorded as its failure; a ``SourceError`` of
    one instrument (an unknown symbol) is logged and the others go on."""
    from markets.breakers import breakers
    from markets.services import candles_crawl
    from markets.sources import get_source

    targets = crawl_targets()
    per_venue: dict[str, list[tuple[Instrument, str]]] = defaultdict(list)
    ids = set().union(*targets.values())
    instruments = {i.pk: i for i in Instrument.objects.filter(pk__in=ids)}
    for interval in ("1d", "1h"):
        for pk in sorted(targets.get(interval, ())):
            per_venue[instruments[pk].exchange].append((instruments[pk], interval))
    written = 0
    for venue, items in sorted(per_venue.items()):
        source = source_for(venue) if source_for else get_source(venue, breakers=breakers(), max_retries=2)
        try:
            with job_run(JOB, venue=venue) as run:
                for instrument, interval in items:
                    try:
                        run.rows += candles_crawl(
                            instrument=instrument, interval=interval, source=source, now=now
                        ).written
                    except SourceError as exc:
                        log.warning("candle crawl of %s %s failed: %s", instrument, interval, exc)
        except Exception as exc:  # the venue is down: its breaker logged it; the next run probes again
            if not (isinstance(exc, HostDown) or _is_network_error(exc)):
                raise
            log.debug("candle crawl of %s stopped: %s", venue, exc)
        else:
            written += run.rows
    return written


def _is_network_error(exc: BaseException) -> bool:
    try:
        import ccxt
    except ImportError:  # pragma: no cover - ccxt is a requirement
        return False
    return isinstance(exc, ccxt.NetworkError)
