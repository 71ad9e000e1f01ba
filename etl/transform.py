"""Trades -> per-minute taker buy and sell volume: the vectorized core of the ETL.

Pipeline (every step works on whole columns; nothing loops per trade in Python):

1. ``normalize(raw, pair)``: parsed trades (decimal text) -> ``TradeBatch`` in exact integer units:
   ``base`` (BTC) and ``quote`` (USDT, USD, KRW) per trade, inverse contracts converted;
2. ``deduplicate(batch)``: one row per exchange trade id (the same trade in two pages or files);
3. ``continuous_spans(batch)``: the stretches of time the batch saw completely;
4. ``minute_totals(batch, spans)``: per minute ``[t, t+60 s)`` UTC of the trade's own timestamp:
   taker buy/sell base volume, buy/sell quote value, trade count, and whether the batch saw the
   whole minute.

Exactness: quantities and values are int64 units of ``10**-scale`` (see ``etl.decimals``), so
sums are exact integers; a per-minute sum that could leave int64 is summed in Python integers
instead (one Python step per minute, never per trade). Inverse contracts are converted per trade
as ``round_half_even(contracts x contract_size / price)`` to 1e-12 BTC (the database keeps 12
places); that rounding is the only one in the pipeline, documented in ``INVERSE_BASE_SCALE``.

Taker side: ``is_buy`` is True when the taker (the aggressor) bought. The source parsers map each
exchange's field to it (``etl.formats``).

No Django imports: used alone by the tests of the math and by ``bench/etl.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from etl import decimals
from etl.pairs import INVERSE, Pair

RAW_COLUMNS = ("trade_id", "ts_us", "is_buy", "price", "amount")
"""Columns of parsed trades: exchange trade id (int64 or str), time (int64 epoch microseconds,
UTC), taker side (bool, True = taker bought), price and amount as decimal text. An optional
bool column ``no_taker`` flags fills without an aggressor (Binance insurance-fund/ADL): they are
left out of the sums but their ids still count as seen."""

MINUTE_US = 60_000_000
MAX_SILENCE_US = 5 * MINUTE_US
"""A stretch longer than this without a trade is never vouched for, even inside one file or
with consecutive ids: BTC markets trade many times a minute, so such a silence means the feed or
the recording stopped, and claiming it would write a zero row for every minute of it."""
MAX_SCALE = 12  # decimal places of the database columns
INVERSE_BASE_SCALE = 12
"""Inverse contracts: BTC = contracts x contract size / price has no finite decimal expansion in
general; each trade's BTC is rounded half-even to 1e-12 BTC (the column's last place, 10,000x
finer than a satoshi) before summing. The USD value (contracts x size) stays exact."""


class DuplicateTradeConflict(ValueError):
    """Two rows share an exchange trade id but differ in time, side or amount."""


@dataclass
class TradeBatch:
    """Trades of one pair in exact units, sorted by time.

    ``columns``: equal-length numpy arrays ``trade_id`` (int64 | str), ``ts_us`` (int64 epoch µs
    UTC), ``is_buy`` (bool), ``base`` (int64 units of 10**-base_scale base asset), ``quote``
    (int64 units of 10**-quote_scale quote currency). Plain arrays rather than a DataFrame: a
    DataFrame would copy the int64 columns into one block on construction, which cost more
    than the whole aggregation. ``frame`` builds one for inspection.
    ``sequential_ids``: ids are consecutive integers (Binance), so a jump proves a gap.
    ``no_taker``: DataFrame[trade_id, ts_us] of fills seen but not counted (no aggressor).
    """

    columns: dict[str, np.ndarray]
    base_scale: int
    quote_scale: int
    sequential_ids: bool = False
    no_taker: pd.DataFrame | None = None

    def __len__(self) -> int:
        return len(self.columns["ts_us"])

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    @property
    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.columns)

    def select(self, mask: np.ndarray) -> dict[str, np.ndarray]:
        return {name: values[mask] for name, values in self.columns.items()}


@dataclass(frozen=True)
class Span:
    """A stretch of time in which every trade was seen: ``[start_us, end_us]``, epoch µs.

    A batch vouches for its instants strictly after its first trade's (trades sharing that
    instant may sit in an earlier page or file), up to its last trade's instant: a minute
    never contains the instant that ends it, so trusting the last instant cannot mark a minute
    complete early, while trusting the first one could.

    ``first_id``/``last_id`` are the trade ids at its ends (text), used to join spans of
    sequential-id exchanges that meet exactly (last id + 1 == first id).
    """

    start_us: int
    end_us: int
    first_id: str = ""
    last_id: str = ""

    def covers(self, minutes: np.ndarray) -> np.ndarray:
        """Which of ``minutes`` (int64 minute numbers since the epoch) lie wholly inside."""
        start = minutes * MINUTE_US
        return (start >= self.start_us) & (start + MINUTE_US <= self.end_us)


def empty_raw() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "trade_id": pd.Series([], dtype=object),
            "ts_us": pd.Series([], dtype=np.int64),
            "is_buy": pd.Series([], dtype=bool),
            "price": pd.Series([], dtype=object),
            "amount": pd.Series([], dtype=object),
        }
    )


def normalize(raw: pd.DataFrame, pair: Pair) -> TradeBatch:
    """Parsed trades (``RAW_COLUMNS``) of ``pair`` -> ``TradeBatch`` in exact units, sorted by time.

    Linear pairs: base = amount, quote = price x amount. Inverse pairs: quote = contracts x
    contract size, base = that / price rounded half-even to 1e-12 (``INVERSE_BASE_SCALE``).
    Raises ``ValueError`` on malformed numbers, a non-positive price, or a value needing more
    than 12 decimal places; ``OverflowError`` when units would leave int64.
    """
    missing = set(RAW_COLUMNS) - set(raw.columns)
    if missing:
        raise ValueError(f"trades lack columns {sorted(missing)}")
    ts = raw["ts_us"].to_numpy(dtype=np.int64)
    order = None if ts.size < 2 or bool((ts[1:] >= ts[:-1]).all()) else np.argsort(ts, kind="stable")
    if order is not None:
        raw = raw.iloc[order]
        ts = ts[order]
    no_taker = None
    if "no_taker" in raw.columns:
        flagged = raw["no_taker"].to_numpy(dtype=bool)
        no_taker = pd.DataFrame({"trade_id": raw["trade_id"].to_numpy()[flagged], "ts_us": ts[flagged]})
        raw, ts = raw[~flagged], ts[~flagged]
    price, price_scale = decimals.parse_units(raw["price"].to_numpy(), what="price")
    amount, amount_scale = decimals.parse_units(raw["amount"].to_numpy(), what="amount")
    return from_units(
        pair,
        trade_id=raw["trade_id"].to_numpy(),
        ts_us=ts,
        is_buy=raw["is_buy"].to_numpy(dtype=bool),
        price=price,
        price_scale=price_scale,
        amount=amount,
        amount_scale=amount_scale,
        no_taker=no_taker,
    )


def from_units(
    pair: Pair,
    *,
    trade_id: np.ndarray,
    ts_us: np.ndarray,
    is_buy: np.ndarray,
    price: np.ndarray,
    price_scale: int,
    amount: np.ndarray,
    amount_scale: int,
    no_taker: pd.DataFrame | None = None,
) -> TradeBatch:
    """Trades already in exact units (price and amount as int64 units of 10**-scale), sorted
    by ``ts_us`` -> ``TradeBatch``: base volume and quote value per trade (see ``normalize``)."""
    if price.size and int(price.min()) <= 0:
        raise ValueError("price must be positive")

    if pair.kind == INVERSE:
        size_units = decimals.from_decimal(pair.contract_size, 12)
        size_units, size_scale = decimals.reduce_scale(np.array([size_units], dtype=np.int64), 12)
        quote = decimals.multiply(amount, np.broadcast_to(size_units, amount.shape), what="contract value")
        quote_scale = amount_scale + size_scale
        # BTC units at 1e-12 = contracts*size_units * 10**(12 + price_scale - quote_scale) / price
        power = INVERSE_BASE_SCALE + price_scale - quote_scale
        if power >= 0:
            base = decimals.divide_round_half_even(10**power, quote, price)
        else:  # finer contract sizes than 1e-12 BTC would need: not a real contract
            raise ValueError("contract value has more decimal places than the 1e-12 BTC base scale")
        base_scale = INVERSE_BASE_SCALE
    else:
        base, base_scale = amount, amount_scale
        quote = decimals.multiply(price, amount, what="trade value")
        quote_scale = price_scale + amount_scale
        if quote_scale > MAX_SCALE:  # trailing zeros may still bring it within the columns' places
            quote, quote_scale = decimals.reduce_scale(quote, quote_scale)
    if base_scale > MAX_SCALE or quote_scale > MAX_SCALE:
        raise ValueError(f"amounts need {max(base_scale, quote_scale)} decimal places; the database keeps {MAX_SCALE}")

    columns = {"trade_id": trade_id, "ts_us": ts_us, "is_buy": is_buy, "base": base, "quote": quote}
    return TradeBatch(columns, base_scale, quote_scale, sequential_ids=pair.sequential_ids, no_taker=no_taker)


def deduplicate(batch: TradeBatch) -> tuple[TradeBatch, int]:
    """Keep the first row of each exchange trade id; returns the batch and how many rows went.

    A duplicate that differs from the first row in time, side or amounts is not the same trade
    counted twice but bad data: ``DuplicateTradeConflict``.
    """
    values = batch["trade_id"]
    if values.dtype.kind in "iu" and (values.size < 2 or bool((values[1:] > values[:-1]).all())):
        return batch, 0  # strictly increasing ids (Binance, in time order): no duplicates
    ids = pd.Series(values)
    dup = ids.duplicated(keep="first").to_numpy()
    if not dup.any():
        return batch, 0
    repeated = pd.DataFrame(batch.select(ids.isin(ids[dup]).to_numpy()))
    variants = repeated.drop_duplicates(subset=["trade_id", "ts_us", "is_buy", "base", "quote"])
    if variants["trade_id"].duplicated().any():
        bad = variants.loc[variants["trade_id"].duplicated(), "trade_id"].iloc[0]
        raise DuplicateTradeConflict(f"trade id {bad!r} appears with different time, side or amount")
    kept = batch.select(~dup)
    return TradeBatch(kept, batch.base_scale, batch.quote_scale, batch.sequential_ids, batch.no_taker), int(dup.sum())


def continuous_spans(batch: TradeBatch, *, start_us: int | None = None, end_us: int | None = None) -> list[Span]:
    """The stretches of time ``batch`` saw completely, oldest first.

    One span from just after the first trade's instant to the last trade's, split where
    sequential ids jump (a provable gap) and where trades fall silent for longer than
    ``MAX_SILENCE_US``. ``start_us`` / ``end_us`` replace the first span's
    start and the last span's end when the caller knows better (a live fetch that proved it
    continues the stored cursor; one that saw whole seconds only). Spans left empty (all
    trades at one instant) are dropped: they vouch for nothing.
    """
    ts, ids = batch["ts_us"], batch["trade_id"]
    if batch.no_taker is not None and len(batch.no_taker):
        seen = pd.DataFrame(
            {
                "trade_id": np.concatenate([ids, batch.no_taker["trade_id"].to_numpy()]),
                "ts_us": np.concatenate([ts, batch.no_taker["ts_us"].to_numpy()]),
            }
        )
        seen = seen.drop_duplicates("trade_id").sort_values("ts_us", kind="stable")
        ts, ids = seen["ts_us"].to_numpy(), seen["trade_id"].to_numpy()
    if ts.size == 0:
        return []
    sequential = batch.sequential_ids and ids.dtype.kind in "iu"
    if sequential and not (ids.size < 2 or bool((ids[1:] > ids[:-1]).all())):
        order = np.argsort(ids, kind="stable")
        ids, ts = ids[order], ts[order]
    gap = (ts[1:] - ts[:-1]) > MAX_SILENCE_US
    # increasing ids without a jump span exactly last - first + 1 values: no need to look further
    if sequential and int(ids[-1]) - int(ids[0]) != ids.size - 1:
        gap |= (ids[1:] - ids[:-1]) != 1  # a jump in ids proves missing trades
    cuts = np.flatnonzero(gap) + 1
    bounds = np.concatenate(([0], cuts, [ids.size]))
    spans = []
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=False):  # one step per gap, not per trade
        seg = ts[lo:hi]
        spans.append(Span(int(seg.min()) + 1, int(seg.max()), str(ids[lo]), str(ids[hi - 1])))
    spans.sort(key=lambda s: s.start_us)
    if start_us is not None:
        spans[0] = Span(start_us, spans[0].end_us, spans[0].first_id, spans[0].last_id)
    if end_us is not None:
        spans[-1] = Span(spans[-1].start_us, end_us, spans[-1].first_id, spans[-1].last_id)
    return [s for s in spans if s.start_us <= s.end_us]


def covered(minutes: np.ndarray, spans: list[Span]) -> np.ndarray:
    """Per minute number: True when one of ``spans`` contains the whole minute."""
    result = np.zeros(minutes.shape, dtype=bool)
    for span in spans:
        result |= span.covers(minutes)
    return result


def segment_sums(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Sums of ``values[starts[i]:starts[i+1]]`` for non-negative int64 ``values``, exact.

    int64 when no sum can leave int64 (decided on the grand total); otherwise an object array
    of Python ints built from 31-bit halves (per segment, never per element).
    """
    if values.size == 0:
        return np.zeros(0, dtype=np.int64)
    if float(values.sum(dtype=np.float64)) < decimals.INT64_SAFE:
        return np.add.reduceat(values, starts)
    high = np.add.reduceat(values >> 31, starts)
    low = np.add.reduceat(values & ((1 << 31) - 1), starts)
    return np.array([int(h) * (1 << 31) + int(lo) for h, lo in zip(high, low, strict=False)], dtype=object)


def sum_by_minute(minute: np.ndarray, is_buy: np.ndarray, base: np.ndarray, quote: np.ndarray) -> pd.DataFrame:
    """Per-minute taker totals of trades sorted by ``minute`` (int64 minute numbers).

    Returns DataFrame indexed by minute with ``buy_base``, ``sell_base`` (base units),
    ``buy_quote``, ``sell_quote`` (quote units), ``trades`` (count).
    """
    if minute.size == 0:
        return pd.DataFrame(
            columns=["buy_base", "sell_base", "buy_quote", "sell_quote", "trades"],
            index=pd.Index([], dtype=np.int64, name="minute"),
        )
    starts = np.concatenate(([0], np.flatnonzero(minute[1:] != minute[:-1]) + 1))
    total_base = segment_sums(base, starts)
    buy_base = segment_sums(np.where(is_buy, base, 0), starts)
    total_quote = segment_sums(quote, starts)
    buy_quote = segment_sums(np.where(is_buy, quote, 0), starts)
    return pd.DataFrame(
        {
            "buy_base": buy_base,
            "sell_base": total_base - buy_base,
            "buy_quote": buy_quote,
            "sell_quote": total_quote - buy_quote,
            "trades": np.diff(np.append(starts, minute.size)).astype(np.int64),
        },
        index=pd.Index(minute[starts], name="minute"),
    )


@dataclass
class MinuteTotals:
    """Per-minute results of one batch.

    ``frame``: DataFrame indexed by ``minute`` (int64 minutes since the epoch; the minute starts
    at ``minute * 60`` s UTC) with ``buy_base``, ``sell_base`` (units of 10**-base_scale),
    ``buy_quote``, ``sell_quote`` (units of 10**-quote_scale), ``trades`` (int) and ``complete``
    (bool: the batch saw the whole minute). Minutes inside a span without trades appear with
    zeros. ``partial_trades`` are the batch's trades of the incomplete minutes (with a
    ``minute`` column): those a later batch may have to be combined with.
    """

    frame: pd.DataFrame
    base_scale: int
    quote_scale: int
    partial_trades: pd.DataFrame


def minute_totals(batch: TradeBatch, spans: list[Span]) -> MinuteTotals:
    """Group ``batch`` (deduplicated, sorted by time) by minute; see ``MinuteTotals``."""
    minute = batch["ts_us"] // MINUTE_US
    sums = sum_by_minute(minute, batch["is_buy"], batch["base"], batch["quote"])
    # minutes strictly inside a span that had no trade still count: zero volume, seen whole
    inner = [np.arange(s.start_us // MINUTE_US, s.end_us // MINUTE_US + 1, dtype=np.int64) for s in spans]
    all_minutes = np.union1d(sums.index.to_numpy(), np.concatenate(inner)) if inner else sums.index.to_numpy()
    if len(all_minutes) != len(sums):
        sums = sums.reindex(all_minutes, fill_value=0)
        sums.index.name = "minute"
    sums["complete"] = covered(sums.index.to_numpy(), spans)
    partial = sums.index[~sums["complete"].to_numpy()].to_numpy()
    # trades are sorted by time: each partial minute is one slice of them
    edge_mask = np.zeros(minute.size, dtype=bool)
    for lo, hi in zip(
        np.searchsorted(minute, partial, "left"), np.searchsorted(minute, partial, "right"), strict=False
    ):
        edge_mask[lo:hi] = True
    partial_trades = pd.DataFrame({**batch.select(edge_mask), "minute": minute[edge_mask]})
    return MinuteTotals(sums, batch.base_scale, batch.quote_scale, partial_trades)


def transform(raw: pd.DataFrame, pair: Pair, *, start_us: int | None = None, end_us: int | None = None):
    """``normalize`` + ``deduplicate`` + ``continuous_spans`` + ``minute_totals`` in one call.

    Returns ``(batch, duplicates_dropped, spans, totals)``.
    """
    batch, dropped = deduplicate(normalize(raw, pair))
    spans = continuous_spans(batch, start_us=start_us, end_us=end_us)
    return batch, dropped, spans, minute_totals(batch, spans)
