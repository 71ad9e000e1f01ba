"""Per-minute taker buy/sell volume, and the bookkeeping that keeps it exact.

* ``TakerVolume``: one row per (exchange, symbol, minute): taker buy and sell volume in the base
  asset, their value in the quote currency, the trade count, and whether every trade of the
  minute was seen (``is_complete``).
* ``CoverageSpan``: the stretches of time in which every trade of a pair was loaded. A minute is
  complete when one span covers all of it.
* ``StagedTrade``: the raw trades of minutes some load saw only in part (the first and last
  minute of a file or poll), so that the minute can be recomputed from all its trades when the
  rest arrives. Kept for ``ETL["STAGING_RETENTION_DAYS"]`` once the minute is complete.
* ``PairState``: the live cursor per pair (last trade id and time), its last run and error.
* ``IngestRun``: one row per file import or live run: what it read, wrote, or why it failed.

Times are timezone-aware UTC; a minute is ``[minute, minute + 60 s)``.
"""

from django.db import models
from django.db.models import Q

from core.fields import QuantityField
from markets.models import Exchange


class TakerVolume(models.Model):
    """Taker volume of one minute. Volumes in the base asset (BTC; inverse contracts converted),
    values in ``quote`` (USDT, USD, KRW). Derived figures (total, ratios) are computed on read."""

    exchange = models.CharField(max_length=20, choices=Exchange.choices)
    symbol = models.CharField(max_length=40, help_text="the exchange's own symbol, e.g. BTCUSDT, XBTUSD, BTC_KRW")
    minute = models.DateTimeField(help_text="start of the minute, UTC")
    quote = models.CharField(max_length=10)
    taker_buy_volume = QuantityField(help_text="base asset")
    taker_sell_volume = QuantityField(help_text="base asset")
    taker_buy_value = QuantityField(help_text="quote currency")
    taker_sell_value = QuantityField(help_text="quote currency")
    trade_count = models.PositiveIntegerField()
    is_complete = models.BooleanField(help_text="every trade of the minute was seen")

    class Meta:
        ordering = ["exchange", "symbol", "-minute"]
        verbose_name = "taker volume minute"
        constraints = [
            models.UniqueConstraint(
                fields=["exchange", "symbol", "minute"], name="takervolume_exchange_symbol_minute_uniq"
            ),
            models.CheckConstraint(
                condition=Q(taker_buy_volume__gte=0)
                & Q(taker_sell_volume__gte=0)
                & Q(taker_buy_value__gte=0)
                & Q(taker_sell_value__gte=0),
                name="takervolume_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.exchange}:{self.symbol} {self.minute:%Y-%m-%d %H:%M}"


class CoverageSpan(models.Model):
    """Every trade of the pair from ``start`` to ``end`` (both inclusive) has been loaded.

    ``first_trade_id``/``last_trade_id`` are the trades at its ends: two spans of an exchange
    with consecutive ids (Binance) join when one's last id + 1 is the other's first id.
    """

    exchange = models.CharField(max_length=20, choices=Exchange.choices)
    symbol = models.CharField(max_length=40)
    start = models.DateTimeField()
    end = models.DateTimeField()
    first_trade_id = models.CharField(max_length=64, blank=True)
    last_trade_id = models.CharField(max_length=64, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["exchange", "symbol", "start"]
        indexes = [models.Index(fields=["exchange", "symbol", "start"])]
        constraints = [
            models.CheckConstraint(condition=Q(end__gte=models.F("start")), name="coveragespan_end_after_start")
        ]

    def __str__(self) -> str:
        return f"{self.exchange}:{self.symbol} {self.start:%Y-%m-%d %H:%M:%S} .. {self.end:%Y-%m-%d %H:%M:%S}"


class StagedTrade(models.Model):
    """A raw trade of a minute not yet seen whole. Amounts are exact integer units
    (``base_units * 10**-base_scale``): SQLite would round a decimal column to 15 digits, and
    the minute is recomputed from these rows exactly."""

    exchange = models.CharField(max_length=20, choices=Exchange.choices)
    symbol = models.CharField(max_length=40)
    trade_id = models.CharField(max_length=100)
    time = models.DateTimeField()
    minute = models.DateTimeField()
    is_buy = models.BooleanField(help_text="the taker bought")
    base_units = models.BigIntegerField()
    base_scale = models.PositiveSmallIntegerField()
    quote_units = models.BigIntegerField()
    quote_scale = models.PositiveSmallIntegerField()
    loaded_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["exchange", "symbol", "trade_id"], name="stagedtrade_exchange_symbol_id_uniq"
            )
        ]
        indexes = [models.Index(fields=["exchange", "symbol", "minute"]), models.Index(fields=["loaded_at"])]

    def __str__(self) -> str:
        return f"{self.exchange}:{self.symbol} #{self.trade_id}"


class IngestRun(models.Model):
    """One file import or live extraction of one pair."""

    class Kind(models.TextChoices):
        FILE = "file", "File"
        LIVE = "live", "Live"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        OK = "ok", "OK"
        FAILED = "failed", "Failed"

    exchange = models.CharField(max_length=20, choices=Exchange.choices)
    symbol = models.CharField(max_length=40)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    source = models.CharField(max_length=500, help_text="file path or endpoint")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    trades_read = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0, help_text="rows repeating a trade id within the input")
    trades_staged = models.PositiveIntegerField(default=0)
    minutes_written = models.PositiveIntegerField(default=0)
    first_trade_time = models.DateTimeField(null=True, blank=True)
    last_trade_time = models.DateTimeField(null=True, blank=True)
    requests = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        indexes = [models.Index(fields=["exchange", "symbol", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.exchange}:{self.symbol} {self.started_at:%Y-%m-%d %H:%M:%S} {self.status}"


class PairState(models.Model):
    """The live cursor of a pair: where the next live run continues."""

    exchange = models.CharField(max_length=20, choices=Exchange.choices)
    symbol = models.CharField(max_length=40)
    last_trade_id = models.CharField(max_length=100, blank=True)
    last_trade_time = models.DateTimeField(null=True, blank=True)
    last_run = models.ForeignKey(IngestRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    last_error = models.TextField(blank=True, help_text="of the last failed run; cleared by a good one")
    last_error_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["exchange", "symbol"]
        verbose_name = "pair cursor"
        constraints = [models.UniqueConstraint(fields=["exchange", "symbol"], name="pairstate_exchange_symbol_uniq")]

    def __str__(self) -> str:
        return f"{self.exchange}:{self.symbol}"
