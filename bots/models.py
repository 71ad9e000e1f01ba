"""The volatility-breakout bot and its backtests.

``Bot`` holds a user's settings for one instrument and the state of the current strategy day
(target, k, what it holds); ``BotDecision`` is the append-only log of what a bot decided and
why; ``Backtest`` is a stored backtest run with its result. Writes happen only in
``bots.services``; the strategy math is ``bots.breakout``.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.fields import BasisPointsField, FractionField, MoneyField, PriceField, QuantityField

BPS = {"max_digits": 8, "decimal_places": 2}


class Bot(models.Model):
    """A volatility-breakout bot: each strategy day (a crypto day from the exchange's day
    boundary, a KRX session) it sells what it bought the day before at the open, computes
    today's k (fixed, or the best K over ``lookback`` days) and target, and buys once when the
    price reaches the target, with ``fraction`` of the available cash.

    ``day`` is the strategy day the state fields describe; ``holding_quantity`` is what the bot
    bought on ``holding_day`` and will sell at the next day boundary.
    """

    class KMode(models.TextChoices):
        FIXED = "fixed", "Fixed k"
        AUTO = "auto", "Best K, walk-forward"

    class Kind(models.TextChoices):
        BREAKOUT = "breakout", "Volatility breakout"
        PREDICTIONS = "predictions", "Follows the predictions"

    class Condition(models.TextChoices):
        MODEL = "model", "One model"
        BOTH = "both", "Both models agree"
        EITHER = "either", "Either model"

    class State(models.TextChoices):
        WAITING = "waiting", "Waiting for data"
        ARMED = "armed", "Watching for the target"
        HOLDING = "holding", "Entered today"
        OUT = "out", "Out for the day"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bots")
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.BREAKOUT)
    instrument = models.ForeignKey(
        "markets.Instrument",
        on_delete=models.PROTECT,
        related_name="bots",
        null=True,
        blank=True,
        help_text="a breakout bot's instrument; none for a predictions bot",
    )
    name = models.CharField(max_length=100, blank=True)
    # a predictions bot: each KRX session it buys the top N picks of the latest predictions
    model = models.CharField(max_length=80, blank=True, help_text="predictions bot: the predictor followed")
    second_model = models.CharField(max_length=80, blank=True, help_text="for the conditions both / either")
    condition = models.CharField(max_length=6, choices=Condition.choices, default=Condition.MODEL)
    threshold = FractionField(default=Decimal("0.5"), help_text="the model's probability of going up must reach this")
    second_threshold = FractionField(default=Decimal("0.5"))
    top_n = models.PositiveSmallIntegerField(default=5, help_text="predictions bot: picks bought per session")
    stop_loss_pct = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True, help_text="sell a lot this many percent below its price"
    )
    k_mode = models.CharField(max_length=5, choices=KMode.choices, default=KMode.FIXED)
    k = FractionField(default=Decimal("0.5"), help_text="k of a fixed-k bot")
    lookback = models.PositiveSmallIntegerField(default=20, help_text="days the best K is fitted on")
    ma_window = models.PositiveSmallIntegerField(
        default=5, help_text="enter only above the N-day moving average of closes; 0 = off"
    )
    fraction = FractionField(default=Decimal("0.5"), help_text="fraction of the available cash spent per entry")
    enabled = models.BooleanField(
        default=True, help_text="a disabled bot makes no new entries but still sells what it holds"
    )
    exit_after_sessions = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="hold each entry N sessions (KRX closes; crypto day boundaries) instead of selling at the next open; 1..60",
    )

    state = models.CharField(max_length=10, choices=State.choices, default=State.WAITING)
    state_reason = models.CharField(max_length=300, blank=True)
    day = models.DateField(null=True, blank=True, help_text="strategy day the state describes")
    day_open = PriceField(null=True, blank=True)
    k_today = FractionField(null=True, blank=True)
    ma_today = PriceField(null=True, blank=True)
    target = PriceField(null=True, blank=True)
    holding_quantity = QuantityField(default=0)
    holding_day = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "trading_bot"  # the table kept its name when the model moved from trading
        ordering = ["-created_at", "-id"]
        constraints = [
            # one bot per user and instrument: they would share (and fight over) one position
            models.UniqueConstraint(fields=["user", "instrument"], name="bot_user_instrument_uniq"),
            models.CheckConstraint(condition=Q(fraction__gt=0) & Q(fraction__lte=1), name="bot_fraction_in_0_1"),
            models.CheckConstraint(condition=Q(k__gte=0) & Q(k__lte=1), name="bot_k_in_0_1"),
            models.CheckConstraint(condition=Q(lookback__gte=1), name="bot_lookback_positive"),
            models.CheckConstraint(condition=Q(holding_quantity__gte=0), name="bot_holding_non_negative"),
            models.CheckConstraint(
                condition=Q(kind="predictions") | Q(instrument__isnull=False), name="bot_breakout_has_instrument"
            ),
        ]
        indexes = [models.Index(fields=["instrument", "enabled"])]

    def __str__(self) -> str:
        return f"bot #{self.pk} {self.instrument} ({self.user})"


class BotDecision(models.Model):
    """One thing a bot decided, with the price, target and k it decided on and why. Append-only.
    Ticks that change nothing are not decisions; a repeated wait is logged once."""

    class Action(models.TextChoices):
        ARM = "arm", "Target set"
        ENTER = "enter", "Bought"
        EXIT = "exit", "Sold at the open"
        SKIP = "skip", "No trade today"
        WAIT = "wait", "Waiting"
        REJECT = "reject", "Order rejected"

    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="decisions")
    time = models.DateTimeField(db_index=True)
    day = models.DateField(help_text="strategy day")
    action = models.CharField(max_length=10, choices=Action.choices)
    price = PriceField(null=True, blank=True, help_text="last price, or the fill price of an order")
    target = PriceField(null=True, blank=True)
    k = FractionField(null=True, blank=True)
    reason = models.CharField(max_length=300)
    order = models.ForeignKey(
        "trading.Order", on_delete=models.SET_NULL, null=True, blank=True, related_name="bot_decisions"
    )

    class Meta:
        db_table = "trading_botdecision"
        ordering = ["-time", "-id"]
        indexes = [models.Index(fields=["bot", "-time"])]

    def __str__(self) -> str:
        return f"{self.bot_id} {self.day} {self.action}"


class Backtest(models.Model):
    """A stored backtest of the breakout rule on an instrument's daily candles. ``k`` is null
    for best K walk-forward. Summary figures are fractions (0.12 = 12 %); ``result`` holds the
    whole run: trades, equity curve, buy-and-hold (see ``services.backtest_compute``)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="backtests")
    instrument = models.ForeignKey("markets.Instrument", on_delete=models.PROTECT, related_name="backtests")
    start = models.DateField()
    end = models.DateField()
    k = FractionField(null=True, blank=True, help_text="null = best K walk-forward")
    lookback = models.PositiveSmallIntegerField()
    ma_window = models.PositiveSmallIntegerField()
    fee_bps = BasisPointsField()
    slippage_bps = BasisPointsField()
    tax_bps = BasisPointsField(default=0)
    initial_equity = MoneyField()
    total_return = models.FloatField()
    cagr = models.FloatField(null=True)
    max_drawdown = models.FloatField()
    win_rate = models.FloatField(null=True)
    number_of_trades = models.PositiveIntegerField()
    exposure = models.FloatField()
    sharpe = models.FloatField(null=True)
    buy_and_hold_return = models.FloatField()
    result = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "trading_backtest"
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(start__lte=models.F("end")), name="backtest_start_lte_end")]

    def __str__(self) -> str:
        return f"backtest #{self.pk} {self.instrument} {self.start}..{self.end}"
