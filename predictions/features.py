"""Price panels, features and up/down labels of KRX daily candles. No Django.

A ``Panel`` is the market as arrays: ``(T sessions x N stocks)`` float64 open, high, low, close
and volume, one row per KRX session of the XKRX calendar (``predictions.sessions``) from the
first to the last date, one column per 6-character KRX code. ``NaN`` means "no trade that
session": the stock was not listed yet, or KRX halted it. Halt rows (open = high = low = 0 with
the last close carried, see ``../shared/data/krx_daily/SOURCE.md``; or volume 0 with
open = high = low = close, ``krx_daily_2006/SOURCE.md``) become ``NaN`` here whether
the importer skipped them (its default) or kept them (``--keep-halts``), so the candles in the
database and the recorded CSV give the same panel.

Features at session t use the ``WINDOW`` = 20 sessions t-19 .. t only, and only for stocks that
traded on all 20 (``complete_windows``); the label of t compares the closes of t and t + 5
sessions (``forward_labels``). Nothing at t ever reads a row after t: ``tests/predictions``
perturbs later sessions and checks that the features at t stay bit-for-bit the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

WINDOW = 20  # sessions of history a prediction sees, as the prototype's 20-candle charts
HORIZON = 5  # sessions ahead the label looks
UP_THRESHOLD = 0.04  # "up" = close[t+5] >= 1.04 * close[t]

_PRICE_COLUMNS = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True)
class Panel:
    """OHLCV of N stocks over T consecutive KRX sessions.

    ``sessions``: DatetimeIndex (naive, one per XKRX session, ascending, no gaps);
    ``codes``: Index of KRX codes (str); ``open`` .. ``volume``: float64 arrays (T, N), prices in
    KRW and volume in shares, ``NaN`` where the stock did not trade (halt, not listed).
    """

    sessions: pd.DatetimeIndex
    codes: pd.Index
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return self.close.shape

    @property
    def traded(self) -> np.ndarray:
        """bool (T, N): the stock traded in that session (not halted, listed)."""
        return ~np.isnan(self.close)

    def session_index(self, day: date | str) -> int:
        """Row of session ``day``; raises ``KeyError`` when the panel does not hold it."""
        position = self.sessions.get_indexer([pd.Timestamp(day)])[0]
        if position < 0:
            raise KeyError(f"session {pd.Timestamp(day).date()} is not in the panel")
        return int(position)

    def rows(self, start: int, stop: int) -> Panel:
        """The sessions ``[start, stop)`` as a panel sharing memory with this one."""
        return Panel(
            self.sessions[start:stop],
            self.codes,
            *(getattr(self, name)[start:stop] for name in _PRICE_COLUMNS),
        )

    def columns(self, mask: np.ndarray) -> Panel:
        """The stocks where ``mask`` (bool, N) is true."""
        return Panel(self.sessions, self.codes[mask], *(getattr(self, name)[:, mask] for name in _PRICE_COLUMNS))


def load_krx_csv(path: Path | str, *, markets: set[str] | None = None) -> pd.DataFrame:
    """The recorded KRX daily file as a frame, halt rows kept as recorded.

    Returns DataFrame[code: str, name: str, market: str, date: datetime64, open, high, low,
    close: float KRW, volume: float shares]. ``markets`` keeps only those boards ("KOSPI",
    "KOSDAQ", "KOSDAQ GLOBAL"). Source and quirks: ``../shared/data/krx_daily/SOURCE.md``.
    """
    frame = pd.read_csv(
        path,
        usecols=["code", "name", "market", "date", *_PRICE_COLUMNS],
        dtype={"code": str, "name": str, "market": str, **dict.fromkeys(_PRICE_COLUMNS, "float64")},
        parse_dates=["date"],
    )
    if markets is not None:
        frame = frame[frame["market"].isin(markets)].reset_index(drop=True)
    return frame


def halt_rows(o: np.ndarray, h: np.ndarray, low: np.ndarray, c: np.ndarray, v: np.ndarray) -> np.ndarray:
    """bool: the rows that are KRX trading halts in either recorded form: open = high = low = 0
    with the last close (``krx_daily/``, and 175 rows of ``krx_daily_2006/``), or volume 0 with
    open = high = low = close (``krx_daily_2006/``'s 140,972 halts)."""
    zero = (o == 0) & (h == 0) & (low == 0)
    flat = (v == 0) & (o == h) & (h == low) & (low == c)
    return zero | flat


def panel_from_frame(frame: pd.DataFrame, *, sessions: list[date] | pd.DatetimeIndex | None = None) -> Panel:
    """Long rows -> ``Panel``.

    ``frame``: DataFrame[code, date, open, high, low, close, volume], one row per code and
    session (a stock's missing sessions are simply absent). ``sessions``: the panel's rows; by
    default every KRX session from the first to the last date of the frame. Halt rows of either
    form (``halt_rows``) become ``NaN``. Raises ``ValueError`` on a date that is not a session
    of ``sessions`` or a duplicated (code, date).
    """
    if sessions is None:
        from predictions.sessions import sessions_between

        if frame.empty:
            raise ValueError("no candles to build a panel from")
        sessions = sessions_between(frame["date"].min(), frame["date"].max())
    index = pd.DatetimeIndex(pd.to_datetime(sessions))
    codes = pd.Index(sorted(frame["code"].unique()), dtype=object)
    t = index.get_indexer(pd.DatetimeIndex(frame["date"]))
    if (t < 0).any():
        strays = sorted({str(d.date()) for d in pd.DatetimeIndex(frame["date"][t < 0])})
        raise ValueError(f"{len(strays)} date(s) are not KRX sessions of the panel: {', '.join(strays[:5])}")
    n = codes.get_indexer(frame["code"])
    if pd.Series(t * len(codes) + n).duplicated().any():
        raise ValueError("duplicated (code, date) rows")
    values = {name: frame[name].to_numpy(dtype="float64") for name in _PRICE_COLUMNS}
    halted = halt_rows(values["open"], values["high"], values["low"], values["close"], values["volume"])
    arrays = {}
    for name, column in values.items():
        array = np.full((len(index), len(codes)), np.nan)
        array[t, n] = np.where(halted, np.nan, column)
        arrays[name] = array
    return Panel(index, codes, **arrays)


# -- features -------------------------------------------------------------------------------------


def _lag(x: np.ndarray, k: int) -> np.ndarray:
    """``x`` shifted k sessions later (row t holds row t-k); the first k rows are NaN."""
    out = np.full_like(x, np.nan)
    out[k:] = x[: len(x) - k]
    return out


def _rolling(x: np.ndarray, w: int, reduce) -> np.ndarray:
    """``reduce`` over the w sessions ending at each row (NaN in -> NaN out; the first w-1 rows NaN)."""
    out = np.full_like(x, np.nan)
    if len(x) >= w:
        out[w - 1 :] = reduce(sliding_window_view(x, w, axis=0), axis=-1)
    return out


def complete_windows(panel: Panel, window: int = WINDOW) -> np.ndarray:
    """bool (T, N): the stock traded in every one of the ``window`` sessions ending at t."""
    traded = panel.traded.astype(np.int32)
    counts = np.cumsum(traded, axis=0)
    out = np.zeros(panel.shape, dtype=bool)
    if len(traded) >= window:
        previous = np.vstack([np.zeros((1, traded.shape[1]), np.int32), counts[:-window]])
        out[window - 1 :] = (counts[window - 1 :] - previous) == window
    return out


def _cross_rank(x: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Percentile rank (0, 1] of each stock within its session, among ``valid`` stocks."""
    ranked = pd.DataFrame(np.where(valid, x, np.nan)).rank(axis=1, pct=True)
    return ranked.to_numpy()


def _cross_median(x: np.ndarray, valid: np.ndarray) -> np.ndarray:
    masked = np.where(valid, x, np.nan)
    has_any = valid.any(axis=1)
    median = np.full(len(x), np.nan)
    if has_any.any():
        median[has_any] = np.nanmedian(masked[has_any], axis=1)
    return np.repeat(median[:, None], x.shape[1], axis=1)


FEATURE_NAMES: tuple[str, ...] = (
    # returns: log close-to-close over 1..19 sessions, and the two daily returns before t
    "ret_1",
    "ret_3",
    "ret_5",
    "ret_10",
    "ret_19",
    "ret_1_lag1",
    "ret_1_lag2",
    "gap_1",
    # ranges, candle bodies and wicks, as fractions of the price
    "range_1",
    "range_5",
    "range_20",
    "body_1",
    "body_5",
    "upper_wick_1",
    "lower_wick_1",
    "upper_wick_5",
    "lower_wick_5",
    # moving-average gaps and the place of the close in the 20-session range
    "ma_gap_5",
    "ma_gap_10",
    "ma_gap_20",
    "ma5_over_ma20",
    "position_20",
    "from_high_20",
    "from_low_20",
    # volatility of daily log returns
    "volatility_5",
    "volatility_19",
    # volume changes (log1p shares) and liquidity (log1p traded value, KRW)
    "volume_change_1",
    "volume_1_over_20",
    "volume_5_over_20",
    "zero_volume_20",
    "log_value_20",
    # the stock against the other stocks of the same session
    "ret_5_rank",
    "ret_19_rank",
    "volatility_19_rank",
    "volume_5_over_20_rank",
    "market_ret_1",
    "market_ret_5",
)


def compute_features(panel: Panel, *, window: int = WINDOW) -> np.ndarray:
    """Features of every (session, stock): float32 array (T, N, len(FEATURE_NAMES)).

    Row t uses the sessions t-window+1 .. t only. Entries are ``NaN`` where the window is not
    complete (``complete_windows``): such a stock gets no prediction that session. Cross-sectional
    features (``*_rank``, ``market_*``) compare the stocks of the panel with a complete window in
    the same session, so they depend on the universe (one model per KRX board).
    """
    if window != WINDOW:
        raise ValueError(f"the feature set is defined on {WINDOW}-session windows")
    o, h, low, c, v = panel.open, panel.high, panel.low, panel.close, panel.volume
    complete = complete_windows(panel, window)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_c = np.log(c)
        r = log_c - _lag(log_c, 1)
        top, bottom = np.maximum(o, c), np.minimum(o, c)
        day_range, upper, lower = (h - low) / c, (h - top) / c, (bottom - low) / c
        body = (c - o) / o
        ma5, ma10, ma20 = (_rolling(c, n, np.mean) for n in (5, 10, 20))
        high_20, low_20 = _rolling(h, 20, np.max), _rolling(low, 20, np.min)
        log_v = np.log1p(v)
        mean_v5, mean_v20 = _rolling(v, 5, np.mean), _rolling(v, 20, np.mean)
        f = {
            "ret_1": r,
            "ret_3": log_c - _lag(log_c, 3),
            "ret_5": log_c - _lag(log_c, 5),
            "ret_10": log_c - _lag(log_c, 10),
            "ret_19": log_c - _lag(log_c, 19),
            "ret_1_lag1": _lag(r, 1),
            "ret_1_lag2": _lag(r, 2),
            "gap_1": o / _lag(c, 1) - 1,
            "range_1": day_range,
            "range_5": _rolling(day_range, 5, np.mean),
            "range_20": _rolling(day_range, 20, np.mean),
            "body_1": body,
            "body_5": _rolling(body, 5, np.mean),
            "upper_wick_1": upper,
            "lower_wick_1": lower,
            "upper_wick_5": _rolling(upper, 5, np.mean),
            "lower_wick_5": _rolling(lower, 5, np.mean),
            "ma_gap_5": c / ma5 - 1,
            "ma_gap_10": c / ma10 - 1,
            "ma_gap_20": c / ma20 - 1,
            "ma5_over_ma20": ma5 / ma20 - 1,
            "position_20": (c - low_20) / (high_20 - low_20),  # NaN when the 20 sessions never moved
            "from_high_20": c / high_20 - 1,
            "from_low_20": c / low_20 - 1,
            "volatility_5": _rolling(r, 5, np.std),
            "volatility_19": _rolling(r, 19, np.std),  # 20 closes give 19 returns
            "volume_change_1": log_v - _lag(log_v, 1),
            "volume_1_over_20": log_v - np.log1p(mean_v20),
            "volume_5_over_20": np.log1p(mean_v5) - np.log1p(mean_v20),
            "zero_volume_20": _rolling((v == 0).astype(float), 20, np.mean),
            "log_value_20": np.log1p(_rolling(c * v, 20, np.mean)),
        }
        f["position_20"][~np.isfinite(f["position_20"])] = np.nan
        f["ret_5_rank"] = _cross_rank(f["ret_5"], complete)
        f["ret_19_rank"] = _cross_rank(f["ret_19"], complete)
        f["volatility_19_rank"] = _cross_rank(f["volatility_19"], complete)
        f["volume_5_over_20_rank"] = _cross_rank(f["volume_5_over_20"], complete)
        f["market_ret_1"] = _cross_median(f["ret_1"], complete)
        f["market_ret_5"] = _cross_median(f["ret_5"], complete)
    out = np.empty((*panel.shape, len(FEATURE_NAMES)), dtype=np.float32)
    for k, name in enumerate(FEATURE_NAMES):
        out[..., k] = np.where(complete, f[name], np.nan)
    return out


# -- labels ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Labels:
    """Outcomes of every (session, stock), arrays (T, N).

    ``known``: both closes t and t + horizon exist (the stock traded on both sessions, and the
    panel reaches t + horizon). ``up``: known and close[t+h] >= (1 + up_threshold) * close[t].
    ``down``: known and close[t+h] < close[t]. ``label``: 1.0 up, 0.0 down, NaN otherwise (the
    in-between and the unknown are left out of training and of AUC).
    """

    known: np.ndarray
    up: np.ndarray
    down: np.ndarray

    @property
    def labelled(self) -> np.ndarray:
        return self.up | self.down

    @property
    def label(self) -> np.ndarray:
        out = np.full(self.known.shape, np.nan)
        out[self.up] = 1.0
        out[self.down] = 0.0
        return out


def forward_labels(panel: Panel, *, horizon: int = HORIZON, up_threshold: float = UP_THRESHOLD) -> Labels:
    """The prototype's target, on KRX sessions: up when close[t+h] >= (1 + up_threshold) *
    close[t], down when close[t+h] < close[t], else in-between.

    A halt at t or at t + h leaves the outcome unknown: nobody could buy or sell at those closes.
    """
    c = panel.close
    future = np.full_like(c, np.nan)
    future[: len(c) - horizon] = c[horizon:]
    known = ~np.isnan(c) & ~np.isnan(future)
    with np.errstate(invalid="ignore"):
        up = known & (future >= (1 + up_threshold) * c)
        down = known & (future < c)
    return Labels(known=known, up=up, down=down)


def sample_rows(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(session row, stock column) index arrays of the true cells of ``mask`` (T, N), in
    session order."""
    t, n = np.nonzero(mask)
    return t, n
