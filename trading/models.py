"""Paper-trading books: wallets with an append-only cash ledger, orders, fills, positions.

Invariants the database enforces (CheckConstraint), not only the services:
cash >= 0, 0 <= reserved <= cash, position quantity >= 0, 0 <= reserved quantity <= quantity,
order quantity > 0, 0 <= filled quantity <= quantity. ``client_order_id`` is unique per user so a
retried POST never places twice. Writes happen only in ``trading.services``.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from core.fields import MoneyField, PriceField, QuantityField


class Currency(models.TextChoices):
    KRW = "KRW", "Korean won"
    USDT = "USDT", "Tether"


class Wallet(models.Model):
    """Cash of one user in one quote currency. ``reserved`` is held for open buy orders;
    ``available = cash - reserved``. ``reset_at`` is when the account was last reset (the
    ledger check reconciles positions with the fills since then)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="wallets")
    currency = models.CharField(max_length=10, choices=Currency.choices)
    cash = MoneyField(default=0)
    reserved = MoneyField(default=0)
    reset_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["user", "currency"]
        constraints = [
            models.UniqueConstraint(fields=["user", "currency"], name="wallet_user_currency_uniq"),
            models.CheckConstraint(condition=Q(cash__gte=0), name="wallet_cash_non_negative"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="wallet_reserved_non_negative"),
            models.CheckConstraint(condition=Q(reserved__lte=F("cash")), name="wallet_reserved_lte_cash"),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.currency} {self.cash}"

    @property
    def available(self):
        return self.cash - self.reserved


class CashEntry(models.Model):
    """One movement of a wallet's cash; append-only. ``cash == sum(amount)`` for every wallet."""

    class Kind(models.TextChoices):
        DEPOSIT = "deposit", "Deposit"
        QUIZ_REWARD = "quiz_reward", "Quiz reward"
        BUY = "buy", "Buy"
        SELL = "sell", "Sell"
        FEE = "fee", "Fee"
        TAX = "tax", "Tax"
        RESET = "reset", "Reset"

    wallet = models.ForeignKey(Wallet, on_delete=models.CASCADE, related_name="entries")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    amount = MoneyField(help_text="signed: credits > 0, debits < 0")
    balance_after = MoneyField()
    fill = models.ForeignKey("Fill", on_delete=models.PROTECT, null=True, blank=True, related_name="cash_entries")
    reference = models.CharField(max_length=100, blank=True, help_text="e.g. quiz attempt id")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["wallet", "id"]
        verbose_name_plural = "cash entries"
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="cash_entry_amount_non_zero")]

    def __str__(self) -> str:
        return f"{self.wallet} {self.kind} {self.amount}"


class Order(models.Model):
    class Side(models.TextChoices):
        BUY = "buy", "Buy"
        SELL = "sell", "Sell"

    class Type(models.TextChoices):
        MARKET = "market", "Market"
        LIMIT = "limit", "Limit"

    class TimeInForce(models.TextChoices):
        GTC = "GTC", "Good till canceled"
        IOC = "IOC", "Immediate or cancel"
        DAY = "DAY", "Day"

    class Status(models.TextChoices):
        NEW = "new", "New"
        PARTIALLY_FILLED = "partially_filled", "Partially filled"
        FILLED = "filled", "Filled"
        CANCELED = "canceled", "Canceled"
        REJECTED = "rejected", "Rejected"
        EXPIRED = "expired", "Expired"

    OPEN_STATUSES = (Status.NEW, Status.PARTIALLY_FILLED)

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="orders")
    instrument = models.ForeignKey("markets.Instrument", on_delete=models.PROTECT, related_name="orders")
    side = models.CharField(max_length=4, choices=Side.choices)
    type = models.CharField(max_length=6, choices=Type.choices)
    quantity = QuantityField()
    limit_price = PriceField(null=True, blank=True)
    time_in_force = models.CharField(max_length=3, choices=TimeInForce.choices, default=TimeInForce.GTC)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW, db_index=True)
    client_order_id = models.CharField(max_length=64)
    filled_quantity = QuantityField(default=0)
    average_fill_price = PriceField(null=True, blank=True)
    reserved_cash = MoneyField(default=0, help_text="cash still held for this buy order")
    expires_at = models.DateTimeField(null=True, blank=True, help_text="DAY orders: the session end")
    exit_after_sessions = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="buys: each lot this order opens is sold at its Nth session close (1..60)"
    )
    closes_lot = models.ForeignKey(
        "Lot",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="exit_orders",
        help_text="an exit order: its fills close this lot first, then the others first-in first-out",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "client_order_id"], name="order_user_client_order_id_uniq"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_quantity_positive"),
            models.CheckConstraint(
                condition=Q(filled_quantity__gte=0) & Q(filled_quantity__lte=F("quantity")),
                name="order_filled_within_quantity",
            ),
            models.CheckConstraint(condition=Q(reserved_cash__gte=0), name="order_reserved_cash_non_negative"),
            models.CheckConstraint(
                condition=Q(type="market") | Q(limit_price__gt=0), name="order_limit_price_positive"
            ),
        ]
        indexes = [models.Index(fields=["instrument", "status"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.side} {self.quantity} {self.instrument} {self.status}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def limit(self) -> Decimal:
        """The limit price of a LIMIT order (the database requires one); ``ValueError`` for a
        market order, which has none."""
        if self.limit_price is None:
            raise ValueError(f"order {self.pk} is a market order: it has no limit price")
        return self.limit_price


class Fill(models.Model):
    """An execution of (part of) an order. Immutable. ``fee`` is the commission and ``tax`` the
    KRX securities transaction tax on sells, both in the quote currency."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="fills")
    price = PriceField()
    quantity = QuantityField()
    fee = MoneyField(default=0)
    tax = MoneyField(default=0)
    realized_pnl = MoneyField(default=0, help_text="sells: proceeds - fee - tax - cost basis")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gt=0), name="fill_price_positive"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="fill_quantity_positive"),
            models.CheckConstraint(condition=Q(fee__gte=0) & Q(tax__gte=0), name="fill_costs_non_negative"),
        ]

    def __str__(self) -> str:
        return f"fill {self.quantity} @ {self.price} (order #{self.order_id})"


class Position(models.Model):
    """Holdings of one instrument. ``average_entry_price`` is the cost basis per unit including
    buy fees; ``reserved_quantity`` is held for open sell orders."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="positions")
    instrument = models.ForeignKey("markets.Instrument", on_delete=models.PROTECT, related_name="positions")
    quantity = QuantityField(default=0)
    reserved_quantity = QuantityField(default=0)
    average_entry_price = PriceField(default=0)
    realized_pnl = MoneyField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["user", "instrument"]
        constraints = [
            models.UniqueConstraint(fields=["user", "instrument"], name="position_user_instrument_uniq"),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="position_quantity_non_negative"),
            models.CheckConstraint(
                condition=Q(reserved_quantity__gte=0) & Q(reserved_quantity__lte=F("quantity")),
                name="position_reserved_within_quantity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.quantity} {self.instrument}"


class EquitySnapshot(models.Model):
    """A user's equity per currency at the end of a day (Asia/Seoul), for the history chart."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="equity_snapshots")
    currency = models.CharField(max_length=10, choices=Currency.choices)
    date = models.DateField()
    cash = MoneyField()
    positions_value = MoneyField()
    equity = MoneyField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user", "currency", "date"]
        constraints = [models.UniqueConstraint(fields=["user", "currency", "date"], name="equity_snapshot_uniq")]

    def __str__(self) -> str:
        return f"{self.user} {self.date} {self.currency} equity {self.equity}"


class Lot(models.Model):
    """One buy fill held as a lot: what it bought, what it cost (price x quantity + fee) and,
    as sells close it first-in first-out, what is left and the realized P&L of what was sold.

    ``day`` is the KRX session (or crypto day) of the buy (``trading.holding``). ``cost`` and
    ``remaining_cost`` are cash amounts: the cost basis of the whole lot and of what is still
    held (the last close takes what is left, so the closed parts sum to ``cost`` exactly).
    ``realized_pnl`` sums, over the sells that closed part of it, its share of their net
    proceeds (proceeds - fee - tax, pro rata to quantity) minus the cost basis of that part.

    The exit: a buy with ``exit_after_sessions`` N gives its lots ``exit_due_at``, shortly
    before the Nth session close after the buy (crypto: the Nth day boundary); the beat job
    ``trading.tasks.exit_lots`` sells them then and records the outcome in ``exit_state`` and
    ``exit_note`` (a closed market defers the exit to the next open).
    """

    class ExitState(models.TextChoices):
        NONE = "", "No exit"
        SCHEDULED = "scheduled", "Scheduled"
        DEFERRED = "deferred", "Deferred to the next open"
        DONE = "done", "Sold"
        SKIPPED = "skipped", "Nothing left to sell"
        REJECTED = "rejected", "Order rejected"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lots")
    instrument = models.ForeignKey("markets.Instrument", on_delete=models.PROTECT, related_name="lots")
    fill = models.OneToOneField(Fill, on_delete=models.PROTECT, related_name="lot")
    opened_at = models.DateTimeField(help_text="the buy fill's time")
    day = models.DateField(help_text="KRX session date, or the crypto day (Asia/Seoul), of the buy")
    quantity = QuantityField(help_text="bought")
    remaining = QuantityField(help_text="still held")
    price = PriceField(help_text="cost per unit including the buy fee")
    cost = MoneyField(help_text="paid: price x quantity + fee")
    remaining_cost = MoneyField(help_text="cost basis of the remaining quantity")
    realized_pnl = MoneyField(default=0)
    closed_at = models.DateTimeField(null=True, blank=True)
    exit_after_sessions = models.PositiveSmallIntegerField(null=True, blank=True)
    exit_due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    exit_state = models.CharField(max_length=10, choices=ExitState.choices, default=ExitState.NONE, blank=True)
    exit_note = models.CharField(max_length=300, blank=True)
    exit_order = models.ForeignKey(Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["user", "instrument", "opened_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="lot_quantity_positive"),
            models.CheckConstraint(
                condition=Q(remaining__gte=0) & Q(remaining__lte=F("quantity")), name="lot_remaining_within_quantity"
            ),
            models.CheckConstraint(condition=Q(remaining_cost__gte=0), name="lot_remaining_cost_non_negative"),
        ]
        indexes = [models.Index(fields=["user", "instrument", "remaining"])]

    def __str__(self) -> str:
        return f"lot #{self.pk} {self.remaining}/{self.quantity} {self.instrument} ({self.day})"

    @property
    def is_open(self) -> bool:
        return self.remaining > 0
