"""The exchanges' documented public WebSocket streams: URLs, subscriptions and message parsers.

Pure Python (no Django, no network): each ``Protocol`` turns a list of unified symbols into the
subscription frames its exchange documents, and one received message into ``Parsed`` (ticker
snapshots, trades, and whether it was an acknowledgement). ``markets.sources.ws_source`` runs
the connection; these classes only speak the wire format, so the recorded messages in
``../shared/data`` test them directly.

Why not ccxt.pro's ``watch_tickers`` / ``watch_trades`` (ccxt 4.5.90 ships them): Upbit's
recorded messages are in the compact ``format: "SIMPLE"`` (``ty``, ``cd``, ``tp``...) that
ccxt.pro neither requests nor parses; ccxt.pro keeps no trade ids or sequences visible per
message, so gaps could not be counted; and its reconnects happen inside ``watch_*`` calls with
their own logging. The wire formats below are small and documented:

* **Upbit** ``wss://api.upbit.com/websocket/v1``: one JSON array
  ``[{"ticket"}, {"type": "ticker", "codes"}, {"type": "trade", "codes"}, {"format": "SIMPLE"}]``;
  replies are binary frames of JSON. Trade ``ab`` is the taker side (``BID`` = taker bought).
* **Bithumb** ``wss://pubwss.bithumb.com/pub/ws``: ``{"type": "ticker", "symbols", "tickTypes":
  ["24H"]}`` and ``{"type": "transaction", "symbols"}``; acks ``{"status": "0000", "resmsg"}``;
  times are KST; ``buySellGb`` ``"1"`` = 매도체결 (taker sold), ``"2"`` = 매수체결 (taker bought).
* **Binance USDⓈ-M** ``wss://fstream.binance.com/stream`` (combined streams: every message is
  ``{"stream", "data"}``): ``{"method": "SUBSCRIBE", "params": ["!ticker@arr", "btcusdt@trade"]}``;
  ``m`` true = buyer is maker = taker SOLD; trade ids ``t`` are contiguous per symbol, so a jump
  is a sequence gap.
* **Bybit v5 linear** ``wss://stream.bybit.com/v5/public/linear``: ``{"op": "subscribe", "args":
  ["tickers.BTCUSDT", "publicTrade.BTCUSDT"]}`` (at most 10 args a request); ``tickers`` sends a
  snapshot then deltas (merged here); ``{"op": "ping"}`` every 20 s. The v2 inverse ``trade.BTCUSD``
  messages of the 2021 recording parse too.
* **BitMEX** ``wss://ws.bitmex.com/realtime``: ``{"op": "subscribe", "args": ["trade:XBTUSD"]}``;
  ``side`` is the taker side (trades only; not one of the live board's venues).

Numbers are ``Decimal`` from the message text (``Decimal(str(x))`` where the exchange sends JSON
numbers); times are aware UTC.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from .base import TickerSnapshot, ms_to_utc, to_decimal

KST = timezone(timedelta(hours=9), "KST")
BUY, SELL = "buy", "sell"


@dataclass(frozen=True)
class Trade:
    """One trade print. ``side`` is the TAKER's side ("buy" = the aggressor bought).

    ``price`` in quote currency per base unit (contracts for inverse BitMEX/Bybit v2: USD per
    BTC); ``amount`` in base units (BTC, coins), or contracts (USD) for inverse perpetuals;
    ``sequence`` is the exchange's per-symbol sequence where it gives a contiguous one (Binance
    trade ids), else ``None``. ``no_taker``: a fill without an aggressor (Binance insurance-fund
    and ADL fills, often off the market): it counts for the sequence, not for taker volume or
    the last price.
    """

    exchange: str
    symbol: str
    time: datetime
    price: Decimal
    amount: Decimal
    side: str
    trade_id: str
    sequence: int | None = None
    no_taker: bool = False  # a fill with no aggressor (Binance insurance-fund / ADL: ``X`` not MARKET)


@dataclass
class Parsed:
    """What one message carried."""

    tickers: list[TickerSnapshot] = field(default_factory=list)
    trades: list[Trade] = field(default_factory=list)
    ack: bool = False  # a subscription / connection acknowledgement or a pong
    error: str = ""  # the exchange refused something (logged once per connection)


def _loads(message: str | bytes) -> Any:
    if isinstance(message, bytes):
        message = message.decode("utf-8")
    return json.loads(message)


def _rate(change: Decimal | None, reference: Decimal | None) -> Decimal | None:
    if change is None or not reference:
        return None
    return change / reference


class Protocol:
    """One exchange's stream. Subclasses set ``exchange`` and ``url``."""

    exchange = ""
    url = ""
    ping_message: str | None = None  # an application-level ping, sent every ``ping_seconds``
    ping_seconds = 20.0

    def subscriptions(self, symbols: list[str]) -> list[str]:
        """The text frames that subscribe ``symbols`` (unified) to tickers and trades."""
        raise NotImplementedError

    def parse(self, message: str | bytes) -> Parsed:
        """One received message -> ``Parsed``; unknown messages give an empty ``Parsed``."""
        raise NotImplementedError


class UpbitProtocol(Protocol):
    exchange = "upbit"
    url = "wss://api.upbit.com/websocket/v1"

    @staticmethod
    def code(symbol: str) -> str:
        base, quote = symbol.split("/")
        return f"{quote}-{base}"

    @staticmethod
    def unified(code: str) -> str:
        quote, base = code.split("-", 1)
        return f"{base}/{quote}"

    def subscriptions(self, symbols: list[str]) -> list[str]:
        codes = [self.code(s) for s in symbols]
        return [
            json.dumps(
                [
                    {"ticket": f"tradesite-{uuid.uuid4().hex[:12]}"},
                    {"type": "ticker", "codes": codes},
                    {"type": "trade", "codes": codes},
                    {"format": "SIMPLE"},
                ]
            )
        ]

    def parse(self, message: str | bytes) -> Parsed:
        m = _loads(message)
        if not isinstance(m, dict):
            return Parsed()
        if "error" in m:
            return Parsed(error=str(m["error"]))
        # SIMPLE keys, with the DEFAULT format's names as the fallback
        kind = m.get("ty", m.get("type"))
        code = m.get("cd", m.get("code"))
        if not code:
            return Parsed()
        symbol = self.unified(code)
        if kind == "trade":
            side = m.get("ab", m.get("ask_bid"))
            return Parsed(
                trades=[
                    Trade(
                        exchange=self.exchange,
                        symbol=symbol,
                        time=ms_to_utc(m["ttms"] if "ttms" in m else m["trade_timestamp"]),
                        price=Decimal(str(m.get("tp", m.get("trade_price")))),
                        amount=Decimal(str(m.get("tv", m.get("trade_volume")))),
                        side=BUY if side == "BID" else SELL,
                        trade_id=str(m.get("sid", m.get("sequential_id"))),
                    )
                ]
            )
        if kind == "ticker":
            last = Decimal(str(m.get("tp", m.get("trade_price"))))
            change = to_decimal(m.get("scp", m.get("signed_change_price")))
            return Parsed(
                tickers=[
                    TickerSnapshot(
                        exchange=self.exchange,
                        symbol=symbol,
                        last_price=last,
                        change=change,
                        change_rate=to_decimal(m.get("scr", m.get("signed_change_rate"))),
                        volume_24h=to_decimal(m.get("atv24h", m.get("acc_trade_volume_24h"))),
                        traded_value_24h=to_decimal(m.get("atp24h", m.get("acc_trade_price_24h"))),
                        time=ms_to_utc(m["tms"] if "tms" in m else m["timestamp"]),
                    )
                ]
            )
        return Parsed()  # orderbook and anything else: not used by the board


def _kst(text: str, fmt: str) -> datetime:
    return datetime.strptime(text, fmt).replace(tzinfo=KST).astimezone(UTC)


class BithumbProtocol(Protocol):
    exchange = "bithumb"
    url = "wss://pubwss.bithumb.com/pub/ws"

    @staticmethod
    def code(symbol: str) -> str:
        return symbol.replace("/", "_")

    @staticmethod
    def unified(code: str) -> str:
        return code.replace("_", "/", 1)

    def subscriptions(self, symbols: list[str]) -> list[str]:
        codes = [self.code(s) for s in symbols]
        return [
            json.dumps({"type": "ticker", "symbols": codes, "tickTypes": ["24H"]}),
            json.dumps({"type": "transaction", "symbols": codes}),
        ]

    def parse(self, message: str | bytes) -> Parsed:
        m = _loads(message)
        if not isinstance(m, dict):
            return Parsed()
        if "status" in m:
            status = str(m["status"])
            return Parsed(ack=True) if status == "0000" else Parsed(error=f"{status} {m.get('resmsg', '')}")
        content = m.get("content") or {}
        if m.get("type") == "transaction":
            trades = [
                Trade(
                    exchange=self.exchange,
                    symbol=self.unified(row["symbol"]),
                    time=_kst(row["contDtm"], "%Y-%m-%d %H:%M:%S.%f"),
                    price=Decimal(row["contPrice"]),
                    amount=Decimal(row["contQty"]),
                    side=BUY if str(row["buySellGb"]) == "2" else SELL,
                    trade_id=f"{row['symbol']}:{row['contDtm']}",
                )
                for row in content.get("list") or []
            ]
            return Parsed(trades=trades)
        if m.get("type") == "ticker":
            change = to_decimal(content.get("chgAmt"))
            pct = to_decimal(content.get("chgRate"))
            return Parsed(
                tickers=[
                    TickerSnapshot(
                        exchange=self.exchange,
                        symbol=self.unified(content["symbol"]),
                        last_price=Decimal(content["closePrice"]),
                        change=change,
                        change_rate=pct / 100 if pct is not None else None,
                        volume_24h=to_decimal(content.get("volume")),
                        traded_value_24h=to_decimal(content.get("value")),
                        time=_kst(content["date"] + content["time"], "%Y%m%d%H%M%S"),
                    )
                ]
            )
        return Parsed()


class BinanceUsdmProtocol(Protocol):
    exchange = "binanceusdm"
    url = "wss://fstream.binance.com/stream"

    @staticmethod
    def code(symbol: str) -> str:
        pair = symbol.split(":")[0]
        return pair.replace("/", "")

    @staticmethod
    def unified(code: str) -> str:
        for quote in ("USDT", "USDC", "BUSD"):
            if code.endswith(quote) and len(code) > len(quote):
                return f"{code[: -len(quote)]}/{quote}:{quote}"
        return code

    def subscriptions(self, symbols: list[str]) -> list[str]:
        params = ["!ticker@arr", *(f"{self.code(s).lower()}@trade" for s in symbols)]
        # Binance allows 200 streams per connection and 10 incoming messages per second
        return [
            json.dumps({"method": "SUBSCRIBE", "params": params[i : i + 100], "id": n + 1})
            for n, i in enumerate(range(0, len(params), 100))
        ]

    def parse(self, message: str | bytes) -> Parsed:
        m = _loads(message)
        if isinstance(m, dict) and "id" in m and "result" in m:
            return Parsed(ack=True)
        if isinstance(m, dict) and "error" in m:
            return Parsed(error=str(m["error"]))
        data = m.get("data", m) if isinstance(m, dict) else m
        items = data if isinstance(data, list) else [data]
        out = Parsed()
        for d in items:
            if not isinstance(d, dict):
                continue
            if d.get("e") == "trade":
                out.trades.append(
                    Trade(
                        exchange=self.exchange,
                        symbol=self.unified(d["s"]),
                        time=ms_to_utc(d["T"]),
                        price=Decimal(d["p"]),
                        amount=Decimal(d["q"]),
                        side=SELL if d["m"] else BUY,
                        trade_id=str(d["t"]),
                        sequence=int(d["t"]),
                        no_taker=d.get("X", "MARKET") != "MARKET",
                    )
                )
            elif d.get("e") == "24hrTicker":
                out.tickers.append(
                    TickerSnapshot(
                        exchange=self.exchange,
                        symbol=self.unified(d["s"]),
                        last_price=Decimal(d["c"]),
                        change=to_decimal(d.get("p")),
                        change_rate=(Decimal(d["P"]) / 100) if d.get("P") is not None else None,
                        volume_24h=to_decimal(d.get("v")),
                        traded_value_24h=to_decimal(d.get("q")),
                        time=ms_to_utc(d["E"]),
                    )
                )
        return out


class BybitProtocol(Protocol):
    """Bybit v5 linear (USDT perpetuals); ticker deltas merged into the last snapshot."""

    exchange = "bybit"
    url = "wss://stream.bybit.com/v5/public/linear"
    ping_message = json.dumps({"op": "ping"})

    def __init__(self) -> None:
        self._tickers: dict[str, dict[str, Any]] = {}

    @staticmethod
    def code(symbol: str) -> str:
        return symbol.split(":")[0].replace("/", "")

    @staticmethod
    def unified(code: str, *, inverse: bool = False) -> str:
        for quote in ("USDT", "USDC", "USD"):
            if code.endswith(quote) and len(code) > len(quote):
                base = code[: -len(quote)]
                settle = base if quote == "USD" or inverse else quote
                return f"{base}/{quote}:{settle}"
        return code

    def subscriptions(self, symbols: list[str]) -> list[str]:
        args = [topic for s in symbols for topic in (f"tickers.{self.code(s)}", f"publicTrade.{self.code(s)}")]
        return [json.dumps({"op": "subscribe", "args": args[i : i + 10]}) for i in range(0, len(args), 10)]

    def parse(self, message: str | bytes) -> Parsed:
        m = _loads(message)
        if not isinstance(m, dict):
            return Parsed()
        if "op" in m or "success" in m:
            if m.get("success") is False:
                return Parsed(error=str(m.get("ret_msg", "")))
            return Parsed(ack=True)
        topic = str(m.get("topic", ""))
        data = m.get("data")
        if topic.startswith("publicTrade."):
            return Parsed(
                trades=[
                    Trade(
                        exchange=self.exchange,
                        symbol=self.unified(d["s"]),
                        time=ms_to_utc(d["T"]),
                        price=Decimal(d["p"]),
                        amount=Decimal(d["v"]),
                        side=BUY if d["S"] == "Buy" else SELL,
                        trade_id=str(d["i"]),
                    )
                    for d in data or []
                ]
            )
        if topic.startswith("trade."):  # the v2 inverse stream (2021 recording): sizes in USD contracts
            return Parsed(
                trades=[
                    Trade(
                        exchange=self.exchange,
                        symbol=self.unified(d["symbol"], inverse=True),
                        time=ms_to_utc(d["trade_time_ms"]),
                        price=Decimal(str(d["price"])),
                        amount=Decimal(str(d["size"])),
                        side=BUY if d["side"] == "Buy" else SELL,
                        trade_id=str(d["trade_id"]),
                    )
                    for d in data or []
                ]
            )
        if topic.startswith("tickers.") and isinstance(data, dict):
            code = data.get("symbol") or topic.split(".", 1)[1]
            state = {} if m.get("type") == "snapshot" else self._tickers.get(code, {})
            state = {**state, **{k: v for k, v in data.items() if v not in (None, "")}}
            self._tickers[code] = state
            if "lastPrice" not in state:
                return Parsed()
            last = Decimal(state["lastPrice"])
            prev = to_decimal(state.get("prevPrice24h"))
            pct = to_decimal(state.get("price24hPcnt"))  # a fraction already ("0.0123")
            return Parsed(
                tickers=[
                    TickerSnapshot(
                        exchange=self.exchange,
                        symbol=self.unified(code),
                        last_price=last,
                        change=last - prev if prev is not None else None,
                        change_rate=pct,
                        volume_24h=to_decimal(state.get("volume24h")),
                        traded_value_24h=to_decimal(state.get("turnover24h")),
                        time=ms_to_utc(m.get("ts") or data["ts"]),
                    )
                ]
            )
        return Parsed()


class BitmexProtocol(Protocol):
    exchange = "bitmex"
    url = "wss://ws.bitmex.com/realtime"

    @staticmethod
    def code(symbol: str) -> str:
        base, rest = symbol.split("/")
        base = "XBT" if base == "BTC" else base
        return base + rest.split(":")[0]

    @staticmethod
    def unified(code: str) -> str:
        if code.endswith("USD"):
            base = code[:-3]
            base = "BTC" if base == "XBT" else base
            return f"{base}/USD:{base}"
        return code

    def subscriptions(self, symbols: list[str]) -> list[str]:
        return [json.dumps({"op": "subscribe", "args": [f"trade:{self.code(s)}" for s in symbols]})]

    def parse(self, message: str | bytes) -> Parsed:
        m = _loads(message)
        if not isinstance(m, dict):
            return Parsed()
        if "success" in m or "info" in m:
            return Parsed(ack=True)
        if "error" in m:
            return Parsed(error=str(m["error"]))
        if m.get("table") != "trade" or m.get("action") not in ("partial", "insert"):
            return Parsed()
        return Parsed(
            trades=[
                Trade(
                    exchange=self.exchange,
                    symbol=self.unified(d["symbol"]),
                    time=datetime.fromisoformat(d["timestamp"].replace("Z", "+00:00")),
                    price=Decimal(str(d["price"])),
                    amount=Decimal(str(d["size"])),
                    side=BUY if d["side"] == "Buy" else SELL,
                    trade_id=str(d["trdMatchID"]),
                )
                for d in m.get("data") or []
            ]
        )


PROTOCOLS: dict[str, type[Protocol]] = {
    "upbit": UpbitProtocol,
    "bithumb": BithumbProtocol,
    "binanceusdm": BinanceUsdmProtocol,
    "bybit": BybitProtocol,
    "bitmex": BitmexProtocol,
}
"""Exchange id -> its stream protocol (the four board venues, plus BitMEX trades)."""
