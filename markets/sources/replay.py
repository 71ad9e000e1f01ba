"""Replay of recorded real market data as a ``MarketSource`` (demo board, tests, no network).

Nothing here invents a price: every emitted ``last_price`` is a price printed in the recording
(a candle's open/high/low/close, a trade price, a daily close), parsed as ``Decimal`` from the
file's text so it equals the file exactly.

Datasets (file names are the ``*_FILE`` constants; ``data_dir`` is the directory holding them -
the project ships some under ``markets/sources/data``, ``../shared/data/<topic>`` has all; a CSV
may also be present gzipped as ``<name>.gz``):

``upbit_top20``  Upbit 15-min candles of 20 KRW markets, 2026-06-28 17:00-22:45 KST (24 candles).
``bithumb_btc_1m``  Bithumb ``/public/candlestick/BTC_KRW/1m`` response (1,500 candles, 2022-03).
    Each candle is walked through four real prices in the conventional OHLC path: open, then the
    extreme met first, then the other one, then close - O-H-L-C for a down candle (close < open),
    O-L-H-C otherwise. One batch per point, stamped candle open + 0, 1/4, 2/4, 3/4 of the interval.
    ``change`` is last - the symbol's first open of the window; ``volume_24h`` and
    ``traded_value_24h`` are *accumulated over the replay window* (the recordings span hours, not
    24 h): the sums of the candles completed before the point. Bithumb candles carry no traded
    value, so ``traded_value_24h`` is ``None`` there.
``upbit_trades``  Upbit WebSocket trade messages (SIMPLE format, 2021-04-17), KRW markets only;
    each trade is one single-ticker batch stamped with its trade time ``tms``; change vs. the
    message's previous close ``pcp``; volume/value accumulated over the window (value = sum of
    price x volume). Gaps follow the recorded ``tms`` differences.
``krx_daily``  KRX daily OHLCV of the 50 largest stocks (2023-12-05 -> 2025-06-17), a fast-forward
    market replay: one batch per session with every code that traded, stamped 15:30 KST (the
    close). last = close, change vs. that code's previous traded close (``None`` on its first
    session), volume_24h = the day's volume in shares, traded_value_24h = ``None`` (not in the
    source). Halted rows (open = high = low = 0) are no-trade days: the code is left out of that
    batch (its previous last stands) and out of ``ohlcv``. Each session counts as 86,400 s.

``upbit_15m_4coins``  Upbit 15-min candles of BTC, DOGE, ETH, XRP (KRW), 2025-05-19 -> 2025-06-16 09:00 KST
    (the demo's crypto board). ``upbit_60m_sol``  Upbit 60-min candles of SOL (KRW), same window (the
    board's fifth coin: its 15-min file is absent from the source; four prices per hour, so its row
    moves every 15 recorded minutes like the others). ``binance_usdt_1h``  Binance spot 1-hour klines of 17 USDT pairs and
    ``binance_usdt_4h``  Binance spot 4-hour klines of BTC/USDT and ETH/USDT, 2025-05-19 -> 2025-06-16
    00:00 UTC (the demo's USDT pairs). Walked like ``upbit_top20``, but the 24 h figures are *rolling*
    over the recorded 24 h before the point: ``change`` is last - the walked price 24 h earlier (the
    window's first open while less than 24 h is recorded), ``volume_24h`` the sum of the candles
    completed in those 24 h. These files hold no traded value: ``traded_value_24h`` is ``None`` (the
    board shows "—" and says why).

The demo clock (``demo_clock``, a ``markets.sources.clock.DemoClock``): every replay of the demo
follows it instead of its own pacing. At any wall time the source emits the latest batch recorded
at or before the clock's instant (batches the clock passed while the consumer was slow are
skipped, never bunched), re-emits it every ``keepalive`` wall seconds while nothing new was
recorded (the price stays fresh without changing), and when the clock restarts at its window's
start the source restarts with it. ``krx_daily`` on the clock walks each session through its four
real prices O, L/H, H/L, C at 09:00, 11:10, 13:20 and 15:30 KST (``KRX_WALK_MINUTES``), so a
price holds for 130 recorded minutes (130 s of wall time at 60x); change vs the previous session's
close; volume_24h is the last completed session's volume (the day's own from its close on).

Pacing (without a clock): between two batches the replay awaits ``sleep(recorded_gap / speed)``. The default speed
gives one batch per second for the candle and KRX datasets (225 for 15-min candles = 900 s / 4
points) and real time for trades. With ``clock`` (a monotonic seconds function, e.g.
``time.monotonic``) sleeps are measured against a running schedule so a slow consumer does not
make the replay drift. With ``loop=True`` the replay restarts (window totals reset) after one more
gap; with ``loop=False`` the stream ends after the last batch.
"""

from __future__ import annotations

import asyncio
import gzip
import json
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pandas as pd

from .base import (
    INTERVAL_SECONDS,
    Bar,
    InstrumentInfo,
    MarketSource,
    SourceError,
    TickerSnapshot,
    check_interval,
    ms_to_utc,
)
from .clock import DemoClock, follow

KST = timezone(timedelta(hours=9), "KST")  # Korea has no DST, so a fixed offset is exact

UPBIT_TOP20_FILE = "upbit_KRW_15min_20coins_2026-06-28_1700-2245KST.csv"
BITHUMB_BTC_1M_FILE = "public_candlestick_BTC_KRW_1m.json"
UPBIT_TRADES_FILE = "ws_trade_orderbook_messages_SIMPLE.jsonl"
KRX_DAILY_FILE = "krx_daily_ohlcv_top50.csv"
UPBIT_4COINS_FILE = "upbit_KRW_15min_BTC_DOGE_ETH_XRP_2025-05-19_2025-06-15.csv"
UPBIT_SOL_1H_FILE = "upbit_KRW_60min_SOL_2025-05-19_2025-06-15.csv"
BINANCE_USDT_1H_FILE = "binance_spot_USDT_1h_17coins_2025-05-19_2025-06-15.csv"
BINANCE_USDT_4H_FILE = "binance_spot_USDT_4h_BTC_ETH_2025-05-19_2025-06-15.csv"
KRX_WALK_MINUTES = (0, 130, 260, 390)  # session open 09:00 KST + these: the four prices of a KRX day
DAY_SECONDS = 86_400
DEFAULT_KEEPALIVE = 20.0  # wall seconds between re-emits of an unchanged batch on the demo clock

SESSION_SECONDS = 86_400.0  # recorded "gap" of one KRX session in the fast-forward replay
TRADES_RESTART_GAP = 1.0  # recorded seconds between the last and first trade when looping
KRX_CLOSE = (15, 30)  # KRX regular session close, KST


@dataclass(frozen=True)
class _Dataset:
    file: str
    exchange: str
    interval: str | None  # candle interval of the recording; None = trades, no candles
    default_speed: float


DATASETS: dict[str, _Dataset] = {
    "upbit_top20": _Dataset(UPBIT_TOP20_FILE, "upbit", "15m", 900 / 4),
    "bithumb_btc_1m": _Dataset(BITHUMB_BTC_1M_FILE, "bithumb", "1m", 60 / 4),
    "upbit_trades": _Dataset(UPBIT_TRADES_FILE, "upbit", None, 1.0),
    "krx_daily": _Dataset(KRX_DAILY_FILE, "krx", "1d", SESSION_SECONDS),
    "upbit_15m_4coins": _Dataset(UPBIT_4COINS_FILE, "upbit", "15m", 900 / 4),
    "upbit_60m_sol": _Dataset(UPBIT_SOL_1H_FILE, "upbit", "1h", 3600 / 4),
    "binance_usdt_1h": _Dataset(BINANCE_USDT_1H_FILE, "binance", "1h", 3600 / 4),
    "binance_usdt_4h": _Dataset(BINANCE_USDT_4H_FILE, "binance", "4h", 14400 / 4),
}


@dataclass(frozen=True)
class _Step:
    """One emitted batch and the recorded seconds since the previous one (for step 0: the gap
    used when looping back from the last step)."""

    gap: float
    tickers: tuple[TickerSnapshot, ...]


def _find(data_dir: Path, file: str) -> Path | None:
    for candidate in (data_dir / file, data_dir / f"{file}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _open_text(path: Path):
    return gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else path.open(encoding="utf-8")


def _split_symbol(symbol: str) -> tuple[str, str]:
    base, _, quote = symbol.partition("/")
    return base, quote


class ReplaySource(MarketSource):
    """Recorded real data replayed as a ``MarketSource``; see the module docstring for datasets.

    Raises ``ValueError`` for an unknown dataset and ``FileNotFoundError`` when ``data_dir`` lacks
    the dataset's file (plain or ``.gz``). Files are read once, at construction.
    """

    def __init__(
        self,
        dataset: str,
        *,
        data_dir: str | Path,
        speed: float | None = None,
        loop: bool = True,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        clock: Callable[[], float] | None = None,
        demo_clock: DemoClock | None = None,
        wall: Callable[[], datetime] | None = None,
        keepalive: float = DEFAULT_KEEPALIVE,
    ) -> None:
        if dataset not in DATASETS:
            raise ValueError(f"unknown replay dataset {dataset!r}; expected one of {', '.join(DATASETS)}")
        spec = DATASETS[dataset]
        path = _find(Path(data_dir), spec.file)
        if path is None:
            raise FileNotFoundError(f"replay dataset {dataset!r}: {spec.file}(.gz) not found in {data_dir}")
        if speed is not None and speed <= 0:
            raise ValueError("speed must be > 0")
        self.name = "replay"
        self.dataset = dataset
        self.exchange_id = spec.exchange
        self.interval = spec.interval
        self.path = path
        self.speed = float(speed if speed is not None else spec.default_speed)
        self.loop = loop
        self._sleep = sleep
        self._clock = clock
        self.demo_clock = demo_clock
        self._wall = wall or (lambda: datetime.now(UTC))
        self.keepalive = keepalive
        self._names: dict[str, str] = {}
        self._candles: dict[str, list[Bar]] = {}
        if dataset == "upbit_top20":
            self._candles = self._read_upbit_candles(path)
            self._steps = self._walk_candles(with_value=True)
        elif dataset == "bithumb_btc_1m":
            self._candles = self._read_bithumb_candles(path)
            self._steps = self._walk_candles(with_value=False)
        elif dataset == "upbit_trades":
            self._steps = self._read_upbit_trades(path)
        elif dataset in ("upbit_15m_4coins", "upbit_60m_sol"):
            self._candles = self._read_upbit_candles(path)
            self._steps = self._walk_candles_rolling()
        elif dataset in ("binance_usdt_1h", "binance_usdt_4h"):
            self._candles = self._read_binance_candles(path)
            self._steps = self._walk_candles_rolling()
        else:
            self._steps = self._read_krx(path)
            if demo_clock is not None:
                self._steps = self._walk_krx_sessions()

    @staticmethod
    def available_datasets(data_dir: str | Path) -> list[str]:
        """Names of the datasets whose file (plain or .gz) is present in ``data_dir``."""
        return [name for name, spec in DATASETS.items() if _find(Path(data_dir), spec.file)]

    # -- readers ------------------------------------------------------------------------------

    @staticmethod
    def _read_upbit_candles(path: Path) -> dict[str, list[Bar]]:
        # dtype=str: prices become Decimal from the file's text, never through float.
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        candles: dict[str, list[Bar]] = defaultdict(list)
        for r in df.itertuples(index=False):
            quote, _, base = r.market.partition("-")  # Upbit ids are QUOTE-BASE: KRW-BTC
            opened = datetime.strptime(r.candle_open_kst, "%Y-%m-%d %H:%M:%S").replace(tzinfo=KST)
            candles[f"{base}/{quote}"].append(
                Bar(
                    open_time=opened.astimezone(UTC),
                    open=Decimal(r.open),
                    high=Decimal(r.high),
                    low=Decimal(r.low),
                    close=Decimal(r.close),
                    volume=Decimal(r.volume_base),
                    quote_volume=Decimal(r.value_krw) if getattr(r, "value_krw", "") else None,
                )
            )
        return {s: sorted(bars, key=lambda b: b.open_time) for s, bars in candles.items()}

    @staticmethod
    def _read_bithumb_candles(path: Path) -> dict[str, list[Bar]]:
        with _open_text(path) as fh:
            payload = json.load(fh, parse_float=Decimal)
        if payload.get("status") != "0000":
            raise SourceError(f"{path.name}: Bithumb status {payload.get('status')!r}", exchange="bithumb")
        bars: dict[datetime, Bar] = {}
        for ts, o, c, h, lo, vol in payload["data"]:  # NB Bithumb order: close BEFORE high/low
            bar = Bar(
                ms_to_utc(ts), Decimal(str(o)), Decimal(str(h)), Decimal(str(lo)), Decimal(str(c)), Decimal(str(vol))
            )
            bars[bar.open_time] = bar  # the API sometimes repeats a row: keep one per open time
        return {"BTC/KRW": sorted(bars.values(), key=lambda b: b.open_time)}

    @staticmethod
    def _read_binance_candles(path: Path) -> dict[str, list[Bar]]:
        # symbol,open_time_utc,open,high,low,close,volume_base (Binance spelling "ADAUSDT")
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        candles: dict[str, list[Bar]] = defaultdict(list)
        for r in df.itertuples(index=False):
            if not r.symbol.endswith("USDT"):
                raise SourceError(f"{path.name}: unexpected symbol {r.symbol!r}", exchange="binance")
            opened = datetime.strptime(r.open_time_utc, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
            candles[f"{r.symbol[:-4]}/USDT"].append(
                Bar(opened, Decimal(r.open), Decimal(r.high), Decimal(r.low), Decimal(r.close), Decimal(r.volume_base))
            )
        return {s: sorted(bars, key=lambda b: b.open_time) for s, bars in candles.items()}

    def _walk_candles_rolling(self) -> list[_Step]:
        """Four real prices per candle (as ``_walk_candles``) with 24 h figures rolling over the
        recorded 24 h before each point (see the module docstring)."""
        if self.interval is None:
            raise ValueError(f"replay dataset {self.dataset!r} has no candles to walk")
        span = INTERVAL_SECONDS[self.interval]
        step_s = span / 4
        day = timedelta(seconds=DAY_SECONDS)
        opens = {s: [b.open_time for b in bars] for s, bars in self._candles.items()}
        prefix: dict[str, list[Decimal]] = {}
        for s, bars in self._candles.items():
            acc, sums = Decimal(0), [Decimal(0)]
            for b in bars:
                acc += b.volume
                sums.append(acc)
            prefix[s] = sums
        index = {s: {b.open_time: i for i, b in enumerate(bars)} for s, bars in self._candles.items()}

        def price_at(symbol: str, when: datetime) -> Decimal | None:
            i = bisect_right(opens[symbol], when) - 1
            if i < 0:
                return None
            bar = self._candles[symbol][i]
            k = min(3, int((when - bar.open_time).total_seconds() // step_s))
            return self.ohlc_path(bar)[k] if k >= 0 else bar.close

        by_time: dict[datetime, list[str]] = defaultdict(list)
        for symbol, bars in self._candles.items():
            for bar in bars:
                by_time[bar.open_time].append(symbol)
        first_open = {s: bars[0].open for s, bars in self._candles.items()}
        steps: list[_Step] = []
        prev_time = None
        for opened in sorted(by_time):
            for k in range(4):
                when = opened + timedelta(seconds=k * step_s)
                batch = []
                for symbol in by_time[opened]:
                    i = index[symbol][opened]
                    price = self.ohlc_path(self._candles[symbol][i])[k]
                    ref = price_at(symbol, when - day)
                    ref = ref if ref is not None else first_open[symbol]
                    j = bisect_left(opens[symbol], when - day)  # the first candle of the last 24 h
                    change = price - ref
                    batch.append(
                        TickerSnapshot(
                            exchange=self.exchange_id,
                            symbol=symbol,
                            last_price=price,
                            change=change,
                            change_rate=change / ref if ref else None,
                            volume_24h=prefix[symbol][i] - prefix[symbol][min(j, i)],
                            traded_value_24h=None,
                            time=when,
                        )
                    )
                gap = step_s if prev_time is None else (when - prev_time).total_seconds()
                steps.append(_Step(gap, tuple(batch)))
                prev_time = when
        return steps

    def _walk_krx_sessions(self) -> list[_Step]:
        """Each KRX session walked through O, L/H, H/L, C at ``KRX_WALK_MINUTES`` after 09:00 KST."""
        by_day: dict[datetime, list[tuple[str, Bar]]] = defaultdict(list)
        for code, bars in self._candles.items():
            for bar in bars:
                by_day[bar.open_time].append((code, bar))
        prev_close: dict[str, Decimal] = {}
        prev_volume: dict[str, Decimal] = {}
        steps: list[_Step] = []
        prev_time = None
        for opened in sorted(by_day):
            group = sorted(by_day[opened])
            for k, minutes in enumerate(KRX_WALK_MINUTES):
                when = opened + timedelta(minutes=minutes)
                batch = []
                for code, bar in group:
                    price = self.ohlc_path(bar)[k]
                    ref = prev_close.get(code)
                    change = price - ref if ref is not None else None
                    batch.append(
                        TickerSnapshot(
                            exchange="krx",
                            symbol=code,
                            last_price=price,
                            change=change,
                            change_rate=(price - ref) / ref if ref else None,
                            volume_24h=bar.volume if k == 3 else prev_volume.get(code),
                            traded_value_24h=None,
                            time=when,
                        )
                    )
                gap = 0.0 if prev_time is None else (when - prev_time).total_seconds()
                steps.append(_Step(gap, tuple(batch)))
                prev_time = when
            for code, bar in group:
                prev_close[code], prev_volume[code] = bar.close, bar.volume
        return steps

    def covers(self, start: datetime, end: datetime) -> bool:
        """Whether the recording has batches at or before ``start`` and up to ``end`` (a demo
        clock over ``[start, end)`` then always has a price to show)."""
        times = [step.tickers[0].time for step in self._steps if step.tickers]
        return bool(times) and times[0] <= start and times[-1] >= end - timedelta(days=1)

    def _walk_candles(self, *, with_value: bool) -> list[_Step]:
        """Four real prices per candle, all symbols sharing an open time in the same batches."""
        if self.interval is None:
            raise ValueError(f"replay dataset {self.dataset!r} has no candles to walk")
        step_s = INTERVAL_SECONDS[self.interval] / 4
        by_time: dict[datetime, list[tuple[str, Bar]]] = defaultdict(list)
        for symbol, bars in self._candles.items():
            for bar in bars:
                by_time[bar.open_time].append((symbol, bar))
        first_open = {s: bars[0].open for s, bars in self._candles.items()}
        volume: dict[str, Decimal] = defaultdict(Decimal)
        value: dict[str, Decimal] = defaultdict(Decimal)
        steps: list[_Step] = []
        prev_time = None
        for opened in sorted(by_time):
            group = by_time[opened]  # file order (the top-20 file lists markets by size)
            for k in range(4):
                when = opened + timedelta(seconds=k * step_s)
                batch = []
                for symbol, bar in group:
                    price = self.ohlc_path(bar)[k]
                    change = price - first_open[symbol]
                    batch.append(
                        TickerSnapshot(
                            exchange=self.exchange_id,
                            symbol=symbol,
                            last_price=price,
                            change=change,
                            change_rate=change / first_open[symbol] if first_open[symbol] else None,
                            volume_24h=volume[symbol],
                            traded_value_24h=value[symbol] if with_value else None,
                            time=when,
                        )
                    )
                gap = step_s if prev_time is None else (when - prev_time).total_seconds()
                steps.append(_Step(gap, tuple(batch)))
                prev_time = when
            for symbol, bar in group:  # the candle is complete only after its four points
                volume[symbol] += bar.volume
                if bar.quote_volume is not None:
                    value[symbol] += bar.quote_volume
        return steps

    def _read_upbit_trades(self, path: Path) -> list[_Step]:
        steps: list[_Step] = []
        volume: dict[str, Decimal] = defaultdict(Decimal)
        value: dict[str, Decimal] = defaultdict(Decimal)
        prev_ms = None
        with _open_text(path) as fh:
            for line in fh:
                if not line.strip():
                    continue
                # parse_float=Decimal keeps the message's number text exactly (127.0 stays 127.0).
                msg = json.loads(line, parse_float=Decimal)["msg"]
                if msg.get("ty") != "trade" or not msg.get("cd", "").startswith("KRW-"):
                    continue
                quote, _, base = msg["cd"].partition("-")
                symbol = f"{base}/{quote}"
                price, qty, prev_close = Decimal(msg["tp"]), Decimal(msg["tv"]), Decimal(msg["pcp"])
                volume[symbol] += qty
                value[symbol] += price * qty
                change = price - prev_close
                ms = int(msg["tms"])
                # Messages are kept in arrival order; a trade stamped earlier than its predecessor
                # (different market, clock skew) is emitted without waiting.
                gap = TRADES_RESTART_GAP if prev_ms is None else max(0.0, (ms - prev_ms) / 1000)
                prev_ms = ms
                steps.append(
                    _Step(
                        gap,
                        (
                            TickerSnapshot(
                                exchange=self.exchange_id,
                                symbol=symbol,
                                last_price=price,
                                change=change,
                                change_rate=change / prev_close if prev_close else None,
                                volume_24h=volume[symbol],
                                traded_value_24h=value[symbol],
                                time=ms_to_utc(ms),
                            ),
                        ),
                    )
                )
        return steps

    def _read_krx(self, path: Path) -> list[_Step]:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)  # str also keeps codes like 00088K
        candles: dict[str, list[Bar]] = defaultdict(list)
        sessions: dict[str, list] = defaultdict(list)
        for r in df.itertuples(index=False):
            self._names.setdefault(r.code, r.name)
            sessions[r.date].append(r)
        steps: list[_Step] = []
        prev_close: dict[str, Decimal] = {}
        for day in sorted(sessions):
            d = date.fromisoformat(day)
            opened = datetime(d.year, d.month, d.day, 9, 0, tzinfo=KST).astimezone(UTC)
            closed = datetime(d.year, d.month, d.day, *KRX_CLOSE, tzinfo=KST).astimezone(UTC)
            batch = []
            for r in sorted(sessions[day], key=lambda r: r.code):
                o, h, lo, c = (Decimal(x) for x in (r.open, r.high, r.low, r.close))
                if o == h == lo == 0:  # trading halt (거래정지): no print that day
                    continue
                candles[r.code].append(Bar(opened, o, h, lo, c, Decimal(r.volume)))
                ref = prev_close.get(r.code)
                change = c - ref if ref is not None else None
                batch.append(
                    TickerSnapshot(
                        exchange="krx",
                        symbol=r.code,
                        last_price=c,
                        change=change,
                        change_rate=(c - ref) / ref if ref else None,
                        volume_24h=Decimal(r.volume),
                        traded_value_24h=None,
                        time=closed,
                    )
                )
                prev_close[r.code] = c
            steps.append(_Step(SESSION_SECONDS, tuple(batch)))
        self._candles = dict(candles)
        return steps

    # -- MarketSource -------------------------------------------------------------------------

    @staticmethod
    def ohlc_path(bar: Bar) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        """The four prices walked through a candle: O-H-L-C if it closed down, else O-L-H-C."""
        if bar.close < bar.open:
            return bar.open, bar.high, bar.low, bar.close
        return bar.open, bar.low, bar.high, bar.close

    def instruments(self) -> list[InstrumentInfo]:
        """Instruments seen in the recording (KRX: code as symbol and base, KRW quote, Korean name)."""
        if self.exchange_id == "krx":
            return [
                InstrumentInfo(
                    exchange="krx", symbol=code, base=code, quote="KRW", market="krx", name_ko=self._names.get(code, "")
                )
                for code in sorted(self._names)
            ]
        symbols = sorted({t.symbol for step in self._steps for t in step.tickers})
        return [
            InstrumentInfo(
                exchange=self.exchange_id,
                symbol=s,
                base=_split_symbol(s)[0],
                quote=_split_symbol(s)[1],
                market="crypto",
            )
            for s in symbols
        ]

    def ohlcv(
        self,
        symbol: str,
        interval: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> Iterator[Bar]:
        """The recorded candles of ``symbol`` (``since``/``until`` inclusive on open time).

        ``ValueError`` if ``interval`` is not the recording's (the trade dataset has none);
        ``SourceError`` for a symbol not in the recording.
        """
        check_interval(interval)
        if interval != self.interval:
            raise ValueError(f"replay dataset {self.dataset!r} has {self.interval or 'no'} candles, not {interval}")
        if symbol not in self._candles:
            raise SourceError(f"symbol {symbol!r} not in replay dataset {self.dataset!r}", exchange=self.exchange_id)
        produced = 0
        for bar in self._candles[symbol]:
            if since is not None and bar.open_time < since:
                continue
            if until is not None and bar.open_time > until:
                return
            if limit is not None and produced >= limit:
                return
            produced += 1
            yield bar

    def tickers(self, symbols: list[str] | None = None) -> list[TickerSnapshot]:
        """The first batch of the replay (optionally only ``symbols``)."""
        wanted = set(symbols) if symbols else None
        return [t for t in self._steps[0].tickers if wanted is None or t.symbol in wanted] if self._steps else []

    async def stream_tickers(self, symbols: list[str] | None = None) -> AsyncIterator[list[TickerSnapshot]]:
        """Yield the recorded batches, paced by ``recorded_gap / speed``; see the module docstring.

        With ``symbols`` each batch keeps only those symbols and empty batches are not yielded
        (their time still passes).
        """
        wanted = set(symbols) if symbols else None
        if self.demo_clock is not None:
            async for batch in self._stream_on_clock(self.demo_clock, wanted):
                yield batch
            return
        deadline = self._clock() if self._clock else 0.0
        first = True
        while self._steps:
            for step in self._steps:
                if not first:
                    delay = step.gap / self.speed
                    if self._clock is not None:  # sleep to a schedule, not by a fixed amount
                        deadline += delay
                        delay = max(0.0, deadline - self._clock())
                    await self._sleep(delay)
                first = False
                batch = [t for t in step.tickers if wanted is None or t.symbol in wanted]
                if batch:
                    yield batch
            if not self.loop:
                return

    async def _stream_on_clock(self, clock: DemoClock, wanted: set[str] | None) -> AsyncIterator[list[TickerSnapshot]]:
        """The recorded batches as ``markets.sources.clock.follow`` picks them (module docstring)."""
        steps = [step for step in self._steps if step.tickers]
        times = [step.tickers[0].time for step in steps]
        async for idx in follow(clock, times, wall=self._wall, sleep=self._sleep, keepalive=self.keepalive):
            batch = [t for t in steps[idx].tickers if wanted is None or t.symbol in wanted]
            if batch:
                yield batch


def walk_points(bar: Bar, interval: str, exchange: str) -> list[tuple[datetime, Decimal]]:
    """The (time, price) points a clocked replay walks through ``bar``: a KRX daily candle at
    09:00 KST of its day + ``KRX_WALK_MINUTES``, any other candle at open + 0, 1/4, 2/4, 3/4 of
    ``interval``; prices ``ReplaySource.ohlc_path``. The charts build the forming candle from the
    points at or before the clock, so it equals what the board showed."""
    prices = ReplaySource.ohlc_path(bar)
    if exchange == "krx" and interval == "1d":
        day = bar.open_time.astimezone(KST)
        session = datetime(day.year, day.month, day.day, 9, 0, tzinfo=KST).astimezone(UTC)
        times = [session + timedelta(minutes=m) for m in KRX_WALK_MINUTES]
    else:
        quarter = INTERVAL_SECONDS[interval] / 4
        times = [bar.open_time + timedelta(seconds=k * quarter) for k in range(4)]
    return list(zip(times, prices, strict=True))
