"""Live exchange data through ccxt (Bithumb, Upbit, Binance USDⓈ-M, Bybit, ...).

``CcxtSource`` wraps one ccxt exchange class and converts its unified structures into the
records of ``markets.sources.base``. REST calls go through ccxt's own rate limiter
(``enableRateLimit``); on top of that this module only adds what ccxt does not do:

* retries with exponential backoff (``markets.sources.retry``), but ONLY for ``ccxt.NetworkError`` (timeouts, connection
  failures, 5xx/maintenance, rate-limit replies): those are transient. Any other ``ccxt.BaseError``
  (bad symbol, rejected parameters, exchange error codes) would fail the same way again, so it is
  raised at once as ``SourceError`` naming the exchange;
* pagination of ``fetch_ohlcv`` with de-duplication on the candle open time;
* a polling ticker stream on ``ccxt.async_support`` that survives network outages.

Errors: ``SourceError`` for non-network exchange errors; the original ``ccxt.NetworkError`` once
``max_retries`` retries are used up (REST), never for the stream (it keeps reconnecting).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import ccxt
import ccxt.async_support as ccxt_async
from ccxt.base.decimal_to_precision import DECIMAL_PLACES, SIGNIFICANT_DIGITS, TICK_SIZE

from .base import (
    Bar,
    InstrumentInfo,
    MarketSource,
    SourceError,
    TickerSnapshot,
    check_interval,
    ms_to_utc,
    to_decimal,
    utc_to_ms,
)
from .retry import CircuitBreaker, HostDown, retry_call

log = logging.getLogger(__name__)

PRICE_BAND_TICK_EXCHANGES = frozenset({"upbit"})
"""Exchanges whose price tick depends on the price level (KRW 호가 단위) while ccxt states one
flat placeholder precision (Upbit: 1e-8); their ``tick_size`` is left ``None`` rather than wrong."""

STREAM_MAX_BACKOFF = 60.0
"""Upper bound (s) of the reconnect delay in ``stream_tickers``: an outage of hours must not turn
into hour-long sleeps once the exchange is back."""


class HostUnavailable(HostDown, ccxt.NetworkError):
    """The exchange's breaker is open: the call was skipped (a ``ccxt.NetworkError`` too, so
    network-error handlers treat it as the outage it is)."""


class CcxtSource(MarketSource):
    """A ``MarketSource`` backed by ``ccxt.<exchange_id>``.

    ``max_retries``: how many times a REST call is retried after a network error (so at most
    ``1 + max_retries`` attempts); the n-th retry waits ``backoff_base * 2**(n-1)`` seconds via
    ``sleep`` (injectable so tests do not wait). ``poll_interval``: seconds between two
    ``fetch_tickers`` polls of ``stream_tickers``. ``config`` (optional) is merged into the ccxt
    constructor arguments, e.g. ``{"options": {"generation": 1}}`` selects Bithumb's legacy public
    API (``/public/ticker/ALL_KRW``) instead of ccxt's default v1 ``/v1/...`` endpoints.
    ``breakers`` (optional, ``host -> CircuitBreaker``, e.g. ``retry.Breakers()``): the breaker
    of this exchange's host (keyed by the exchange id) is consulted before each REST call.
    """

    def __init__(
        self,
        exchange_id: str,
        *,
        max_retries: int = 5,
        backoff_base: float = 1.0,
        poll_interval: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
        config: Mapping[str, Any] | None = None,
        breakers: Callable[[str], CircuitBreaker] | None = None,
    ) -> None:
        if exchange_id not in ccxt.exchanges:
            raise ValueError(f"unknown ccxt exchange {exchange_id!r}")
        self.name = exchange_id
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.poll_interval = poll_interval
        self._sleep = sleep
        self.breakers = breakers
        self._config: dict[str, Any] = {"enableRateLimit": True, **(config or {})}
        self.exchange: ccxt.Exchange = getattr(ccxt, exchange_id)(dict(self._config))

    # -- REST ---------------------------------------------------------------------------------

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Run ``self.exchange.<method>(...)`` through ``retry.retry_call`` (network errors
        retried, the host's breaker consulted) and wrap other exchange errors in ``SourceError``.
        An open breaker raises ``HostUnavailable`` (a ``ccxt.NetworkError``) without a request."""
        breaker = self.breakers(self.name) if self.breakers is not None else None
        try:
            return retry_call(
                lambda: getattr(self.exchange, method)(*args, **kwargs),
                transient=(ccxt.NetworkError,),
                retries=self.max_retries,
                backoff_base=self.backoff_base,
                sleep=self._sleep,
                breaker=breaker,
                what=f"{self.name}.{method}",
            )
        except HostDown as exc:
            raise HostUnavailable(exc.host, exc.retry_at, exc.last_error) from None
        except ccxt.NetworkError:  # must precede BaseError: NetworkError subclasses it
            raise
        except ccxt.BaseError as exc:
            raise SourceError(f"{method} failed: {exc}", exchange=self.name) from exc

    def instruments(self) -> list[InstrumentInfo]:
        """Markets from ``load_markets``; tick/lot sizes from ccxt ``precision``.

        ccxt states precision in one of three modes (``exchange.precisionMode``): TICK_SIZE
        (values are the steps), DECIMAL_PLACES (values are digit counts -> step 10**-n) or
        SIGNIFICANT_DIGITS (Bithumb). A significant-digits precision has no fixed step (it depends
        on the price level), so tick/lot size stay ``None`` there rather than a made-up step; the
        same holds for the price tick of ``PRICE_BAND_TICK_EXCHANGES``.
        """
        markets = self._call("load_markets")
        return [self._instrument(m) for m in markets.values()]

    def _step(self, value: Any) -> Decimal | None:
        if value is None:
            return None
        mode = self.exchange.precisionMode
        if mode == TICK_SIZE:
            return to_decimal(value)
        if mode == DECIMAL_PLACES:
            return Decimal(1).scaleb(-int(value))
        if mode == SIGNIFICANT_DIGITS:
            return None
        return None

    def _instrument(self, m: Mapping[str, Any]) -> InstrumentInfo:
        raw_info = m.get("info")
        info: Mapping[str, Any] = raw_info if isinstance(raw_info, Mapping) else {}
        precision = m.get("precision") or {}
        cost_limits = (m.get("limits") or {}).get("cost") or {}
        return InstrumentInfo(
            exchange=self.name,
            symbol=m["symbol"],
            base=m["base"],
            quote=m["quote"],
            market="crypto",
            # Upbit and Bithumb's /v1/market/all carry Korean and English names.
            name_ko=str(info.get("korean_name") or ""),
            name_en=str(info.get("english_name") or ""),
            tick_size=None if self.name in PRICE_BAND_TICK_EXCHANGES else self._step(precision.get("price")),
            lot_size=self._step(precision.get("amount")),
            min_notional=to_decimal(cost_limits.get("min")),
            active=m.get("active") is not False,  # ccxt uses None for "unknown": treat as active
        )

    def ohlcv(
        self,
        symbol: str,
        interval: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> Iterator[Bar]:
        """Candles from ``fetch_ohlcv``, paginated forward from ``since``.

        Each page starts 1 ms after the newest bar seen so far; paging stops at ``until``, at
        ``limit`` bars, or when a page brings no new open time (exchanges that ignore ``since``,
        like Bithumb, return their latest candles once and then nothing new). Bars are de-duplicated
        on ``open_time`` because pages overlap and some APIs repeat rows. ccxt's OHLCV has no quote
        volume, so ``quote_volume`` is ``None``.
        """
        check_interval(interval)
        since_ms = utc_to_ms(since) if since else None
        until_ms = utc_to_ms(until) if until else None
        cursor, newest, produced = since_ms, None, 0
        while True:
            page_limit = None if limit is None else limit - produced
            rows = self._call("fetch_ohlcv", symbol, interval, cursor, page_limit)
            fresh = sorted(
                (
                    r
                    for r in rows or []
                    if r
                    and r[0] is not None
                    and None not in r[1:5]
                    and (newest is None or r[0] > newest)
                    and (since_ms is None or r[0] >= since_ms)
                ),
                key=lambda r: r[0],
            )
            if not fresh:
                return
            for row in fresh:
                if row[0] == newest:  # duplicate inside one page
                    continue
                if until_ms is not None and row[0] > until_ms:
                    return
                newest = row[0]
                yield Bar(
                    open_time=ms_to_utc(row[0]),
                    open=Decimal(str(row[1])),
                    high=Decimal(str(row[2])),
                    low=Decimal(str(row[3])),
                    close=Decimal(str(row[4])),
                    volume=Decimal(str(row[5])) if len(row) > 5 and row[5] is not None else Decimal(0),
                )
                produced += 1
                if limit is not None and produced >= limit:
                    return
            cursor = fresh[-1][0] + 1  # the newest open time of this page

    def tickers(self, symbols: list[str] | None = None) -> list[TickerSnapshot]:
        """Snapshots from ``fetch_tickers`` (see ``snapshot_from_ccxt`` for the field mapping)."""
        raw = self._call("fetch_tickers", symbols)
        return self._snapshots(raw)

    def _snapshots(self, raw: Mapping[str, Mapping[str, Any]]) -> list[TickerSnapshot]:
        out = []
        for t in raw.values():
            snap = snapshot_from_ccxt(self.name, t)
            if snap is not None:
                out.append(snap)
        return out

    # -- streaming ----------------------------------------------------------------------------

    def _new_async_exchange(self) -> Any:
        return getattr(ccxt_async, self.name)(dict(self._config))

    async def stream_tickers(self, symbols: list[str] | None = None) -> AsyncIterator[list[TickerSnapshot]]:
        """Poll ``fetch_tickers`` every ``poll_interval`` s and yield each batch, forever.

        On a network error the async exchange (and its HTTP session) is closed and rebuilt after
        ``backoff_base * 2**(n-1)`` s, capped at ``STREAM_MAX_BACKOFF``; the delay resets after a
        good poll. Non-network errors end the stream with ``SourceError``. The exchange is always
        closed in ``finally`` (also when the consumer stops iterating or the task is cancelled).
        """
        exchange = None
        failures = 0
        try:
            while True:
                if exchange is None:
                    exchange = self._new_async_exchange()
                try:
                    raw = await exchange.fetch_tickers(symbols)
                except ccxt.NetworkError as exc:
                    failures += 1
                    delay = min(self.backoff_base * 2 ** (failures - 1), STREAM_MAX_BACKOFF)
                    log.warning("%s ticker poll failed (%s); reconnecting in %.1fs", self.name, exc, delay)
                    await exchange.close()
                    exchange = None
                    await asyncio.sleep(delay)
                    continue
                except ccxt.BaseError as exc:
                    raise SourceError(f"fetch_tickers failed: {exc}", exchange=self.name) from exc
                failures = 0
                yield self._snapshots(raw)
                await asyncio.sleep(self.poll_interval)
        finally:
            if exchange is not None:
                await exchange.close()


def snapshot_from_ccxt(exchange: str, t: Mapping[str, Any]) -> TickerSnapshot | None:
    """Map one ccxt unified ticker to a ``TickerSnapshot`` (``None`` if it has no last price).

    change / change_rate, first match wins (the exchange's own figure beats a derived one):

    1. Bithumb legacy API: ``fluctate_24H`` and ``fluctate_rate_24H`` (percent) from ``info`` -
       its 24 h change, consistent with the 24 h volumes (ccxt derives from ``opening_price``,
       which is the 00:00 KST day open);
    2. Upbit-style APIs (Upbit, Bithumb v1): ``signed_change_price`` / ``signed_change_rate``
       (fraction, vs. previous close - what Korean exchanges display as 전일대비);
    3. ccxt ``change`` and ``percentage / 100``;
    4. computed from ccxt ``open``: last - open, change / open.

    Volumes: ``baseVolume`` -> ``volume_24h``, ``quoteVolume`` -> ``traded_value_24h``.
    Time: ``timestamp`` (ms); when the exchange sends none, the time of parsing (UTC).
    """
    last = to_decimal(t.get("last"))
    if last is None:
        return None
    raw_info = t.get("info")
    info: Mapping[str, Any] = raw_info if isinstance(raw_info, Mapping) else {}
    change: Decimal | None = None
    rate: Decimal | None = None
    if info.get("fluctate_24H") is not None:
        change = to_decimal(info["fluctate_24H"])
        if info.get("fluctate_rate_24H") is not None:
            fluctate_rate = to_decimal(info["fluctate_rate_24H"])
            rate = fluctate_rate / 100 if fluctate_rate is not None else None
    elif info.get("signed_change_price") is not None:
        change = to_decimal(info["signed_change_price"])
        rate = to_decimal(info.get("signed_change_rate"))
    else:
        change = to_decimal(t.get("change"))
        pct = to_decimal(t.get("percentage"))
        rate = pct / 100 if pct is not None else None
        open_ = to_decimal(t.get("open"))
        if open_:  # None or zero: nothing to derive from
            if change is None:
                change = last - open_
            if rate is None:
                rate = change / open_
    ts = t.get("timestamp")
    return TickerSnapshot(
        exchange=exchange,
        symbol=t["symbol"],
        last_price=last,
        change=change,
        change_rate=rate,
        volume_24h=to_decimal(t.get("baseVolume")),
        traded_value_24h=to_decimal(t.get("quoteVolume")),
        time=ms_to_utc(ts) if ts is not None else datetime.now(UTC),
    )
