"""Breakout bot and backtest writes: bots, their day roll and entry checks, stored backtests.

The strategy is ``bots.breakout`` (pure math); this module feeds it an instrument's stored
daily candles and acts on its answer. A bot's day (``strategy_day``):

- crypto: from ``TRADING["BOT_DAY_BOUNDARY"]`` (Asia/Seoul) of the exchange, where its daily
  candles open: Bithumb 00:00 KST, Upbit 09:00 KST (= 00:00 UTC);
- KRX: a session, from its open (09:00 KST; exchange-calendars XKRX), to the next session's
  open, so weekends and holidays are no days.

At the first check of a new day (the beat, or a tick of the instrument) the bot **rolls**: it
sells what it bought the day before with a market order (the open), then computes today's k
(fixed, or best K over ``lookback`` days) and target from yesterday's candle and today's open,
exactly as the backtester does. On each later check it **enters once** when the last price
reaches the target, with a market order. Orders go through ``trading.services.order_place`` with
``client_order_id`` ``bot<id>-<day>-entry`` / ``bot<id>-<entry day>-exit``, so a repeated check
never places twice. Every decision is a ``BotDecision``. A missing price or candle makes the bot
wait (logged once) until a later check; a rejected order is logged and not retried that day.

Each check locks the bot row (``select_for_update``) before ``order_place`` locks the wallet and
position, so the lock order is bot, wallet, position, order everywhere.
"""

import logging
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import TypedDict

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string

from accounts.events import BOT_ENTERED, BOT_EXITED, account_event
from bots import breakout
from bots.locks import bot_qs_select_for_update
from bots.models import Backtest, Bot, BotDecision
from bots.selectors import daily_bars, follows_for, krx_session_dates, krx_session_opens, kst_midnight
from core.exceptions import DomainError
from core.money import cash_exponent, plain
from markets.clock import market_now
from markets.importers import unified_symbol
from markets.models import Candle, Instrument, Market, Ticker
from trading import holding, rules
from trading import services as trading_services
from trading.models import Lot, Order, Position, Wallet

logger = logging.getLogger(__name__)

PRICE_EXPONENT = Decimal("0.00000001")
MAX_DAYS = 365  # longest lookback or moving average accepted


class InvalidBot(DomainError):
    code = "invalid_bot"


class InvalidBacktest(DomainError):
    code = "invalid_backtest"


def _config():
    return settings.TRADING


# --- strategy days ------------------------------------------------------------------------


@dataclass(frozen=True)
class StrategyDay:
    """A bot's trading day: ``day`` (its date: the crypto day, the KRX session), ``start`` (when
    it began, aware) and ``previous`` (the day before: the previous calendar day or session)."""

    day: date
    start: datetime
    previous: date


def day_boundary(exchange: str) -> time:
    """Where a crypto exchange's day starts, Asia/Seoul (``TRADING["BOT_DAY_BOUNDARY"]``)."""
    table = _config()["BOT_DAY_BOUNDARY"]
    return time.fromisoformat(table.get(exchange, table["default"]))


def strategy_day(instrument: Instrument, now: datetime) -> StrategyDay:
    """The strategy day ``now`` falls in, for ``instrument``'s market (see the module docstring)."""
    if instrument.market == Market.KRX:
        opens = krx_session_opens()
        index = (
            int(np.searchsorted(opens, np.datetime64(now.astimezone(UTC).replace(tzinfo=None), "ns"), side="right")) - 1
        )
        if index < 1:
            raise InvalidBot("The KRX calendar has no session before this time.", field="instrument")
        sessions = krx_session_dates()
        start = opens[index].astype("datetime64[us]").item().replace(tzinfo=UTC)
        return StrategyDay(day=sessions[index].item(), start=start, previous=sessions[index - 1].item())
    boundary = day_boundary(instrument.exchange)
    local = now.astimezone(rules.SEOUL)
    day = (local - timedelta(hours=boundary.hour, minutes=boundary.minute)).date()
    return StrategyDay(
        day=day, start=datetime.combine(day, boundary, tzinfo=rules.SEOUL), previous=day - timedelta(days=1)
    )


def instrument_costs(instrument: Instrument) -> breakout.Costs:
    """What the paper account charges on this instrument: the exchange's fee, the market-order
    slippage and, on KRX, the sell tax (``TRADING`` settings)."""
    return breakout.Costs(
        fee_bps=float(_config()["FEE_BPS"].get(instrument.exchange, 0)),
        slippage_bps=float(_config()["SLIPPAGE_BPS"]),
        sell_tax_bps=float(_config()["KRX_SELL_TAX_BPS"]) if instrument.market == Market.KRX else 0.0,
    )


def _inst(bot: Bot) -> Instrument:
    """A breakout bot's instrument (a predictions bot has none)."""
    if bot.instrument is None:
        raise InvalidBot("A predictions bot trades no single instrument.", field="instrument")
    return bot.instrument


_plain = plain  # a decimal for a reason text: 159680000, 0.5, 0.03098628


def _decimal(value: float, exponent: Decimal = PRICE_EXPONENT) -> Decimal:
    """A float from the strategy math as a Decimal (through its shortest repr, not its binary
    expansion), quantized for the price columns."""
    return Decimal(repr(float(value))).quantize(exponent)


# --- bots: settings -------------------------------------------------------------------------


def _check_exit(exit_after_sessions) -> int | None:
    """``exit_after_sessions``: None (sell at the next day's open), or 1..60 sessions."""
    if exit_after_sessions is None:
        return None
    limit = trading_services.MAX_EXIT_SESSIONS
    if isinstance(exit_after_sessions, bool) or not isinstance(exit_after_sessions, int):
        raise InvalidBot(f"exit_after_sessions must be a whole number from 1 to {limit}.", field="exit_after_sessions")
    if not 1 <= exit_after_sessions <= limit:
        raise InvalidBot(f"exit_after_sessions must be from 1 to {limit}.", field="exit_after_sessions")
    return exit_after_sessions


def _check_settings(*, k_mode, k, lookback, ma_window, fraction) -> tuple[str, Decimal, int, int, Decimal]:
    if k_mode not in Bot.KMode.values:
        raise InvalidBot(f"Must be one of {', '.join(Bot.KMode.values)}.", field="k_mode")
    try:
        k, fraction = Decimal(str(k)), Decimal(str(fraction))
    except InvalidOperation:
        raise InvalidBot("k and fraction must be numbers.", field="k") from None
    if not (k.is_finite() and 0 <= k <= 1):
        raise InvalidBot("k must be between 0 and 1.", field="k")
    if not (fraction.is_finite() and 0 < fraction <= 1):
        raise InvalidBot("fraction must be above 0 and at most 1 (of the available cash).", field="fraction")
    if not (isinstance(lookback, int) and 1 <= lookback <= MAX_DAYS):
        raise InvalidBot(f"lookback must be a whole number of days from 1 to {MAX_DAYS}.", field="lookback")
    if not (isinstance(ma_window, int) and 0 <= ma_window <= MAX_DAYS):
        raise InvalidBot(f"ma_window must be a whole number of days from 0 (off) to {MAX_DAYS}.", field="ma_window")
    return k_mode, k, lookback, ma_window, fraction


@transaction.atomic
def bot_create(
    *,
    user,
    instrument_id: int,
    k_mode: str = Bot.KMode.FIXED,
    k=Decimal("0.5"),
    lookback: int = 20,
    ma_window: int = 5,
    fraction=Decimal("0.5"),
    enabled: bool = True,
    name: str = "",
    exit_after_sessions: int | None = None,
) -> Bot:
    """Create the user's bot on an active instrument; it starts at the next check (beat or
    tick). Raises ``InvalidBot`` (400, field named) for bad settings, an unknown instrument, a
    quote currency without a wallet, or a second bot on the same instrument."""
    instrument = Instrument.objects.filter(pk=instrument_id, active=True).first()
    if instrument is None:
        raise InvalidBot("No active instrument with this id.", field="instrument")
    if instrument.quote not in _config()["STARTING_CASH"]:
        raise InvalidBot(
            f"There is no {instrument.quote} wallet: this instrument cannot be traded.", field="instrument"
        )
    k_mode, k, lookback, ma_window, fraction = _check_settings(
        k_mode=k_mode, k=k, lookback=lookback, ma_window=ma_window, fraction=fraction
    )
    exit_after_sessions = _check_exit(exit_after_sessions)
    if Bot.objects.filter(user=user, instrument=instrument).exists():
        raise InvalidBot("You already have a bot on this instrument.", field="instrument")
    try:
        with transaction.atomic():
            return Bot.objects.create(
                user=user,
                instrument=instrument,
                name=name,
                k_mode=k_mode,
                k=k,
                lookback=lookback,
                ma_window=ma_window,
                fraction=fraction,
                enabled=enabled,
                exit_after_sessions=exit_after_sessions,
                state_reason="starts at the next check",
            )
    except IntegrityError:  # a concurrent create of the same pair
        raise InvalidBot("You already have a bot on this instrument.", field="instrument") from None


@transaction.atomic
def bot_update(
    *,
    bot: Bot,
    name: str | None = None,
    k_mode: str | None = None,
    k=None,
    lookback: int | None = None,
    ma_window: int | None = None,
    fraction=None,
    enabled: bool | None = None,
    exit_after_sessions: int | None | object = ...,
) -> Bot:
    """Change a bot's settings (None = keep). New k, lookback, filter and fraction apply from
    the next day roll (today's target stands); disabling stops entries at once but the bot
    still sells what it holds at the next day boundary; enabling again takes effect at the next
    day roll. Raises ``InvalidBot`` as ``bot_create``."""
    bot = bot_qs_select_for_update(pk=bot.pk).get()
    k_mode, k, lookback, ma_window, fraction = _check_settings(
        k_mode=bot.k_mode if k_mode is None else k_mode,
        k=bot.k if k is None else k,
        lookback=bot.lookback if lookback is None else lookback,
        ma_window=bot.ma_window if ma_window is None else ma_window,
        fraction=bot.fraction if fraction is None else fraction,
    )
    bot.k_mode, bot.k, bot.lookback, bot.ma_window, bot.fraction = k_mode, k, lookback, ma_window, fraction
    if exit_after_sessions is not ...:  # None clears it: back to selling at the next open
        bot.exit_after_sessions = _check_exit(exit_after_sessions)
    if name is not None:
        bot.name = name
    if enabled is not None and enabled != bot.enabled:
        bot.enabled = enabled
        if not enabled and bot.state == Bot.State.ARMED:
            bot.state, bot.state_reason = Bot.State.OUT, "disabled"
    bot.save()
    return bot


@transaction.atomic
def bot_delete(*, bot: Bot) -> None:
    """Delete a bot and its decision log. What it holds stays in the account as an ordinary
    position; its orders and fills stay in the books."""
    Bot.objects.filter(pk=bot.pk).delete()


# --- bots: decisions ------------------------------------------------------------------------


class _TargetLog(TypedDict):
    """What the decisions of an entry or exit check record besides action and reason."""

    now: datetime
    day: date
    target: Decimal | None
    k: Decimal | None


class _OpenLog(TypedDict):
    """What the decisions of a day roll record besides action and reason."""

    now: datetime
    day: date
    price: Decimal | None


def _decision_symbol(bot: Bot, order: Order | None) -> str:
    """The traded symbol of a decision: its order's, else the breakout bot's one instrument
    (a predictions bot trades many)."""
    if order is not None:
        return order.instrument.symbol
    return bot.instrument.symbol if bot.instrument is not None else ""


def _decide(
    bot: Bot,
    *,
    action: str,
    reason: str,
    now: datetime,
    day: date,
    price: Decimal | None = None,
    target: Decimal | None = None,
    k: Decimal | None = None,
    order: Order | None = None,
    state: str | None = None,
) -> None:
    """Log a decision (a repeated wait for the same reason on the same day once) and set the
    bot's state."""
    if state is not None:
        bot.state = state
    bot.state_reason = reason[:300]
    if action == BotDecision.Action.WAIT:
        last = (
            BotDecision.objects.filter(bot=bot).order_by("-time", "-id").values_list("action", "day", "reason").first()
        )
        if last == (action, day, reason[:300]):
            return
    BotDecision.objects.create(
        bot=bot, time=now, day=day, action=action, price=price, target=target, k=k, reason=reason[:300], order=order
    )
    if action in (BotDecision.Action.ENTER, BotDecision.Action.EXIT):
        entered = action == BotDecision.Action.ENTER
        account_event(
            user_id=bot.user_id,
            event=BOT_ENTERED if entered else BOT_EXITED,
            text=f"{'봇 진입 · Bot entered' if entered else '봇 청산 · Bot exited'}: #{bot.pk} "
            f"{_decision_symbol(bot, order)}{f' @ {_plain(price)}' if price is not None else ''} ({day})",
        )


def _fresh_ticker(instrument: Instrument, now: datetime) -> Ticker | None:
    """The ticker if the feed updated it within ``TICKER_MAX_AGE_SECONDS`` (as ``order_place``)."""
    ticker = Ticker.objects.filter(instrument=instrument).first()
    if ticker is None or now - ticker.updated_at > timedelta(seconds=_config()["TICKER_MAX_AGE_SECONDS"]):
        return None
    return ticker


# --- bots: the day roll ---------------------------------------------------------------------


def _exit(bot: Bot, today: StrategyDay, now: datetime) -> bool:
    """Sell what the bot bought on ``holding_day`` at market (today's open). Returns False when
    it must wait (no fresh price, market closed); True when done (sold, or given up with the
    reason logged: what is left stays in the account)."""
    held, bought_on = bot.holding_quantity, bot.holding_day
    position = Position.objects.filter(user=bot.user, instrument=_inst(bot)).first()
    available = position.quantity - position.reserved_quantity if position else Decimal(0)
    quantity = min(held, available)
    log: _TargetLog = {"now": now, "day": today.day, "target": bot.target, "k": bot.k_today}
    if quantity <= 0:
        _decide(
            bot,
            action=BotDecision.Action.SKIP,
            reason=f"nothing to sell: the {_plain(held)} bought on {bought_on} left the account outside the bot",
            **log,
        )
    else:
        try:
            order = _place_once(bot, key=f"bot{bot.pk}-{bought_on}-exit", side="sell", quantity=quantity, now=now)
        except (trading_services.PriceUnavailable, trading_services.MarketClosed) as exc:
            _decide(
                bot,
                action=BotDecision.Action.WAIT,
                state=Bot.State.WAITING,
                reason=f"selling the {_plain(held)} bought on {bought_on} waits: {exc.message}",
                **log,
            )
            return False
        except DomainError as exc:
            _decide(
                bot,
                action=BotDecision.Action.REJECT,
                reason=f"selling the {_plain(quantity)} bought on {bought_on} was rejected ({exc.message}); it stays in the account",
                **log,
            )
        else:
            short = f" (only {_plain(available)} of {_plain(held)} was left)" if quantity < held else ""
            _decide(
                bot,
                action=BotDecision.Action.EXIT,
                price=order.average_fill_price,
                order=order,
                reason=f"sold the {_plain(quantity)} bought on {bought_on} at the open of {today.day}{short}",
                **log,
            )
    bot.holding_quantity, bot.holding_day = Decimal(0), None
    return True


def _today_open(bot: Bot, today: StrategyDay, now: datetime) -> Decimal | None:
    """Today's open: the stored daily candle of today, else a stored intraday candle opening at
    the day's start, else the fresh last price if the day began at most
    ``BOT_OPEN_GRACE_SECONDS`` ago (later, the price is no longer the open: the bot sits the day
    out). Returns None (with the wait or skip logged) when unknown."""
    instrument = _inst(bot)
    candle = Candle.objects.filter(
        instrument=instrument,
        interval="1d",
        open_time__gte=kst_midnight(today.day),
        open_time__lt=kst_midnight(today.day + timedelta(days=1)),
    ).first()
    if candle is None:
        candle = Candle.objects.filter(instrument=instrument, open_time=today.start).exclude(interval="1d").first()
    if candle is not None:
        return candle.open
    market = market_now(now)  # the demo clock's instant in a replay: its day began then
    late = (market - today.start).total_seconds() - _config()["BOT_OPEN_GRACE_SECONDS"]
    if late > 0:
        _decide(
            bot,
            action=BotDecision.Action.SKIP,
            state=Bot.State.OUT,
            now=now,
            day=today.day,
            reason=f"today's open is unknown: no candle of {today.day} is stored and the day began "
            f"{int((market - today.start).total_seconds() // 60)} min ago (the price is the open only in the first "
            f"{_config()['BOT_OPEN_GRACE_SECONDS']} s)",
        )
        return None
    ticker = _fresh_ticker(instrument, now)
    if ticker is None:
        _decide(
            bot,
            action=BotDecision.Action.WAIT,
            state=Bot.State.WAITING,
            now=now,
            day=today.day,
            reason="no fresh price for today's open yet",
        )
        return None
    return ticker.last_price


def _plan(bot: Bot, today: StrategyDay, now: datetime, day_open: Decimal) -> None:
    """Today's k, moving average and target from the stored daily candles before today and
    today's open, by ``breakout.signals`` (today's high, low and close are unknown: NaN)."""
    instrument = _inst(bot)
    auto = bot.k_mode == Bot.KMode.AUTO
    needed = (bot.lookback if auto else 0) + max(1, bot.ma_window) + 1
    bars = daily_bars(instrument=instrument, before=today.day, last=needed)
    if not len(bars) or bars.dates[-1] != np.datetime64(today.previous, "D"):
        _decide(
            bot,
            action=BotDecision.Action.WAIT,
            state=Bot.State.WAITING,
            now=now,
            day=today.day,
            reason=f"no daily candle of {today.previous} is stored yet",
        )
        return
    dates = np.append(bars.dates, np.datetime64(today.day, "D"))
    unknown = [np.nan]
    sig = breakout.signals(
        np.append(bars.open, float(day_open)),
        np.append(bars.high, unknown),
        np.append(bars.low, unknown),
        np.append(bars.close, unknown),
        k=None if auto else float(bot.k),
        lookback=bot.lookback,
        follows=follows_for(instrument, dates),
        ma_window=bot.ma_window,
        costs=instrument_costs(instrument),
    )
    k, target, ma = sig.k[-1], sig.target[-1], sig.ma[-1]
    log: _OpenLog = {"now": now, "day": today.day, "price": bot.day_open}
    if np.isnan(k):
        _decide(
            bot,
            action=BotDecision.Action.SKIP,
            state=Bot.State.OUT,
            **log,
            reason=f"best K needs {bot.lookback} days of candles without gaps before {today.day}; not stored yet",
        )
        return
    bot.k_today = _decimal(k, Decimal("0.0001"))
    if bot.ma_window and np.isnan(ma):
        _decide(
            bot,
            action=BotDecision.Action.SKIP,
            state=Bot.State.OUT,
            k=bot.k_today,
            **log,
            reason=f"the {bot.ma_window}-day moving average needs {bot.ma_window} days of candles without gaps before {today.day}",
        )
        return
    bot.target = _decimal(target)
    bot.ma_today = _decimal(ma) if bot.ma_window else None
    if not sig.allowed[-1]:
        _decide(
            bot,
            action=BotDecision.Action.SKIP,
            state=Bot.State.OUT,
            target=bot.target,
            k=bot.k_today,
            **log,
            reason=f"open {_plain(bot.day_open)} is not above the {bot.ma_window}-day average close "
            f"{_plain(bot.ma_today)} (target {_plain(bot.target)}, k {_plain(bot.k_today)}){_last_note(bot, now)}",
        )
        return
    day_range = _decimal(bars.high[-1] - bars.low[-1])
    _decide(
        bot,
        action=BotDecision.Action.ARM,
        state=Bot.State.ARMED,
        target=bot.target,
        k=bot.k_today,
        **log,
        reason=f"target = open {_plain(bot.day_open)} + k {_plain(bot.k_today)} x range {_plain(day_range)} of "
        f"{today.previous}{_last_note(bot, now)}",
    )


def _last_note(bot: Bot, now: datetime) -> str:
    """ "; last <price>" when the feed has a fresh price, for a decision that states its numbers."""
    ticker = _fresh_ticker(_inst(bot), now)
    return f"; last {_plain(ticker.last_price)}" if ticker is not None else ""


def _roll(bot: Bot, today: StrategyDay, now: datetime) -> None:
    """Bring a locked bot to ``today``: sell yesterday's entry, then plan today."""
    if bot.holding_quantity > 0 and bot.holding_day != today.day:
        if not _exit(bot, today, now):
            return  # no new plan while yesterday's position is unsold
    if bot.day != today.day:
        bot.day, bot.day_open, bot.k_today, bot.ma_today, bot.target = today.day, None, None, None, None
        bot.state = Bot.State.WAITING
    if not bot.enabled:
        bot.state, bot.state_reason = Bot.State.OUT, "disabled"
        return
    if bot.day_open is None:
        bot.day_open = _today_open(bot, today, now)
        if bot.day_open is None:
            return
    _plan(bot, today, now, bot.day_open)


def _needs_roll(bot: Bot, today: StrategyDay) -> bool:
    return (
        bot.day != today.day
        or bot.state == Bot.State.WAITING
        or (bot.holding_quantity > 0 and bot.holding_day != today.day)
    )


@transaction.atomic
def bot_day_roll(*, bot_id: int, now: datetime | None = None) -> Bot:
    """At a new strategy day: sell what the bot bought the day before (market order at the
    open) and compute today's k and target. Does nothing on a day already rolled; retries what
    waited (a price, a candle). Raises ``Bot.DoesNotExist``."""
    now = now or timezone.now()
    bot = bot_qs_select_for_update(pk=bot_id).select_related("instrument", "user").get()
    today = strategy_day(_inst(bot), market_now(now))
    if _needs_roll(bot, today):
        _roll(bot, today, now)
        bot.save()
    return bot


# --- bots: entries --------------------------------------------------------------------------


def _entry_quantity(bot: Bot, last: Decimal) -> Decimal:
    """How much ``fraction`` of the available cash buys at the market-order price with its fee,
    down to the lot size (cost and fee round up by less than one cash unit each)."""
    instrument = _inst(bot)
    trading_services.account_open(user=bot.user)
    wallet = Wallet.objects.filter(user=bot.user, currency=instrument.quote).first()
    if wallet is None:
        return Decimal(0)
    budget = wallet.available * bot.fraction - 2 * cash_exponent(wallet.currency)
    tick = rules.tick_size(
        exchange=instrument.exchange, quote=instrument.quote, price=last, instrument_tick=instrument.tick_size
    )
    price = rules.market_fill_price(last=last, side="buy", slippage_bps=_config()["SLIPPAGE_BPS"], tick=tick)
    per_unit = price + rules.bps_of(price, _config()["FEE_BPS"].get(instrument.exchange, 0))
    lot = rules.lot_size(market=instrument.market, instrument_lot=instrument.lot_size)
    if budget <= 0:
        return Decimal(0)
    return (budget / per_unit / lot).to_integral_value(rounding=ROUND_FLOOR) * lot


def _place_once(bot: Bot, *, key: str, side: str, quantity: Decimal, now: datetime) -> Order:
    """The bot's market order for ``key`` (one entry per day, one exit per entry): the one
    placed earlier if there is one (its quantity was sized at that moment's price), else a new
    one through ``trading.services.order_place``."""
    placed = Order.objects.filter(user=bot.user, client_order_id=key).first()
    if placed is not None:
        return placed
    order, _ = trading_services.order_place(
        user=bot.user,
        instrument_id=_inst(bot).pk,
        side=side,
        type="market",
        quantity=quantity,
        client_order_id=key,
        now=now,
        exit_after_sessions=bot.exit_after_sessions if side == "buy" else None,
    )
    return order


def _check_entry(bot: Bot, today: StrategyDay, now: datetime) -> None:
    """Enter once when the last price has reached the target."""
    ticker = _fresh_ticker(_inst(bot), now)
    log: _TargetLog = {"now": now, "day": today.day, "target": bot.target, "k": bot.k_today}
    if ticker is None:
        _decide(
            bot, action=BotDecision.Action.WAIT, reason="no fresh price: the feed has not updated it recently", **log
        )
        return
    last = ticker.last_price
    if bot.target is None or last < bot.target:
        return
    quantity = _entry_quantity(bot, last)
    try:
        if quantity <= 0:
            raise trading_services.InsufficientFunds("The cash for this bot does not buy one lot.", field="fraction")
        order = _place_once(
            bot, key=f"bot{bot.pk}-{today.day.isoformat()}-entry", side="buy", quantity=quantity, now=now
        )
    except DomainError as exc:
        _decide(
            bot,
            action=BotDecision.Action.REJECT,
            state=Bot.State.OUT,
            price=last,
            **log,
            reason=f"buying at {_plain(last)} (target reached) was rejected: {exc.message} Not retried today.",
        )
        return
    held_by_lot = ""
    if bot.exit_after_sessions:  # the lot's own exit sells it (trading.services.lots_exit_due)
        bot.holding_quantity, bot.holding_day = Decimal(0), None
        held_by_lot = f"; its lot is sold at its session close {bot.exit_after_sessions} after the buy"
    else:
        bot.holding_quantity, bot.holding_day = order.filled_quantity, today.day
    _decide(
        bot,
        action=BotDecision.Action.ENTER,
        state=Bot.State.HOLDING,
        price=order.average_fill_price,
        order=order,
        **log,
        reason=f"last {_plain(last)} reached the target {_plain(bot.target)}: bought {_plain(order.filled_quantity)} at {_plain(order.average_fill_price)}{held_by_lot}",
    )


@transaction.atomic
def bot_check(*, bot_id: int, now: datetime | None = None) -> Bot:
    """Everything a bot does at ``now``: roll to a new day if needed (``bot_day_roll``), then, if
    armed and enabled, buy once when the last price reaches the target. Safe to call on every
    tick: a bot holding or out for the day does nothing. Raises ``Bot.DoesNotExist``."""
    now = now or timezone.now()
    bot = bot_qs_select_for_update(pk=bot_id).select_related("instrument", "user").get()
    today = strategy_day(_inst(bot), market_now(now))
    if _needs_roll(bot, today):
        _roll(bot, today, now)
    if bot.state == Bot.State.ARMED and bot.enabled and bot.day == today.day:
        _check_entry(bot, today, now)
    bot.save()
    return bot


def bots_on_tick(*, instrument_ids, now: datetime | None = None) -> int:
    """Check the bots of instruments whose prices changed (``MARKETS["TICK_HANDLERS"]``; also
    the beat's ``bots_check`` for all). Bots holding or out for the current day are skipped
    without a transaction; each other bot is checked in its own, and a failure is logged
    without stopping the others. Returns the number of bots checked."""
    now = now or timezone.now()
    bots = Bot.objects.filter(kind=Bot.Kind.BREAKOUT, instrument_id__in=list(instrument_ids)).filter(
        Q(enabled=True) | Q(holding_quantity__gt=0)
    )
    days: dict[int, StrategyDay] = {}
    checked = 0
    for bot in bots.select_related("instrument").order_by("pk"):
        try:
            instrument = _inst(bot)
            if instrument.pk not in days:
                days[instrument.pk] = strategy_day(instrument, market_now(now))
            if not _needs_roll(bot, days[instrument.pk]) and bot.state != Bot.State.ARMED:
                continue
            bot_check(bot_id=bot.pk, now=now)
            checked += 1
        except Exception:  # one broken bot must not stop the feed or the other bots
            logger.exception("bot %s check failed", bot.pk)
    return checked


def bots_check_all(*, now: datetime | None = None) -> int:
    """The beat's pass over every bot: day rolls at the boundary, entries without a tick."""
    instrument_ids = (
        Bot.objects.filter(kind=Bot.Kind.BREAKOUT)
        .filter(Q(enabled=True) | Q(holding_quantity__gt=0))
        .values_list("instrument_id", flat=True)
        .distinct()
    )
    return bots_on_tick(instrument_ids=list(instrument_ids), now=now) + prediction_bots_check_all(now=now)


# --- backtests ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BacktestParams:
    """Checked backtest parameters; ``k`` None = best K walk-forward; ``start``/``end`` None =
    from the first / to the last stored candle."""

    instrument: Instrument
    start: date | None
    end: date | None
    k: Decimal | None
    lookback: int
    ma_window: int
    fee_bps: Decimal
    slippage_bps: Decimal
    tax_bps: Decimal
    initial_equity: Decimal


def _bps(value, field: str, default) -> Decimal:
    if value is None or value == "":
        return Decimal(default)
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise InvalidBacktest("A number of basis points is required.", field=field) from None
    if not (number.is_finite() and 0 <= number <= 1000):
        raise InvalidBacktest("Must be between 0 and 1000 basis points.", field=field)
    return number


def backtest_params(
    *,
    exchange: str,
    symbol: str,
    start: date | None = None,
    end: date | None = None,
    k="auto",
    lookback: int = 20,
    ma: int = 5,
    fee_bps=None,
    slippage_bps=None,
    tax_bps=None,
    initial_equity=None,
) -> BacktestParams:
    """Check backtest inputs (as the command and the API take them) and fill the defaults: the
    exchange's fee, the market-order slippage, KRX's sell tax, the starting cash of the quote
    currency. ``k``: "auto" or a number from 0 to 1. Raises ``InvalidBacktest`` naming the field."""
    try:
        symbol = symbol.strip() if exchange == "krx" else unified_symbol(symbol)
    except ValueError as exc:
        raise InvalidBacktest(str(exc), field="symbol") from None
    instrument = Instrument.objects.filter(exchange=exchange, symbol=symbol).first()
    if instrument is None:
        raise InvalidBacktest(f"No instrument {symbol} on {exchange}.", field="symbol")
    if start and end and start > end:
        raise InvalidBacktest("start must not be after end.", field="start")
    if str(k).strip().lower() == "auto":
        k_value = None
    else:
        try:
            k_value = Decimal(str(k))
        except InvalidOperation:
            raise InvalidBacktest('k must be "auto" or a number from 0 to 1.', field="k") from None
        if not (k_value.is_finite() and 0 <= k_value <= 1):
            raise InvalidBacktest('k must be "auto" or a number from 0 to 1.', field="k")
    if not (isinstance(lookback, int) and 1 <= lookback <= MAX_DAYS):
        raise InvalidBacktest(f"lookback must be a whole number of days from 1 to {MAX_DAYS}.", field="lookback")
    if not (isinstance(ma, int) and 0 <= ma <= MAX_DAYS):
        raise InvalidBacktest(f"ma must be a whole number of days from 0 (off) to {MAX_DAYS}.", field="ma")
    krx = instrument.market == Market.KRX
    initial = (
        initial_equity
        if initial_equity not in (None, "")
        else _config()["STARTING_CASH"].get(instrument.quote, Decimal("10000000"))
    )
    try:
        initial = Decimal(str(initial))
    except InvalidOperation:
        raise InvalidBacktest("A number is required.", field="initial_equity") from None
    if not (initial.is_finite() and initial > 0):
        raise InvalidBacktest("Must be greater than zero.", field="initial_equity")
    return BacktestParams(
        instrument=instrument,
        start=start,
        end=end,
        k=k_value,
        lookback=lookback,
        ma_window=ma,
        fee_bps=_bps(fee_bps, "fee_bps", _config()["FEE_BPS"].get(exchange, 0)),
        slippage_bps=_bps(slippage_bps, "slippage_bps", _config()["SLIPPAGE_BPS"]),
        tax_bps=_bps(tax_bps, "tax_bps", _config()["KRX_SELL_TAX_BPS"] if krx else 0),
        initial_equity=initial,
    )


def _number(value) -> float | None:
    """A float for JSON: NaN and infinities (undefined statistics) become null."""
    value = float(value)
    return value if math.isfinite(value) else None


def _stats(stats: breakout.CurveStats) -> dict:
    return {
        "total_return": _number(stats.total_return),
        "cagr": _number(stats.cagr),
        "max_drawdown": _number(stats.max_drawdown),
        "sharpe": _number(stats.sharpe),
    }


def backtest_compute(params: BacktestParams) -> dict:
    """Backtest the breakout rule on the instrument's stored daily candles (``breakout.backtest``;
    candles before ``start`` warm up K, target and the moving average). Reads only.

    Returns a JSON-ready dict: the parameters, ``first_day``/``last_day`` of the span,
    ``total_return``, ``cagr``, ``max_drawdown``, ``win_rate``, ``exposure`` (fractions),
    ``sharpe`` (annualized), ``number_of_trades``, ``final_equity`` (quote currency),
    ``buy_and_hold`` {total_return, cagr, max_drawdown, sharpe, final_equity}, ``trades``
    [{entry_date, entry_price, exit_date, exit_price, k, return}] (prices are the rule's fills
    before slippage; ``return`` is net of fees, slippage and tax) and ``equity_curve``
    [{date, equity, buy_and_hold}] at each day's open. Undefined figures are null. Raises
    ``InvalidBacktest`` when no candles fall in the span.
    """
    instrument = params.instrument
    try:
        bars = daily_bars(instrument=instrument, until=params.end)
    except ValueError as exc:  # a KRX candle on a day that is not a session
        raise InvalidBacktest(
            f"The stored candles of {instrument} do not fit the exchange calendar: {exc}", field="symbol"
        ) from None
    first = int(np.searchsorted(bars.dates, np.datetime64(params.start, "D"))) if params.start else 0
    if first >= len(bars):
        span = f"between {params.start or 'the start'} and {params.end or 'the end'}"
        raise InvalidBacktest(
            f"No daily candles of {instrument} are stored {span}; import them with import_candles.", field="start"
        )
    costs = breakout.Costs(
        fee_bps=float(params.fee_bps), slippage_bps=float(params.slippage_bps), sell_tax_bps=float(params.tax_bps)
    )
    result = breakout.backtest(
        bars.dates,
        bars.open,
        bars.high,
        bars.low,
        bars.close,
        first=first,
        k=None if params.k is None else float(params.k),
        lookback=params.lookback,
        follows=bars.follows,
        ma_window=params.ma_window,
        costs=costs,
        initial=float(params.initial_equity),
        periods_per_year=bars.periods_per_year,
    )
    sig, dates = result.signals, bars.dates
    trades = [
        {
            "entry_date": str(dates[row]),
            "entry_price": float(sig.entry[row]),
            "exit_date": str(dates[row + 1]),
            "exit_price": float(sig.exit[row]),
            "k": float(sig.k[row]),
            "return": float(sig.factor[row] - 1),
        }
        for row in result.trade_rows
    ]
    curve = [
        {"date": str(day), "equity": float(equity), "buy_and_hold": float(held)}
        for day, equity, held in zip(dates[first:], result.equity, result.buy_and_hold, strict=True)
    ]
    return {
        "exchange": instrument.exchange,
        "symbol": instrument.symbol,
        "quote": instrument.quote,
        "start": params.start.isoformat() if params.start else None,
        "end": params.end.isoformat() if params.end else None,
        "first_day": str(dates[first]),
        "last_day": str(dates[-1]),
        "k": "auto" if params.k is None else float(params.k),
        "lookback": params.lookback,
        "ma": params.ma_window,
        "fee_bps": float(params.fee_bps),
        "slippage_bps": float(params.slippage_bps),
        "tax_bps": float(params.tax_bps),
        "initial_equity": float(params.initial_equity),
        "final_equity": float(result.equity[-1]),
        **_stats(result.stats),
        "win_rate": _number(result.win_rate),
        "number_of_trades": result.number_of_trades,
        "exposure": _number(result.exposure),
        "buy_and_hold": {**_stats(result.buy_and_hold_stats), "final_equity": float(result.buy_and_hold[-1])},
        "trades": trades,
        "equity_curve": curve,
    }


@transaction.atomic
def backtest_run(*, user, params: BacktestParams) -> Backtest:
    """Compute a backtest (``backtest_compute``) and store it for ``user``. Raises
    ``InvalidBacktest``; nothing is stored then."""
    result = backtest_compute(params)
    return Backtest.objects.create(
        user=user,
        instrument=params.instrument,
        start=result["first_day"],
        end=result["last_day"],
        k=params.k,
        lookback=params.lookback,
        ma_window=params.ma_window,
        fee_bps=params.fee_bps,
        slippage_bps=params.slippage_bps,
        tax_bps=params.tax_bps,
        initial_equity=params.initial_equity,
        total_return=result["total_return"],
        cagr=result["cagr"],
        max_drawdown=result["max_drawdown"],
        win_rate=result["win_rate"],
        number_of_trades=result["number_of_trades"],
        exposure=result["exposure"],
        sharpe=result["sharpe"],
        buy_and_hold_return=result["buy_and_hold"]["total_return"],
        result=result,
    )


def bots_refresh_candles(*, now: datetime | None = None, days: int = 3, source_for=None) -> int:
    """Fetch the last ``days`` daily candles of every enabled bot's crypto instrument from its
    exchange, so that yesterday's range is stored when the day rolls. Returns candles written.

    ``source_for(exchange) -> MarketSource`` overrides the live ccxt source (tests replay
    recorded responses through it). Network errors propagate for the task to retry.
    """
    from markets.services import candles_refresh
    from markets.sources import CCXT_EXCHANGES

    now = now or timezone.now()
    instruments = Instrument.objects.filter(bots__enabled=True, exchange__in=CCXT_EXCHANGES).distinct()
    written = 0
    for instrument in instruments:
        source = source_for(instrument.exchange) if source_for else None
        written += candles_refresh(
            instrument=instrument, interval="1d", since=now - timedelta(days=days), source=source
        )
    return written


# --- the predictions bot ------------------------------------------------------------------


def _prediction_picks(**kwargs) -> dict:
    """The picks provider registered as ``BOTS["PREDICTION_PICKS"]`` (a dotted path: this app
    sits beside ``predictions`` in the layers and may not import it)."""
    return import_string(settings.BOTS["PREDICTION_PICKS"])(**kwargs)


def _fraction(value, field: str, *, low: Decimal, high: Decimal, low_open: bool = False) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise InvalidBot(f"{field} must be a number.", field=field) from None
    if not number.is_finite() or number > high or (number <= low if low_open else number < low):
        raise InvalidBot(
            f"{field} must be {'above' if low_open else 'at least'} {low} and at most {high}.", field=field
        )
    return number


def _check_prediction_settings(
    *, model, second_model, condition, threshold, second_threshold, top_n, fraction, exit_after_sessions, stop_loss_pct
) -> dict:
    if condition not in Bot.Condition.values:
        raise InvalidBot(f"Must be one of {', '.join(Bot.Condition.values)}.", field="condition")
    if condition != Bot.Condition.MODEL and not second_model:
        raise InvalidBot(f"The condition {condition!r} needs a second model.", field="second_model")
    if not (isinstance(top_n, int) and not isinstance(top_n, bool) and 1 <= top_n <= 50):
        raise InvalidBot("top_n must be a whole number from 1 to 50.", field="top_n")
    if exit_after_sessions is None:
        raise InvalidBot("A predictions bot sells after N sessions: give 1 to 60.", field="exit_after_sessions")
    settings_ = {
        "model": model,
        "second_model": second_model or "",
        "condition": condition,
        "threshold": _fraction(threshold, "threshold", low=Decimal(0), high=Decimal(1)),
        "second_threshold": _fraction(second_threshold, "second_threshold", low=Decimal(0), high=Decimal(1)),
        "top_n": top_n,
        "fraction": _fraction(fraction, "fraction", low=Decimal(0), high=Decimal(1), low_open=True),
        "exit_after_sessions": _check_exit(exit_after_sessions),
        "stop_loss_pct": None
        if stop_loss_pct is None
        else _fraction(stop_loss_pct, "stop_loss_pct", low=Decimal(0), high=Decimal("99.99"), low_open=True),
    }
    try:  # the models exist and the rule is valid: ask the provider for one pick
        _prediction_picks(**_picks_query(settings_, top_n=1))
    except ValueError as exc:
        field = "second_model" if second_model and repr(second_model) in str(exc) else "model"
        raise InvalidBot(str(exc), field=field) from None
    return settings_


def _picks_query(values, *, top_n=None, before=None) -> dict:
    return {
        "model": values["model"],
        "second_model": values["second_model"] or None,
        "condition": values["condition"],
        "threshold": float(values["threshold"]),
        "second_threshold": float(values["second_threshold"]),
        "top_n": top_n or values["top_n"],
        "before": before,
    }


@transaction.atomic
def prediction_bot_create(
    *,
    user,
    model: str,
    second_model: str = "",
    condition: str = Bot.Condition.MODEL,
    threshold=Decimal("0.5"),
    second_threshold=Decimal("0.5"),
    top_n: int = 5,
    fraction=Decimal("0.2"),
    exit_after_sessions: int | None = 5,
    stop_loss_pct=None,
    enabled: bool = True,
    name: str = "",
) -> Bot:
    """A bot of kind ``predictions``: at the first check of each KRX session it buys, at market,
    the top ``top_n`` picks of ``model``'s latest predictions before the session (probability at
    least ``threshold``; with ``second_model``, the conditions ``both`` / ``either``), each with
    ``fraction`` of the available cash, and holds each lot ``exit_after_sessions`` sessions
    (the lot's exit) or until its last price falls ``stop_loss_pct`` percent below its price.
    Raises ``InvalidBot`` (400, field named)."""
    values = _check_prediction_settings(
        model=model,
        second_model=second_model,
        condition=condition,
        threshold=threshold,
        second_threshold=second_threshold,
        top_n=top_n,
        fraction=fraction,
        exit_after_sessions=exit_after_sessions,
        stop_loss_pct=stop_loss_pct,
    )
    return Bot.objects.create(
        user=user,
        kind=Bot.Kind.PREDICTIONS,
        name=name,
        enabled=enabled,
        state_reason="starts at the next KRX session",
        **values,
    )


def _buy_quantity(*, user, instrument: Instrument, fraction: Decimal, last: Decimal) -> Decimal:
    """``fraction`` of the available cash at the market-order price with its fee, down to the lot."""
    trading_services.account_open(user=user)
    wallet = Wallet.objects.filter(user=user, currency=instrument.quote).first()
    if wallet is None:
        return Decimal(0)
    budget = wallet.available * fraction - 2 * cash_exponent(wallet.currency)
    tick = rules.tick_size(
        exchange=instrument.exchange, quote=instrument.quote, price=last, instrument_tick=instrument.tick_size
    )
    price = rules.market_fill_price(last=last, side="buy", slippage_bps=_config()["SLIPPAGE_BPS"], tick=tick)
    per_unit = price + rules.bps_of(price, _config()["FEE_BPS"].get(instrument.exchange, 0))
    lot = rules.lot_size(market=instrument.market, instrument_lot=instrument.lot_size)
    if budget <= 0:
        return Decimal(0)
    return (budget / per_unit / lot).to_integral_value(rounding=ROUND_FLOOR) * lot


def _stop_losses(bot: Bot, session: date, now: datetime) -> None:
    """Sell each open lot of the bot whose last price is ``stop_loss_pct`` below its price."""
    if bot.stop_loss_pct is None:
        return
    factor = 1 - bot.stop_loss_pct / 100
    lots = Lot.objects.filter(
        user=bot.user, remaining__gt=0, fill__order__client_order_id__startswith=f"bot{bot.pk}-"
    ).select_related("instrument", "instrument__ticker")
    for lot in lots.order_by("opened_at", "id"):
        ticker = _fresh_ticker(lot.instrument, now)
        if ticker is None or ticker.last_price > lot.price * factor:
            continue
        try:
            order, _ = trading_services.order_place(
                user=bot.user,
                instrument_id=lot.instrument_id,
                side="sell",
                type="market",
                quantity=lot.remaining,
                client_order_id=f"bot{bot.pk}-stop-lot-{lot.pk}",
                now=now,
                closes_lot=lot,
            )
        except DomainError as exc:
            _decide(
                bot,
                action=BotDecision.Action.REJECT,
                now=now,
                day=session,
                price=ticker.last_price,
                reason=f"the stop of lot #{lot.pk} ({lot.instrument.symbol}) could not sell: {exc.message}",
            )
            continue
        _decide(
            bot,
            action=BotDecision.Action.EXIT,
            now=now,
            day=session,
            price=order.average_fill_price,
            order=order,
            reason=f"stop-loss: {lot.instrument.symbol} last {_plain(ticker.last_price)} <= {_plain(bot.stop_loss_pct)} % below the lot's {_plain(lot.price)}; sold {_plain(order.filled_quantity)}",
        )


@transaction.atomic
def prediction_bot_check(*, bot_id: int, now: datetime | None = None) -> Bot:
    """What a predictions bot does at ``now``: its stop-losses, then, once per KRX session
    while the market is open (the market's present: the demo clock in a replay), the session's entries (see ``prediction_bot_create``). Orders
    carry ``client_order_id`` ``bot<id>-<session>-<symbol>-entry`` and ``bot<id>-stop-lot-<lot>``,
    so a repeated check never places twice. Raises ``Bot.DoesNotExist``."""
    now = now or timezone.now()
    bot = bot_qs_select_for_update(pk=bot_id).select_related("user").get(kind=Bot.Kind.PREDICTIONS)
    market = market_now(now)  # the demo clock's instant in a replay: its KRX session, its picks
    if not rules.krx_is_open(market):
        return bot
    session = holding.krx_lot_day(market)
    _stop_losses(bot, session, now)
    if not bot.enabled or bot.day == session:
        bot.save()
        return bot
    answer = _prediction_picks(**_picks_query(vars(bot), before=session))
    predicted_on = answer["date"]
    if not answer["picks"]:
        _decide(
            bot,
            action=BotDecision.Action.SKIP,
            state=Bot.State.OUT,
            now=now,
            day=session,
            reason=f"no pick of {bot.model} ({predicted_on or 'no predictions'}) passes the {bot.condition} rule at threshold {_plain(bot.threshold)}",
        )
    for place, pick in enumerate(answer["picks"], start=1):
        instrument = Instrument.objects.filter(pk=pick["instrument_id"]).select_related("ticker").first()
        ticker = _fresh_ticker(instrument, now) if instrument is not None else None
        odds = ", ".join(f"{name} p={p:.3f}" for name, p in pick["probabilities"].items())
        why = f"pick {place} of {bot.model} on {predicted_on} ({odds})"
        if instrument is None or ticker is None:
            _decide(bot, action=BotDecision.Action.REJECT, now=now, day=session, reason=f"{why}: no fresh price")
            continue
        quantity = _buy_quantity(user=bot.user, instrument=instrument, fraction=bot.fraction, last=ticker.last_price)
        try:
            if quantity <= 0:
                raise trading_services.InsufficientFunds(
                    "The cash for this entry does not buy one share.", field="fraction"
                )
            order, _ = trading_services.order_place(
                user=bot.user,
                instrument_id=instrument.pk,
                side="buy",
                type="market",
                quantity=quantity,
                client_order_id=f"bot{bot.pk}-{session.isoformat()}-{instrument.symbol}-entry",
                now=now,
                exit_after_sessions=bot.exit_after_sessions,
            )
        except DomainError as exc:
            _decide(
                bot,
                action=BotDecision.Action.REJECT,
                now=now,
                day=session,
                price=ticker.last_price,
                reason=f"{why}: rejected ({exc.message}); not retried this session",
            )
            continue
        _decide(
            bot,
            action=BotDecision.Action.ENTER,
            state=Bot.State.HOLDING,
            now=now,
            day=session,
            price=order.average_fill_price,
            order=order,
            reason=f"{why}: bought {_plain(order.filled_quantity)} {instrument.symbol} at {_plain(order.average_fill_price)}, sold after {bot.exit_after_sessions} sessions",
        )
    bot.day = session
    bot.save()
    return bot


def prediction_bots_check_all(*, now: datetime | None = None) -> int:
    """The beat's pass over the predictions bots (each in its own transaction; a failure is
    logged without stopping the others). Returns how many were checked."""
    checked = 0
    for bot_id in Bot.objects.filter(kind=Bot.Kind.PREDICTIONS).order_by("pk").values_list("pk", flat=True):
        try:
            prediction_bot_check(bot_id=bot_id, now=now)
            checked += 1
        except Exception:
            logger.exception("predictions bot %s check failed", bot_id)
    return checked
