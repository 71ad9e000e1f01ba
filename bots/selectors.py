"""Reads for the breakout bot and backtester: a user's bots, decisions and backtests, and an
instrument's daily candles as the arrays ``bots.breakout`` works on."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np
from django.db.models import QuerySet

from bots import breakout
from bots.models import Backtest, Bot, BotDecision
from markets.calendars import SEOUL, krx_calendar, krx_session_dates, krx_session_opens  # noqa: F401  (re-exported)
from markets.models import Candle, Instrument, Market


def bot_list(*, user) -> QuerySet[Bot]:
    return Bot.objects.filter(user=user).select_related("instrument")


def bot_decision_list(*, bot: Bot) -> QuerySet[BotDecision]:
    return BotDecision.objects.filter(bot=bot)


def backtest_list(*, user) -> QuerySet[Backtest]:
    return Backtest.objects.filter(user=user).select_related("instrument")


@dataclass(frozen=True)
class DailyBars:
    """An instrument's daily candles, oldest first: ``dates`` datetime64[D] (the KST date of
    each candle's open: the crypto day, the KRX session date), ``open/high/low/close`` float64
    in the quote currency, ``follows`` (the row is the day after the previous row; see
    ``breakout``). ``periods_per_year``: 365 for crypto days, 252 for KRX sessions."""

    dates: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    follows: np.ndarray
    periods_per_year: int

    def __len__(self) -> int:
        return len(self.dates)


def kst_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=SEOUL)


# krx_calendar, krx_session_dates, krx_session_opens: from markets.calendars, re-exported here.


def follows_for(instrument: Instrument, dates: np.ndarray) -> np.ndarray:
    """Adjacency of daily rows: calendar days for crypto, XKRX sessions for KRX stocks (so a
    weekend is no gap, a trading halt is). Raises ``ValueError`` for a KRX date that is not a
    session."""
    if instrument.market == Market.KRX:
        return breakout.follows_by_sessions(dates, krx_session_dates())
    return breakout.follows_by_calendar(dates)


def daily_bars(
    *, instrument: Instrument, before: date | None = None, until: date | None = None, last: int | None = None
) -> DailyBars:
    """The instrument's stored ``1d`` candles dated before ``before`` (exclusive) or up to
    ``until`` (inclusive), all of them or the ``last`` N. Prices leave ``Decimal`` for float64
    here: the strategy's statistics are float math, the books stay ``Decimal``."""
    candles = Candle.objects.filter(instrument=instrument, interval="1d")
    if before is not None:
        candles = candles.filter(open_time__lt=kst_midnight(before))
    if until is not None:
        candles = candles.filter(open_time__lt=kst_midnight(until + timedelta(days=1)))
    ordered = candles.order_by("-open_time" if last else "open_time").values_list(
        "open_time", "open", "high", "low", "close"
    )
    rows = list(ordered[:last]) if last else list(ordered)
    if last:
        rows.reverse()
    dates = np.array([when.astimezone(SEOUL).date() for when, *_ in rows], dtype="datetime64[D]")
    prices = np.array([[float(v) for v in row[1:]] for row in rows], dtype=np.float64).reshape(len(rows), 4)
    return DailyBars(
        dates=dates,
        open=prices[:, 0],
        high=prices[:, 1],
        low=prices[:, 2],
        close=prices[:, 3],
        follows=follows_for(instrument, dates),
        periods_per_year=252 if instrument.market == Market.KRX else 365,
    )


def krx_codes_in_use() -> list[tuple[str, datetime]]:
    """KRX stock codes with an enabled bot or a bot still holding, with the bot's ``updated_at``
    (UTC): ``[(code, when)]``, for the KIS realtime planner (``KIS_REALTIME["STOCK_FUNCTIONS"]``)."""
    from django.db.models import Max, Q

    rows = (
        Bot.objects.filter(Q(enabled=True) | Q(holding_quantity__gt=0), instrument__market=Market.KRX)
        .values("instrument__symbol")
        .annotate(when=Max("updated_at"))
    )
    return [(row["instrument__symbol"], row["when"]) for row in rows]
