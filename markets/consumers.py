"""``/ws/tickers/``: the live board and per-symbol ticker subscriptions.

Server -> client: ``{"type": "snapshot", "tickers": [T...]}`` on connect, then
``{"type": "tickers", "tickers": [T...]}`` (the board after each feed batch; both also carry
``"clock"``, ``markets.clock.clock_payload()``),
``{"type": "subscribed"|"unsubscribed", "symbols": [...]}``, ``{"type": "ticker", "ticker": T}``
for subscribed symbols and ``{"type": "error", "message": ...}``.
Client -> server: ``{"action": "subscribe"|"unsubscribe", "symbols": ["upbit:BTC/KRW", "krx:005930"]}``.
T is ``markets.payloads``' shape.
"""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from core.websocket import SafeJsonReceiveMixin
from markets import selectors
from markets.clock import clock_payload
from markets.feed import BOARD_GROUP, board_snapshot, instrument_group
from markets.payloads import ticker_payloads

MAX_SUBSCRIPTIONS = 50
MAX_SYMBOL_LENGTH = 60


def _resolve(keys: list[str]) -> tuple[dict[str, int], list[str]]:
    found, unknown = {}, []
    for key in keys:
        instrument = selectors.instrument_get_by_key(key=key)
        if instrument is None:
            unknown.append(key)
        else:
            found[key] = instrument.pk
    return found, unknown


def _tickers(instrument_ids) -> list[dict]:
    tickers = selectors.ticker_for_instruments(instrument_ids=instrument_ids)
    return ticker_payloads(tickers)


class TickerConsumer(SafeJsonReceiveMixin, AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.subscriptions: dict[str, int] = {}
        await self.channel_layer.group_add(BOARD_GROUP, self.channel_name)
        await self.accept()
        await self.send_json(
            {
                "type": "snapshot",
                "tickers": await database_sync_to_async(board_snapshot)(),
                "clock": await database_sync_to_async(clock_payload)(),
            }
        )

    async def disconnect(self, code):
        await self.channel_layer.group_discard(BOARD_GROUP, self.channel_name)
        for instrument_id in set(self.subscriptions.values()):
            await self.channel_layer.group_discard(instrument_group(instrument_id), self.channel_name)

    async def receive_json(self, content, **kwargs):
        if not isinstance(content, dict) or content.get("action") not in {"subscribe", "unsubscribe"}:
            await self._error('action: must be "subscribe" or "unsubscribe".')
            return
        symbols = content.get("symbols")
        if (
            not isinstance(symbols, list)
            or not symbols
            or not all(isinstance(s, str) and 0 < len(s) <= MAX_SYMBOL_LENGTH for s in symbols)
        ):
            await self._error('symbols: must be a non-empty list of strings like "upbit:BTC/KRW".')
            return
        if content["action"] == "subscribe":
            await self._subscribe(list(dict.fromkeys(symbols)))
        else:
            await self._unsubscribe(symbols)

    async def _subscribe(self, symbols: list[str]) -> None:
        new = [s for s in symbols if s not in self.subscriptions]
        if len(self.subscriptions) + len(new) > MAX_SUBSCRIPTIONS:
            await self._error(f"symbols: at most {MAX_SUBSCRIPTIONS} subscriptions per connection.")
            return
        found, unknown = await database_sync_to_async(_resolve)(new)
        if unknown:
            await self._error(f"symbols: unknown instrument(s): {', '.join(unknown)}")
        for key, instrument_id in found.items():
            await self.channel_layer.group_add(instrument_group(instrument_id), self.channel_name)
            self.subscriptions[key] = instrument_id
        if found:
            await self.send_json({"type": "subscribed", "symbols": list(found)})
            for ticker in await database_sync_to_async(_tickers)(found.values()):
                await self.send_json({"type": "ticker", "ticker": ticker})

    async def _unsubscribe(self, symbols: list[str]) -> None:
        removed = [s for s in symbols if s in self.subscriptions]
        for key in removed:
            instrument_id = self.subscriptions.pop(key)
            if instrument_id not in self.subscriptions.values():
                await self.channel_layer.group_discard(instrument_group(instrument_id), self.channel_name)
        await self.send_json({"type": "unsubscribed", "symbols": removed})

    async def _error(self, message: str) -> None:
        await self.send_json({"type": "error", "message": message})

    # group message handlers ("tickers.board" -> tickers_board)
    async def tickers_board(self, event):
        if "text" in event:  # the feed's pre-serialized board, the same text for every client
            await self.send(text_data=event["text"])
        else:
            await self.send_json({"type": "tickers", "tickers": event["tickers"]})

    async def ticker_update(self, event):
        await self.send_json({"type": "ticker", "ticker": event["ticker"]})
