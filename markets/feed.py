"""The live ticker feed: a source's ticker stream -> ``Ticker`` rows -> channel groups.

One feed runs per source: inside the demo process (replay) or as ``manage.py stream_tickers``
(production, one process per exchange, channels-redis between processes). After each batch
is stored, the current board (top tickers by traded value) goes to ``BOARD_GROUP`` and every
updated ticker to its instrument's group, which ``/ws/tickers/`` subscribers join.
"""

import asyncio
import json
import logging

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.utils.module_loading import import_string

from markets import selectors, services
from markets.clock import clock_payload
from markets.payloads import ticker_payloads
from markets.sources.base import MarketSource, TickerSnapshot

logger = logging.getLogger(__name__)

BOARD_GROUP = "tickers.board"


def instrument_group(instrument_id: int) -> str:
    """The channel group of one instrument; ids keep names inside Channels' allowed charset."""
    return f"ticker.{int(instrument_id)}"


def board_snapshot(*, limit: int | None = None) -> list[dict]:
    """The board as sent to clients: top tickers by 24 h traded value, serialized."""
    tickers = selectors.ticker_top(limit=limit or settings.MARKETS["BOARD_SIZE"])
    return ticker_payloads(tickers)


def store_batch(*, batch: list[TickerSnapshot], source: str) -> tuple[list[dict], list[dict]]:
    """Upsert a batch of snapshots; return (updated tickers, board), both serialized."""
    # a replay's recorded clock starts over when it loops: let it rewind its own tickers
    written = services.ticker_upsert_many(
        snapshots=batch, source=source, keep_newer=source not in ("replay", "kis_replay")
    )
    instrument_ids = [t.instrument_id for t in written]
    run_tick_handlers(instrument_ids)
    updated = selectors.ticker_for_instruments(instrument_ids=instrument_ids)
    return ticker_payloads(updated), board_snapshot()


def run_tick_handlers(instrument_ids: list[int]) -> None:
    """Call ``MARKETS["TICK_HANDLERS"]`` (dotted paths) with the updated instruments. Kept as
    settings so markets does not import the apps that react to prices; a failing handler is
    logged and does not stop the feed."""
    if not instrument_ids:
        return
    for path in settings.MARKETS.get("TICK_HANDLERS", []):
        try:
            import_string(path)(instrument_ids=instrument_ids)
        except Exception:
            logger.exception("tick handler %s failed", path)


async def publish(*, updated: list[dict], board: list[dict], channel_layer=None) -> None:
    layer = channel_layer or get_channel_layer()
    clock = await sync_to_async(clock_payload, thread_sensitive=False)()
    # serialized once per batch: every client is sent the same text (was: json.dumps per consumer)
    message = {"type": "tickers", "tickers": board, "clock": clock}
    await layer.group_send(BOARD_GROUP, {"type": "tickers.board", "text": json.dumps(message)})
    for ticker in updated:
        await layer.group_send(instrument_group(ticker["id"]), {"type": "ticker.update", "ticker": ticker})


async def run_feed(
    source: MarketSource, *, symbols: list[str] | None = None, channel_layer=None, max_batches: int | None = None
) -> int:
    """Stream ``source`` into the database and the channel layer until cancelled.

    Registers the source's instruments first, so a replay of coins listed after our
    instrument files still shows. Returns the number of batches handled (for tests and
    ``max_batches``); a batch that fails to store is logged and skipped, never half-published.
    """
    infos = await sync_to_async(source.instruments, thread_sensitive=False)()
    await database_sync_to_async(services.instrument_upsert_many)(infos=infos)
    handled = 0
    async for batch in source.stream_tickers(symbols):
        try:
            updated, board = await database_sync_to_async(store_batch)(batch=batch, source=source.name)
        except Exception:  # a bad batch must not stop the board; it is logged with its traceback
            logger.exception("feed %s: could not store a batch of %d tickers", source.name, len(batch))
            continue
        await publish(updated=updated, board=board, channel_layer=channel_layer)
        handled += 1
        if max_batches is not None and handled >= max_batches:
            break
    return handled


async def run_feed_forever(source_factory, *, symbols=None, max_backoff: float = 60.0) -> None:
    """Run a feed, restarting it with exponential backoff when it fails (lost connection)."""
    backoff = 1.0
    while True:
        try:
            await run_feed(source_factory(), symbols=symbols)
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("ticker feed stopped; restarting in %.0f s", backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, max_backoff)
