"""Live trade extraction: walk forward from a stored cursor through the exchanges' trade endpoints.

One feed per exchange turns "everything since the cursor" into parsed trades
(``etl.transform.RAW_COLUMNS``) plus what the fetch can vouch for: ``Fetched.start_us`` is the
instant after which it saw every trade (the cursor's own instant when continuity is proven, so
the stored coverage grows without a gap), ``end_us`` the instant up to which it did.

* Binance USD-M (ccxt ``binanceusdm``): with an API key, ``/fapi/v1/historicalTrades`` paged by
  ``fromId`` = last id + 1 (ids are consecutive, so nothing can be skipped); without one,
  ``/fapi/v1/trades`` (the latest 1000), continuous when it reaches back to the cursor id.
* Bybit (ccxt ``bybit``): ``/v5/market/recent-trade`` (latest 1000, no paging); continuous
  when the reply contains the cursor trade or reaches back before it.
* BitMEX (``requests``; ccxt is not needed for one public GET): ``/api/v1/trade`` with
  ``startTime`` = the cursor's time and ``count=1000``, paged by ``start``; the cursor's own
  instant is fetched again and de-duplicated by ``trdMatchID``.
* Bithumb (ccxt ``bithumb``, legacy generation): ``/public/transaction_history/BTC_KRW``. It
  sends no trade id and stamps whole seconds, so only seconds seen whole count: the oldest
  second of a reply may be cut by ``count`` and the newest may still be filling up
  ("closed-second rule"); ids are built from the content (``etl.formats.content_ids``).

Errors: network trouble (timeouts, connection failures, 5xx, 429) is retried with exponential
backoff (``markets.sources.retry``, the one retry helper); once retries run out it surfaces as
``ExtractNetworkError``, and while the exchange's breaker is open as ``HostSkipped``. Anything else (bad
symbol, an exchange error reply, an unparsable body) raises ``SourceError`` at once. Either way
the caller writes nothing. Rate limits: ccxt's own limiter (``enableRateLimit``) for the ccxt
feeds; for BitMEX a minimum interval between requests, ``x-ratelimit-remaining``/``-reset`` and
``Retry-After`` are obeyed.

No Django imports.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import requests

from etl import formats
from etl.pairs import INVERSE, Pair
from etl.transform import empty_raw
from markets.sources.base import SourceError
from markets.sources.retry import CircuitBreaker, HostDown, retry_call

log = logging.getLogger(__name__)


class ExtractNetworkError(Exception):
    """Network trouble that outlasted the retries; running again later may succeed."""


class HostSkipped(ExtractNetworkError):
    """The exchange's breaker is open: nothing was requested (``markets.sources.retry``)."""


@dataclass(frozen=True)
class Cursor:
    """Where the last live run stopped: the newest trade's id (text) and time (epoch µs)."""

    trade_id: str | None = None
    time_us: int | None = None


@dataclass
class Fetched:
    """One live fetch. ``trades``: DataFrame[RAW_COLUMNS]. ``start_us``: every trade strictly
    after this instant was seen (None: only those after the first trade's instant).
    ``end_us``: ... up to this instant (None: the last trade's). ``source``: what was called."""

    trades: pd.DataFrame
    start_us: int | None
    end_us: int | None
    requests: int
    source: str
    skipped: dict[str, int] = field(default_factory=dict)


def _ms(us: int) -> int:
    return us // 1000


class TradeFeed(ABC):
    """Fetches the trades of one exchange since a cursor, with retries on network errors.

    ``max_retries``: retries after a network error (at most ``1 + max_retries`` attempts); the
    n-th waits ``backoff_base * 2**(n-1)`` s (at most ``max_delay``) through ``sleep`` (injectable
    for tests). ``breakers`` (optional, ``host -> CircuitBreaker``): the breaker of the feed's
    exchange, keyed by its name, is consulted before each request (``markets.sources.retry``).
    ``max_pages`` caps the requests of one fetch; the next run continues from the new cursor.
    """

    exchange: str

    def __init__(
        self,
        *,
        max_retries: int = 5,
        backoff_base: float = 1.0,
        max_pages: int = 20,
        max_delay: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        breakers: Callable[[str], CircuitBreaker] | None = None,
    ) -> None:
        self.max_retries = max_retries
        self.max_delay = max_delay
        self.breakers = breakers
        self.backoff_base = backoff_base
        self.max_pages = max_pages
        self._sleep = sleep
        self.requests = 0

    @abstractmethod
    def fetch(self, pair: Pair, cursor: Cursor, *, since_us: int | None = None) -> Fetched:
        """Trades of ``pair`` from ``since_us`` (else from the cursor, else the latest)."""

    def _retrying(self, call: Callable[[], Any], what: str) -> Any:
        """``call()`` through ``markets.sources.retry.retry_call``: network errors retried with
        capped backoff (a ``Retry-After`` obeyed), the host's breaker consulted; ``HostSkipped``
        when it is open, ``ExtractNetworkError`` once the retries are used up."""
        ccxt = _ccxt()

        def count() -> None:
            self.requests += 1

        breaker = self.breakers(self.exchange) if self.breakers is not None else None
        try:
            return retry_call(
                call,
                transient=(ccxt.NetworkError, _Transient),
                retries=self.max_retries,
                backoff_base=self.backoff_base,
                max_delay=self.max_delay,
                sleep=self._sleep,
                breaker=breaker,
                what=f"{self.exchange} {what}",
                delay_for=lambda exc: getattr(exc, "retry_after", None),
                on_attempt=count,
            )
        except HostDown as exc:
            raise HostSkipped(f"{self.exchange}: {exc}") from None
        except (ccxt.NetworkError, _Transient) as exc:  # NetworkError before BaseError: it subclasses it
            raise ExtractNetworkError(f"{self.exchange}: {what}: {exc}") from exc
        except ccxt.BaseError as exc:
            raise SourceError(f"{what} failed: {exc}", exchange=self.exchange) from exc


def _ccxt():
    """ccxt, imported on first use: it takes about 0.4 s, and importing the project
    (``django.setup()``) must not pay for it."""
    import ccxt

    return ccxt


class _Transient(Exception):
    """A retryable HTTP failure of a non-ccxt feed; ``retry_after`` in seconds when told."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


def _continuous_after(trades: pd.DataFrame, cursor: Cursor, *, sequential: bool) -> bool:
    """True when ``trades`` (the latest N of the exchange) provably leave no gap after the
    cursor: they contain the cursor's trade, reach back before its time, or (consecutive ids)
    start at or before the id after it."""
    if trades.empty or cursor.time_us is None:
        return False
    ids = trades["trade_id"]
    if cursor.trade_id is not None:
        if sequential and ids.dtype.kind in "iu":
            return int(ids.min()) <= int(cursor.trade_id) + 1
        if (ids.astype(str) == cursor.trade_id).any():
            return True
    return int(trades["ts_us"].min()) < cursor.time_us


# -- ccxt feeds -----------------------------------------------------------------------------


class CcxtFeed(TradeFeed):
    """A feed on a ccxt exchange's raw endpoints (no ``load_markets`` round trips; our parsers
    read the exchange's own fields). ccxt's limiter spaces the requests by each endpoint's
    weight (``rate_limit``; only replayed tests turn it off)."""

    ccxt_id: str

    def __init__(self, *, config: dict[str, Any] | None = None, rate_limit: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        self.exchange = self.ccxt_id
        self.client = getattr(_ccxt(), self.ccxt_id)({"enableRateLimit": rate_limit, **(config or {})})

    def _get(self, method: str, params: dict[str, Any]) -> Any:
        return self._retrying(lambda: getattr(self.client, method)(params), method)


class BinanceUsdmFeed(CcxtFeed):
    """Binance USD-M trades; ``api_key`` enables ``historicalTrades`` (paged by ``fromId``)."""

    ccxt_id = "binanceusdm"
    PAGE = 500  # historicalTrades maximum
    RECENT = 1000  # trades maximum

    def __init__(self, *, api_key: str = "", **kwargs) -> None:
        super().__init__(config={"apiKey": api_key} if api_key else None, **kwargs)
        self.exchange = "binanceusdm"
        self.api_key = api_key

    def fetch(self, pair: Pair, cursor: Cursor, *, since_us: int | None = None) -> Fetched:
        if not self.api_key:
            if since_us is not None:
                raise SourceError(
                    "--since needs BINANCE_API_KEY (historicalTrades); the recent-trades "
                    "endpoint only returns the latest 1000 trades",
                    exchange=self.exchange,
                )
            rows = self._get("fapiPublicGetTrades", {"symbol": pair.symbol, "limit": self.RECENT})
            trades = formats.binance_rest_frame(rows)
            start = cursor.time_us if _continuous_after(trades, cursor, sequential=True) else None
            return Fetched(trades, start, None, self.requests, "GET /fapi/v1/trades")

        if since_us is not None:
            # the first trade at or after `since`: aggTrades accept a time, and each names its first trade id
            agg = self._get("fapiPublicGetAggTrades", {"symbol": pair.symbol, "startTime": _ms(since_us), "limit": 1})
            if not agg:
                return Fetched(empty_raw(), None, None, self.requests, "GET /fapi/v1/aggTrades")
            from_id, start = int(agg[0]["f"]), since_us - 1
        elif cursor.trade_id is not None:
            from_id, start = int(cursor.trade_id) + 1, cursor.time_us
        else:
            from_id, start = None, None
        pages = []
        for _ in range(self.max_pages):
            params = {"symbol": pair.symbol, "limit": self.PAGE}
            if from_id is not None:
                params["fromId"] = from_id
            rows = self._get("fapiPublicGetHistoricalTrades", params)
            pages.extend(rows)
            if len(rows) < self.PAGE:
                break
            from_id = int(rows[-1]["id"]) + 1
        trades = formats.binance_rest_frame(pages)
        if start is not None and not trades.empty and cursor.trade_id is not None and since_us is None:
            # fromId = cursor + 1 must come back first, else trades were pruned in between
            if int(trades["trade_id"].min()) != int(cursor.trade_id) + 1:
                start = None
        return Fetched(trades, start, None, self.requests, "GET /fapi/v1/historicalTrades")


class BybitFeed(CcxtFeed):
    """Bybit linear/inverse trades from ``/v5/market/recent-trade`` (latest ``limit``).

    ``endpoint="legacy"`` reads ``/public/linear/recent-trading-records`` instead: the
    endpoint of the only recorded Bybit reply (used to replay it; Bybit has retired it).
    """

    ccxt_id = "bybit"
    LIMIT = 1000

    def __init__(self, *, endpoint: str = "v5", **kwargs) -> None:
        super().__init__(**kwargs)
        if endpoint not in ("v5", "legacy"):
            raise ValueError("endpoint must be 'v5' or 'legacy'")
        self.endpoint = endpoint

    def fetch(self, pair: Pair, cursor: Cursor, *, since_us: int | None = None) -> Fetched:
        if self.endpoint == "v5":
            category = "inverse" if pair.kind == INVERSE else "linear"
            reply = self._get(
                "publicGetV5MarketRecentTrade", {"category": category, "symbol": pair.symbol, "limit": self.LIMIT}
            )
            source = "GET /v5/market/recent-trade"
        else:
            path = "public/linear/recent-trading-records"
            reply = self._retrying(
                lambda: self.client.request(path, ["public"], "GET", {"symbol": pair.symbol, "limit": self.LIMIT}), path
            )
            source = f"GET /{path}"
        try:
            trades = formats.bybit_rest_frame(formats.bybit_rest_rows(reply))
        except (formats.FormatError, KeyError) as exc:
            raise SourceError(f"unexpected reply: {exc}", exchange=self.exchange) from exc
        return _recent_window(trades, cursor, since_us, source, self.requests)


def _recent_window(
    trades: pd.DataFrame,
    cursor: Cursor,
    since_us: int | None,
    source: str,
    requests_made: int,
    *,
    sequential: bool = False,
) -> Fetched:
    """A latest-N reply: from ``since`` when it reaches back before it, else continuous with
    the cursor when it can be proven, else vouched for from just after its first instant."""
    if since_us is not None:
        reaches = not trades.empty and int(trades["ts_us"].min()) < since_us
        trades = trades[trades["ts_us"].to_numpy() >= since_us].reset_index(drop=True)
        return Fetched(trades, since_us - 1 if reaches else None, None, requests_made, source)
    start = cursor.time_us if _continuous_after(trades, cursor, sequential=sequential) else None
    return Fetched(trades, start, None, requests_made, source)


class BithumbFeed(CcxtFeed):
    """Bithumb ``/public/transaction_history/{coin}_{market}`` (ccxt generation 1), closed
    seconds only (see the module docstring).

    A reply holds at most 100 trades and cannot be paged: when more trades happen between two
    polls, the second does not reach back to the cursor and the gap stays out of the coverage
    (its minutes are stored incomplete). This endpoint is used because it is the one with
    recorded replies to test against; ``/v1/trades/ticks`` (ids, milliseconds, a cursor to page
    back with) would close such gaps and has none recorded yet.
    """

    ccxt_id = "bithumb"
    COUNT = 100  # the endpoint's maximum

    def fetch(self, pair: Pair, cursor: Cursor, *, since_us: int | None = None) -> Fetched:
        coin, market = pair.symbol.split("_")
        reply = self._get(
            "publicGetPublicTransactionHistoryBaseIdQuoteId", {"baseId": coin, "quoteId": market, "count": self.COUNT}
        )
        rows = reply.get("data") if isinstance(reply, dict) else None
        if not isinstance(rows, list):
            raise SourceError("unexpected transaction_history reply", exchange=self.exchange)
        if not rows:
            return Fetched(empty_raw(), None, None, self.requests, "GET /public/transaction_history")
        trades = formats.bithumb_rest_frame(rows)
        seconds = trades["ts_us"].to_numpy() // 1_000_000
        oldest, newest = int(seconds.min()), int(seconds.max())
        whole = (seconds > oldest) & (seconds < newest)
        trades = trades[whole].reset_index(drop=True)
        trades["trade_id"] = formats.content_ids(trades)  # numbered within whole seconds only
        # every trade strictly after `after` and up to `end` was seen
        after, end = (oldest + 1) * 1_000_000 - 1, newest * 1_000_000 - 1
        if since_us is not None:
            trades = trades[trades["ts_us"].to_numpy() >= since_us].reset_index(drop=True)
            after = max(after, since_us - 1)
        elif cursor.time_us is not None and after <= cursor.time_us:
            after = cursor.time_us  # continues the last run: its end is this run's start
        if trades.empty or after >= end:  # fewer than three distinct seconds: nothing whole
            return Fetched(empty_raw(), None, None, self.requests, "GET /public/transaction_history")
        return Fetched(trades, after, end, self.requests, "GET /public/transaction_history")


# -- BitMEX ---------------------------------------------------------------------------------


class BitmexFeed(TradeFeed):
    """BitMEX ``GET /api/v1/trade`` through ``requests``.

    ``min_interval``: seconds between two requests (BitMEX allows 30 unauthenticated requests
    a minute); ``page_size``: ``count`` per request (BitMEX's maximum is 1000).
    """

    exchange = "bitmex"
    BASE_URL = "https://www.bitmex.com"

    def __init__(
        self,
        *,
        session: requests.Session | None = None,
        page_size: int = 1000,
        min_interval: float = 2.0,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.session = session or requests.Session()
        self.page_size = page_size
        self.min_interval = min_interval
        self.timeout = timeout
        self._clock = clock
        self._last_request: float | None = None

    def _request(self, params: dict[str, Any]) -> list[dict]:
        if self._last_request is not None:
            wait = self.min_interval - (self._clock() - self._last_request)
            if wait > 0:
                self._sleep(wait)
        self._last_request = self._clock()
        try:
            response = self.session.get(f"{self.BASE_URL}/api/v1/trade", params=params, timeout=self.timeout)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise _Transient(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            retry_after = response.headers.get("Retry-After")
            raise _Transient(f"HTTP {response.status_code}", float(retry_after) if retry_after else None)
        if response.status_code != 200:
            raise SourceError(
                f"/api/v1/trade: HTTP {response.status_code}: {response.text[:200]}", exchange=self.exchange
            )
        remaining, reset = response.headers.get("x-ratelimit-remaining"), response.headers.get("x-ratelimit-reset")
        try:
            rows = response.json()
        except ValueError as exc:
            raise SourceError(f"/api/v1/trade: body is not JSON ({exc})", exchange=self.exchange) from exc
        if not isinstance(rows, list):
            raise SourceError(f"/api/v1/trade: unexpected reply {str(rows)[:200]}", exchange=self.exchange)
        if remaining == "0" and reset:
            # the budget is spent: wait for the window to reset before the next page
            self._sleep(max(0.0, float(reset) - time.time()))
        return rows

    def fetch(self, pair: Pair, cursor: Cursor, *, since_us: int | None = None) -> Fetched:
        start_from = since_us if since_us is not None else cursor.time_us
        base = {"symbol": pair.symbol, "count": self.page_size}
        if start_from is None:  # no cursor: the latest page only
            rows = self._retrying(lambda: self._request({**base, "reverse": "true"}), "/api/v1/trade")
            trades = formats.bitmex_frame(rows)
            return Fetched(trades, None, None, self.requests, "GET /api/v1/trade")
        start_time = (
            datetime.fromtimestamp(start_from / 1e6, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        )
        rows: list[dict] = []
        for _ in range(self.max_pages):
            params = {**base, "startTime": start_time, "start": len(rows), "reverse": "false"}
            page = self._retrying(lambda p=params: self._request(p), "/api/v1/trade")
            rows.extend(page)
            if len(page) < self.page_size:
                break
        trades = formats.bitmex_frame(rows)
        # everything from startTime on was asked for (its own instant again, de-duplicated by id)
        return Fetched(
            trades, start_from - 1 if since_us is not None else start_from, None, self.requests, "GET /api/v1/trade"
        )


FEEDS: dict[str, type[TradeFeed]] = {
    "binanceusdm": BinanceUsdmFeed,
    "bybit": BybitFeed,
    "bitmex": BitmexFeed,
    "bithumb": BithumbFeed,
}


def feed_for(exchange: str, **kwargs) -> TradeFeed:
    """The live feed of ``exchange`` (a stored exchange name); ``ValueError`` if none."""
    if exchange not in FEEDS:
        raise ValueError(f"no live feed for {exchange!r}; expected one of {', '.join(FEEDS)}")
    return FEEDS[exchange](**kwargs)


def vouched_start(trades: pd.DataFrame, start_us: int | None) -> int | None:
    """The span start to record for a fetch (first instant vouched for): just after its
    ``start_us``, else just after the first trade's instant (trades sharing that instant may
    have been cut off by the page limit)."""
    if start_us is not None:
        return start_us + 1
    if trades.empty:
        return None
    return int(np.min(trades["ts_us"].to_numpy())) + 1
