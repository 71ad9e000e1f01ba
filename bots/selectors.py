"""Reads for the breakout bot and backtester: a user's bots, decisions and backtests, and an
instrument's daily candles as the arrays ``bots.breakout`` works on."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import numpy as np
from django.db.models import OuterRef, QuerySet, Subquery, Sum

from bots import breakout
from bots.models import Backtest, Bot, BotDecision
from markets.calendars import SEOUL, krx_calendar, krx_session_dates, krx_session_opens  # noqa: F401  (re-exported)
from markets.models import Candle, Instrument, Market
from trading.models import Fill, Lot, Order


def bot_list(*, user) -> QuerySet[Bot]:
    return Bot.objects.filter(user=user).select_related("instrument")


def bot_list_with_last_decision(*, user) -> QuerySet[Bot]:
    """The user's bots with their newest decision annotated: ``last_action``, ``last_reason``,
    ``last_time`` (UTC; null when the bot has decided nothing yet)."""
    newest = BotDecision.objects.filter(bot=OuterRef("pk")).order_by("-time", "-id")
    return bot_list(user=user).annotate(
        last_action=Subquery(newest.values("action")[:1]),
        last_reason=Subquery(newest.values("reason")[:1]),
        last_time=Subquery(newest.values("time")[:1]),
    )


def _order_prefix(bot: Bot) -> str:
    # every order a bot places carries client_order_id bot<id>-... (bots.services)
    return f"bot{bot.pk}-"


def bot_order_list(*, bot: Bot) -> QuerySet[Order]:
    """The bot's orders (its ``client_order_id`` prefix ``bot<id>-``), newest first."""
    return (
        Order.objects.filter(user_id=bot.user_id, client_order_id__startswith=_order_prefix(bot))
        .select_related("instrument")
        .order_by("-created_at", "-id")
    )


def bot_fill_list(*, bot: Bot) -> QuerySet[Fill]:
    """The fills of the bot's orders, newest first."""
    return (
        Fill.objects.filter(order__user_id=bot.user_id, order__client_order_id__startswith=_order_prefix(bot))
        .select_related("order", "order__instrument")
        .order_by("-created_at", "-id")
    )


@dataclass(frozen=True)
class BotProfit:
    """A bot's P&L in one quote currency: ``realized`` (its lots' realized P&L: net proceeds of
    what was sold minus its cost basis, buy and sell fees and tax included), ``unrealized`` (what
    its open lots are worth at the last price minus their remaining cost; None when an open lot's
    instrument has no price), ``fees`` (commission and tax paid on its fills), ``open_cost``."""

    currency: str
    realized: Decimal
    unrealized: Decimal | None
    fees: Decimal
    open_cost: Decimal

    @property
    def total(self) -> Decimal | None:
        return None if self.unrealized is None else self.realized + self.unrealized

    @property
    def shown(self) -> Decimal:
        """The total, or the realized P&L alone when an open lot has no price."""
        return self.realized if self.total is None else self.total


def bot_profit(*, bot: Bot) -> list[BotProfit]:
    """The bot's profit per quote currency, from the lots its buy fills opened (``trading.Lot``,
    first-in first-out) and the instruments' stored last prices (``markets.Ticker``)."""
    lots = Lot.objects.filter(
        user_id=bot.user_id, fill__order__client_order_id__startswith=_order_prefix(bot)
    ).select_related("instrument", "instrument__ticker")
    fees: dict[str, Decimal] = {}
    for row in (
        bot_fill_list(bot=bot).values("order__instrument__quote").annotate(fee=Sum("fee"), tax=Sum("tax")).order_by()
    ):
        fees[row["order__instrument__quote"]] = (row["fee"] or Decimal(0)) + (row["tax"] or Decimal(0))
    by_currency: dict[str, dict] = {}
    for lot in lots:
        entry = by_currency.setdefault(
            lot.instrument.quote, {"realized": Decimal(0), "unrealized": Decimal(0), "open_cost": Decimal(0)}
        )
        entry["realized"] += lot.realized_pnl
        if lot.remaining > 0:
            entry["open_cost"] += lot.remaining_cost
            ticker = getattr(lot.instrument, "ticker", None)
            if ticker is None or entry["unrealized"] is None:
                entry["unrealized"] = None
            else:
                entry["unrealized"] += lot.remaining * ticker.last_price - lot.remaining_cost
    return [
        BotProfit(
            currency=currency,
            realized=entry["realized"],
            unrealized=entry["unrealized"],
            fees=fees.get(currency, Decimal(0)),
            open_cost=entry["open_cost"],
        )
        for currency, entry in sorted(by_currency.items())
    ]


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
