"""KIS Open API REST quotations: KRX stocks and KOSPI200 futures/options (pure, no Django).

``KisRestClient(auth)`` sends ``GET {base}{path}`` with the headers KIS requires
(``authorization: Bearer <token>``, ``appkey``, ``appsecret``, ``tr_id``, ``custtype: P``),
paced by a token bucket shared by every client of the same app key in the process (20
requests/s real, 2/s mock), and retried only on network errors (connection refused/reset,
timeout; capped exponential backoff) and on the rate-limit code ``EGW00201`` (after
``KisConfig.rate_limit_wait`` s), at most ``KisConfig.retries`` times. Every other KIS error
raises ``KisError`` at once (an ``EGW00123``/``EGW00121`` token error also drops the cached
token so the next call gets a new one).

Paths, tr_ids, parameters and response fields are those of the official samples
(github.com/koreainvestment/open-trading-api ``examples_llm/domestic_stock/*`` and
``examples_llm/domestic_futureoption/*``). Prices are ``Decimal`` in KRW (stocks) or index
points (futures/options); volumes are ``int`` shares/contracts; traded values ``Decimal`` KRW;
rates (``change_rate``, volatilities) are ``Decimal`` percent as KIS sends them (1.25 = 1.25 %);
times are aware ``datetime`` in Asia/Seoul. Every result keeps KIS's own fields in ``raw``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import requests

from .auth import SEOUL, KisAuth, KisError, KisNetworkError, error_from_body

RATE_LIMIT_CODE = "EGW00201"  # 초당 거래건수를 초과하였습니다 (requests per second exceeded)
TOKEN_ERROR_CODES = ("EGW00121", "EGW00123")  # invalid token, expired token

STOCK_PRICE = ("/uapi/domestic-stock/v1/quotations/inquire-price", "FHKST01010100")
STOCK_DAILY_CHART = ("/uapi/domestic-stock/v1/quotations/inquire-daily-itemchartprice", "FHKST03010100")
FO_PRICE = ("/uapi/domestic-futureoption/v1/quotations/inquire-price", "FHMIF10000000")
FO_ASKING_PRICE = ("/uapi/domestic-futureoption/v1/quotations/inquire-asking-price", "FHMIF10010000")
FO_OPTION_BOARD = ("/uapi/domestic-futureoption/v1/quotations/display-board-callput", "FHPIF05030100")
FO_MINUTE_CHART = ("/uapi/domestic-futureoption/v1/quotations/inquire-time-fuopchartprice", "FHKIF03020200")
FO_DAILY_CHART = ("/uapi/domestic-futureoption/v1/quotations/inquire-daily-fuopchartprice", "FHKIF03020100")


# -- pacing ------------------------------------------------------------------------------------


class TokenBucket:
    """``rate`` tokens a second, at most ``capacity`` banked; ``acquire()`` sleeps until one is
    free and takes it. ``capacity`` defaults to 1 (strict pacing, 1/rate s apart): KIS counts
    per calendar second, so a banked burst on top of the steady rate could exceed it.
    Thread-safe; ``clock`` (monotonic seconds) and ``sleep`` are injectable. ``waited`` sums the
    seconds slept."""

    def __init__(
        self,
        rate: float,
        capacity: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if rate <= 0 or capacity < 1:
            raise ValueError("rate must be > 0 and capacity >= 1")
        self.rate = rate
        self.capacity = capacity
        self._clock = clock
        self._sleep = sleep
        self._tokens = capacity
        self._stamp = clock()
        self._lock = threading.Lock()
        self.waited = 0.0

    def acquire(self) -> float:
        """Take one token; returns the seconds waited for it."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            wait = 0.0
            if self._tokens < 1:
                wait = (1 - self._tokens) / self.rate
                self._sleep(wait)
                self.waited += wait
                now = self._clock()
                self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
                self._stamp = now
            self._tokens -= 1
            return wait


_buckets: dict[str, TokenBucket] = {}
_buckets_lock = threading.Lock()


def bucket_for(auth: KisAuth) -> TokenBucket:
    """The process-wide bucket of ``auth``'s app key (created at its env's rate on first use)."""
    with _buckets_lock:
        bucket = _buckets.get(auth.config.key_id)
        if bucket is None:
            bucket = _buckets[auth.config.key_id] = TokenBucket(auth.config.requests_per_second)
        return bucket


# -- results -----------------------------------------------------------------------------------


def _dec(value: Any) -> Decimal | None:
    """KIS number text (``"430.55"``, ``"-1.20"``, ``"+5"``, ``""``) -> Decimal or None."""
    if value is None:
        return None
    text = str(value).strip().replace(",", "")
    if not text:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def _int(value: Any) -> int | None:
    number = _dec(value)
    return None if number is None else int(number)


def _date(value: Any) -> date | None:
    text = str(value or "").strip()
    if len(text) != 8 or not text.isdigit():
        return None
    return date(int(text[:4]), int(text[4:6]), int(text[6:]))


def _datetime(day: date, hhmmss: Any) -> datetime | None:
    text = str(hhmmss or "").strip().zfill(6)
    if len(text) != 6 or not text.isdigit():
        return None
    hour, minute, second = int(text[:2]), int(text[2:4]), int(text[4:])
    if hour > 23 or minute > 59 or second > 59:
        return None
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=SEOUL)


@dataclass(frozen=True)
class StockPrice:
    """A KRX stock's current price (FHKST01010100 ``output``). Prices KRW; ``change`` vs the
    previous close (signed), ``change_rate`` percent; ``volume`` shares today, ``traded_value``
    KRW today; ``upper_limit``/``lower_limit`` the day's price limits; ``tick_size`` KIS's
    ``aspr_unit``; ``received`` when the answer arrived (KIS gives no exchange time here)."""

    code: str
    price: Decimal
    change: Decimal | None
    change_rate: Decimal | None
    open: Decimal | None
    high: Decimal | None
    low: Decimal | None
    volume: int | None
    traded_value: Decimal | None
    upper_limit: Decimal | None
    lower_limit: Decimal | None
    tick_size: Decimal | None
    received: datetime
    raw: dict[str, Any] = field(repr=False, default_factory=dict)


@dataclass(frozen=True)
class DailyBar:
    """One daily (or weekly/monthly) OHLCV bar. ``time`` is the session date at 00:00
    Asia/Seoul; prices KRW or index points; ``volume`` shares/contracts, ``traded_value`` KRW."""

    time: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int
    traded_value: Decimal | None
    raw: dict[str, Any] = field(repr=False, default_factory=dict)


@dataclass(frozen=True)
class MinuteBar(DailyBar):
    """One futures/options intraday bar (FHKIF03020200 ``output2``), the fields of ``DailyBar``:
    ``time`` is KIS's ``stck_bsop_date`` + ``stck_cntg_hour`` (the bar's stamp as KIS gives it),
    Asia/Seoul; prices index points; ``volume`` contracts in the bar; ``traded_value`` KIS's
    ``acml_tr_pbmn`` KRW."""


@dataclass(frozen=True)
class Greeks:
    """Option sensitivities as KIS sends them: ``delta``, ``gamma``, ``theta``, ``vega``, ``rho``
    (per KIS's units), ``implied_vol`` and ``hist_vol`` in percent."""

    delta: Decimal | None
    gamma: Decimal | None
    theta: Decimal | None
    vega: Decimal | None
    rho: Decimal | None
    implied_vol: Decimal | None
    hist_vol: Decimal | None


def _greeks(row: dict[str, Any]) -> Greeks:
    return Greeks(
        delta=_dec(row.get("delta_val")),
        gamma=_dec(row.get("gama")),
        theta=_dec(row.get("theta")),
        vega=_dec(row.get("vega")),
        rho=_dec(row.get("rho")),
        implied_vol=_dec(row.get("hts_ints_vltl")),
        hist_vol=_dec(row.get("hist_vltl")),
    )


@dataclass(frozen=True)
class FuturesOptionPrice:
    """A KOSPI200 future's or option's price (FHMIF10000000 ``output1``; ``underlying`` from
    ``output3``'s index, else ``output2``'s). Prices index points; ``change_rate`` percent;
    ``volume`` contracts; ``traded_value`` KRW; ``open_interest`` contracts (``oi_change`` vs
    the previous day); ``basis`` future minus index; ``theoretical`` KIS's theoretical price;
    ``strike`` for options (0 or None for futures); ``last_trade_date`` the expiry date;
    ``greeks`` where KIS fills them (options)."""

    code: str
    name: str
    price: Decimal
    change: Decimal | None
    change_rate: Decimal | None
    prev_close: Decimal | None
    open: Decimal | None
    high: Decimal | None
    low: Decimal | None
    volume: int | None
    traded_value: Decimal | None
    open_interest: int | None
    oi_change: int | None
    upper_limit: Decimal | None
    lower_limit: Decimal | None
    basis: Decimal | None
    theoretical: Decimal | None
    strike: Decimal | None
    last_trade_date: date | None
    underlying: Decimal | None
    greeks: Greeks
    received: datetime
    raw: dict[str, Any] = field(repr=False, default_factory=dict)


@dataclass(frozen=True)
class BookLevel:
    """One price level: ``price`` index points, ``size`` contracts, ``orders`` order count."""

    price: Decimal
    size: int
    orders: int | None


@dataclass(frozen=True)
class AskingPrice:
    """The futures/options order book (FHMIF10010000): ``asks``/``bids`` levels 1-5 best first
    (levels with no price left out); ``total_ask_size``/``total_bid_size`` contracts; ``time``
    the book's stamp (``aspr_acpt_hour`` on the day received), Asia/Seoul; ``price`` last."""

    code: str
    price: Decimal | None
    asks: list[BookLevel]
    bids: list[BookLevel]
    total_ask_size: int | None
    total_bid_size: int | None
    time: datetime | None
    received: datetime
    raw: dict[str, Any] = field(repr=False, default_factory=dict)


@dataclass(frozen=True)
class OptionBoardRow:
    """One strike of the option board (FHPIF05030100): ``code`` the option's short code,
    ``strike`` and prices index points, ``change_rate`` percent, ``volume`` contracts,
    ``open_interest`` contracts, ``atm`` KIS's ATM label (``ATM``/``ITM``/``OTM`` as sent)."""

    code: str
    strike: Decimal
    price: Decimal | None
    change: Decimal | None
    change_rate: Decimal | None
    bid: Decimal | None
    ask: Decimal | None
    volume: int | None
    open_interest: int | None
    oi_change: int | None
    theoretical: Decimal | None
    intrinsic: Decimal | None
    time_value: Decimal | None
    atm: str
    greeks: Greeks
    raw: dict[str, Any] = field(repr=False, default_factory=dict)


@dataclass(frozen=True)
class OptionBoard:
    """Calls (``output1``) and puts (``output2``) of one maturity, each sorted by strike."""

    maturity: str
    calls: list[OptionBoardRow]
    puts: list[OptionBoardRow]
    received: datetime


# -- client ------------------------------------------------------------------------------------


class KisRestClient:
    """REST quotations of one app key (see the module docstring for pacing and retries).

    ``auth`` supplies the token; ``bucket`` defaults to the app key's process-wide bucket;
    ``sleep`` (seconds) is used for retry waits and ``now`` for ``received`` stamps (tests).
    Every method raises ``KisError`` (KIS's ``code``/``message``) or ``KisNetworkError``.
    """

    def __init__(
        self,
        auth: KisAuth,
        *,
        bucket: TokenBucket | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = lambda: datetime.now(SEOUL),
    ):
        self.auth = auth
        self.config = auth.config
        self.bucket = bucket or bucket_for(auth)
        self.session = session or requests.Session()
        self._sleep = sleep
        self._now = now
        self.attempts = 0  # HTTP requests sent (retries included)

    # -- transport -------------------------------------------------------------------------

    def get(self, path: str, tr_id: str, params: dict[str, str]) -> dict[str, Any]:
        """One quotation call: the response body (``rt_cd`` ``"0"``), retried as documented."""
        retries = self.config.retries
        attempt = 0
        while True:
            self.bucket.acquire()
            headers = {
                "content-type": "application/json; charset=utf-8",
                "authorization": f"Bearer {self.auth.get_access_token()}",
                "appkey": self.config.app_key,
                "appsecret": self.config.app_secret,
                "tr_id": tr_id,
                "tr_cont": "",
                "custtype": "P",
            }
            self.attempts += 1
            try:
                response = self.session.get(
                    self.config.url + path, headers=headers, params=params, timeout=self.config.timeout
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                if attempt >= retries:
                    raise KisNetworkError(f"GET {path} ({tr_id}) after {attempt + 1} attempts: {exc}") from exc
                self._sleep(min(4.0, 0.5 * 2**attempt))
                attempt += 1
                continue
            try:
                body = response.json()
            except ValueError:
                raise KisError(
                    f"HTTP{response.status_code}",
                    f"GET {path} ({tr_id}): not JSON: {response.text[:200]!r}",
                    status=response.status_code,
                ) from None
            error = error_from_body(body, response.status_code)
            if error is None:
                return body
            if error.code == RATE_LIMIT_CODE and attempt < retries:
                self._sleep(self.config.rate_limit_wait)
                attempt += 1
                continue
            if error.code in TOKEN_ERROR_CODES:
                self.auth.invalidate_access_token()
            raise error

    # -- stocks ----------------------------------------------------------------------------

    def stock_price(self, code: str, *, market: str = "J") -> StockPrice:
        """Current price of a KRX stock (``code`` e.g. ``"005930"``; ``market`` ``J`` KRX,
        ``NX`` NXT, ``UN`` combined). FHKST01010100."""
        path, tr_id = STOCK_PRICE
        body = self.get(path, tr_id, {"FID_COND_MRKT_DIV_CODE": market, "FID_INPUT_ISCD": code})
        out = body.get("output") or {}
        price = _dec(out.get("stck_prpr"))
        if price is None:
            raise KisError("BAD_RESPONSE", f"{tr_id} {code}: no stck_prpr")
        return StockPrice(
            code=str(out.get("stck_shrn_iscd") or code),
            price=price,
            change=_dec(out.get("prdy_vrss")),
            change_rate=_dec(out.get("prdy_ctrt")),
            open=_dec(out.get("stck_oprc")),
            high=_dec(out.get("stck_hgpr")),
            low=_dec(out.get("stck_lwpr")),
            volume=_int(out.get("acml_vol")),
            traded_value=_dec(out.get("acml_tr_pbmn")),
            upper_limit=_dec(out.get("stck_mxpr")),
            lower_limit=_dec(out.get("stck_llam")),
            tick_size=_dec(out.get("aspr_unit")),
            received=self._now(),
            raw=dict(out),
        )

    def stock_daily_chart(
        self, code: str, start: date, end: date, *, period: str = "D", adjusted: bool = True, market: str = "J"
    ) -> list[DailyBar]:
        """Daily (``period`` ``D``; ``W``/``M``/``Y`` weekly, monthly, yearly) bars of a KRX stock
        from ``start`` to ``end`` inclusive, oldest first; KIS returns at most 100 per call.
        ``adjusted`` True for split-adjusted prices (``FID_ORG_ADJ_PRC`` 0). FHKST03010100."""
        path, tr_id = STOCK_DAILY_CHART
        body = self.get(
            path,
            tr_id,
            {
                "FID_COND_MRKT_DIV_CODE": market,
                "FID_INPUT_ISCD": code,
                "FID_INPUT_DATE_1": start.strftime("%Y%m%d"),
                "FID_INPUT_DATE_2": end.strftime("%Y%m%d"),
                "FID_PERIOD_DIV_CODE": period,
                "FID_ORG_ADJ_PRC": "0" if adjusted else "1",
            },
        )
        return _daily_bars(body.get("output2") or [], close="stck_clpr", prefix="stck")

    # -- futures and options ---------------------------------------------------------------

    def fo_price(self, code: str, *, market: str = "F") -> FuturesOptionPrice:
        """Price of a KOSPI200 future (``market`` ``F``) or option (``O``), ``code`` the short
        code (e.g. ``"101W09"``, ``"201W08450"``). FHMIF10000000."""
        path, tr_id = FO_PRICE
        body = self.get(path, tr_id, {"FID_COND_MRKT_DIV_CODE": market, "FID_INPUT_ISCD": code})
        out = body.get("output1") or {}
        price = _dec(out.get("futs_prpr"))
        if price is None:
            raise KisError("BAD_RESPONSE", f"{tr_id} {code}: no futs_prpr")
        index = body.get("output3") or body.get("output2") or {}
        return FuturesOptionPrice(
            code=code,
            name=str(out.get("hts_kor_isnm", "")),
            price=price,
            change=_dec(out.get("futs_prdy_vrss")),
            change_rate=_dec(out.get("futs_prdy_ctrt")),
            prev_close=_dec(out.get("futs_prdy_clpr")),
            open=_dec(out.get("futs_oprc")),
            high=_dec(out.get("futs_hgpr")),
            low=_dec(out.get("futs_lwpr")),
            volume=_int(out.get("acml_vol")),
            traded_value=_dec(out.get("acml_tr_pbmn")),
            open_interest=_int(out.get("hts_otst_stpl_qty")),
            oi_change=_int(out.get("otst_stpl_qty_icdc")),
            upper_limit=_dec(out.get("futs_mxpr")),
            lower_limit=_dec(out.get("futs_llam")),
            basis=_dec(out.get("basis")),
            theoretical=_dec(out.get("hts_thpr")),
            strike=_dec(out.get("acpr")),
            last_trade_date=_date(out.get("futs_last_tr_date")),
            underlying=_dec(index.get("bstp_nmix_prpr")) if isinstance(index, dict) else None,
            greeks=_greeks(out),
            received=self._now(),
            raw=dict(out),
        )

    def fo_asking_price(self, code: str, *, market: str = "F") -> AskingPrice:
        """Order book of a future/option at its own path (``inquire-asking-price``, not the
        price path). FHMIF10010000: ``output1`` price info, ``output2`` the levels."""
        path, tr_id = FO_ASKING_PRICE
        body = self.get(path, tr_id, {"FID_COND_MRKT_DIV_CODE": market, "FID_INPUT_ISCD": code})
        info = body.get("output1") or {}
        book = body.get("output2") or {}
        if isinstance(book, list):
            book = book[0] if book else {}
        received = self._now()

        def levels(side: str) -> list[BookLevel]:
            rows = []
            for n in range(1, 6):
                price = _dec(book.get(f"futs_{side}p{n}"))
                if price is None or price == 0:
                    continue
                rows.append(
                    BookLevel(price, _int(book.get(f"{side}p_rsqn{n}")) or 0, _int(book.get(f"{side}p_csnu{n}")))
                )
            return rows

        return AskingPrice(
            code=code,
            price=_dec(info.get("futs_prpr")),
            asks=levels("ask"),
            bids=levels("bid"),
            total_ask_size=_int(book.get("total_askp_rsqn")),
            total_bid_size=_int(book.get("total_bidp_rsqn")),
            time=_datetime(received.date(), book.get("aspr_acpt_hour")) if book.get("aspr_acpt_hour") else None,
            received=received,
            raw={"output1": dict(info), "output2": dict(book)},
        )

    def option_board(self, maturity: str, *, screen: str = "20503", market_class: str = "") -> OptionBoard:
        """Calls and puts of the KOSPI200 options expiring in ``maturity`` (``YYYYMM``, e.g.
        ``"202508"``), as on KIS's [0503] board. KIS returns at most 100 rows per side.
        FHPIF05030100 (``display-board-callput``)."""
        path, tr_id = FO_OPTION_BOARD
        body = self.get(
            path,
            tr_id,
            {
                "FID_COND_MRKT_DIV_CODE": "O",
                "FID_COND_SCR_DIV_CODE": screen,
                "FID_MRKT_CLS_CODE": "CO",
                "FID_MTRT_CNT": maturity,
                "FID_MRKT_CLS_CODE1": "PO",
                "FID_COND_MRKT_CLS_CODE": market_class,
            },
        )
        return OptionBoard(
            maturity=maturity,
            calls=_board_rows(body.get("output1") or []),
            puts=_board_rows(body.get("output2") or []),
            received=self._now(),
        )

    def fo_minute_chart(
        self,
        code: str,
        day: date,
        until: str = "160000",
        *,
        market: str = "F",
        seconds: int = 60,
        include_past: bool = True,
    ) -> list[MinuteBar]:
        """Intraday bars of a future/option up to ``day`` ``until`` (HHMMSS, KST), oldest first;
        ``seconds`` the bar length (30, 60, ...: KIS's ``FID_HOUR_CLS_CODE``); ``include_past``
        also earlier days. KIS returns at most ~100 bars per call. FHKIF03020200."""
        path, tr_id = FO_MINUTE_CHART
        body = self.get(
            path,
            tr_id,
            {
                "FID_COND_MRKT_DIV_CODE": market,
                "FID_INPUT_ISCD": code,
                "FID_HOUR_CLS_CODE": str(seconds),
                "FID_PW_DATA_INCU_YN": "Y" if include_past else "N",
                "FID_FAKE_TICK_INCU_YN": "N",
                "FID_INPUT_DATE_1": day.strftime("%Y%m%d"),
                "FID_INPUT_HOUR_1": until,
            },
        )
        bars = []
        for row in body.get("output2") or []:
            day_ = _date(row.get("stck_bsop_date"))
            stamp = _datetime(day_, row.get("stck_cntg_hour")) if day_ else None
            ohlc = [_dec(row.get(k)) for k in ("futs_oprc", "futs_hgpr", "futs_lwpr", "futs_prpr")]
            if stamp is None or any(v is None for v in ohlc):
                continue  # KIS pads empty rows
            o, h, lo, c = (v for v in ohlc if v is not None)
            bars.append(
                MinuteBar(stamp, o, h, lo, c, _int(row.get("cntg_vol")) or 0, _dec(row.get("acml_tr_pbmn")), dict(row))
            )
        bars.sort(key=lambda bar: bar.time)
        return bars

    def fo_daily_chart(
        self, code: str, start: date, end: date, *, market: str = "F", period: str = "D"
    ) -> list[DailyBar]:
        """Daily (``period`` ``D``; ``W``/``M``) bars of a future/option from ``start`` to
        ``end`` inclusive, oldest first. FHKIF03020100."""
        path, tr_id = FO_DAILY_CHART
        body = self.get(
            path,
            tr_id,
            {
                "FID_COND_MRKT_DIV_CODE": market,
                "FID_INPUT_ISCD": code,
                "FID_INPUT_DATE_1": start.strftime("%Y%m%d"),
                "FID_INPUT_DATE_2": end.strftime("%Y%m%d"),
                "FID_PERIOD_DIV_CODE": period,
            },
        )
        return _daily_bars(body.get("output2") or [], close="futs_prpr", prefix="futs")


def _daily_bars(rows: list[dict[str, Any]], *, close: str, prefix: str) -> list[DailyBar]:
    bars = []
    for row in rows:
        day = _date(row.get("stck_bsop_date"))
        ohlc = [_dec(row.get(k)) for k in (f"{prefix}_oprc", f"{prefix}_hgpr", f"{prefix}_lwpr", close)]
        if day is None or any(v is None for v in ohlc):
            continue  # KIS pads the list with empty rows past the listing date
        o, h, lo, c = (v for v in ohlc if v is not None)
        stamp = datetime(day.year, day.month, day.day, tzinfo=SEOUL)
        bars.append(
            DailyBar(stamp, o, h, lo, c, _int(row.get("acml_vol")) or 0, _dec(row.get("acml_tr_pbmn")), dict(row))
        )
    bars.sort(key=lambda bar: bar.time)
    return bars


def _board_rows(rows: list[dict[str, Any]]) -> list[OptionBoardRow]:
    out = []
    for row in rows:
        strike = _dec(row.get("acpr"))
        if strike is None:
            continue
        out.append(
            OptionBoardRow(
                code=str(row.get("optn_shrn_iscd", "")),
                strike=strike,
                price=_dec(row.get("optn_prpr")),
                change=_dec(row.get("optn_prdy_vrss")),
                change_rate=_dec(row.get("optn_prdy_ctrt")),
                bid=_dec(row.get("optn_bidp")),
                ask=_dec(row.get("optn_askp")),
                volume=_int(row.get("acml_vol")),
                open_interest=_int(row.get("hts_otst_stpl_qty")),
                oi_change=_int(row.get("otst_stpl_qty_icdc")),
                theoretical=_dec(row.get("hts_thpr")),
                intrinsic=_dec(row.get("invl_val")),
                time_value=_dec(row.get("tmvl_val")),
                atm=str(row.get("atm_cls_name", "")).strip(),
                greeks=_greeks(row),
                raw=dict(row),
            )
        )
    out.sort(key=lambda r: r.strike)
    return out
