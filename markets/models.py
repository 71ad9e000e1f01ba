"""Instruments, OHLCV candles and the latest ticker per instrument.

Prices and quantities are ``Decimal``; times are timezone-aware UTC (a KRX daily candle opens
at 00:00 Asia/Seoul of its session date, i.e. 15:00 UTC the day before; an Upbit or Bithumb
daily candle at 00:00 KST likewise).
"""

from datetime import timedelta
from decimal import Decimal

from django.db import models
from django.db.models import F, Q

from core.fields import MoneyField, PriceField, QuantityField
from markets import exchanges

QUANTITY = {"max_digits": 36, "decimal_places": 12}


class Market(models.TextChoices):
    CRYPTO = "crypto", "Crypto"
    KRX = "krx", "KRX stock"
    KRX_DERIVATIVES = "krx_derivatives", "KRX derivatives"


class Kind(models.TextChoices):
    SPOT = "spot", "Spot (coin, stock)"
    FUTURE = "future", "Future"
    OPTION = "option", "Option"


class OptionRight(models.TextChoices):
    CALL = "call", "Call"
    PUT = "put", "Put"


# The venues, from the one registry (markets/exchanges.py): a member per Venue, named by its id
# in capitals (Exchange.UPBIT == "upbit"), labelled with its label (the functional Enum API,
# which the stubs do not type).
Exchange = models.TextChoices(  # type: ignore[call-overload]
    "Exchange", [(value.upper(), (value, label)) for value, label in exchanges.choices()]
)


class Interval(models.TextChoices):
    M1 = "1m", "1 minute"
    M5 = "5m", "5 minutes"
    M10 = "10m", "10 minutes"
    M15 = "15m", "15 minutes"
    M30 = "30m", "30 minutes"
    H1 = "1h", "1 hour"
    H4 = "4h", "4 hours"
    D1 = "1d", "1 day"


INTERVAL_DURATION = {
    "1m": timedelta(minutes=1),
    "5m": timedelta(minutes=5),
    "10m": timedelta(minutes=10),
    "15m": timedelta(minutes=15),
    "30m": timedelta(minutes=30),
    "1h": timedelta(hours=1),
    "4h": timedelta(hours=4),
    "1d": timedelta(days=1),
}


class Instrument(models.Model):
    """A tradable thing: a coin pair on an exchange, a KRX stock, or a KRX future/option.

    ``symbol`` is ccxt's unified symbol for crypto (``BTC/KRW``, ``BTC/USDT:USDT``) and the
    6-character KRX short code for stocks (``005930``). ``segment`` is the KRX board
    (KOSPI, KOSDAQ, KOSDAQ GLOBAL, KONEX); blank for crypto.

    KRX derivatives (``market`` ``krx_derivatives``, exchange ``krx``): ``symbol`` is the KIS/KRX
    short code (``101W09`` future, ``201W08450`` call), ``kind`` future|option, ``underlying``
    (``KOSPI200``), ``expiry`` (last trading day), ``strike`` (index points), ``right`` call|put,
    ``multiplier`` (KRW per index point). Spot instruments: kind ``spot``, the rest empty.

    KRX stocks also carry ``market_cap`` (KRW), ``listed_shares`` and ``market_cap_date`` (the
    session they are of), from ``import_instruments --format krx_tickers``.
    """

    market = models.CharField(max_length=20, choices=Market.choices)
    exchange = models.CharField(max_length=20, choices=Exchange.choices)
    symbol = models.CharField(max_length=40)
    base = models.CharField(max_length=20)
    quote = models.CharField(max_length=10)
    segment = models.CharField(max_length=20, blank=True)
    name_ko = models.CharField("Korean name", max_length=100, blank=True)
    name_en = models.CharField("English name", max_length=100, blank=True)
    tick_size = PriceField(null=True, blank=True)
    lot_size = QuantityField(null=True, blank=True)
    min_notional = PriceField("minimum order value", null=True, blank=True)
    active = models.BooleanField(default=True)
    # derivatives (market krx_derivatives); spot instruments keep the defaults
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.SPOT)
    underlying = models.CharField(max_length=20, blank=True, help_text="e.g. KOSPI200")
    expiry = models.DateField(null=True, blank=True, help_text="last trading day (KRX calendar)")
    strike = PriceField(null=True, blank=True, help_text="index points")
    right = models.CharField(max_length=4, choices=OptionRight.choices, blank=True)
    multiplier = PriceField(null=True, blank=True, help_text="KRW per index point")
    # KRX stocks: size on ``market_cap_date`` (krx_tickers.csv ``marcap_krw``, ``shares``); the
    # board is ``segment``. Null for crypto and derivatives, or when no source gave them.
    market_cap = MoneyField("market cap (KRW)", null=True, blank=True)
    listed_shares = models.BigIntegerField(null=True, blank=True, help_text="shares listed")
    market_cap_date = models.DateField(null=True, blank=True, help_text="KRX session the market cap is of")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["exchange", "symbol"]
        constraints = [
            models.UniqueConstraint(fields=["exchange", "symbol"], name="instrument_exchange_symbol_uniq"),
            models.CheckConstraint(
                condition=Q(tick_size__isnull=True) | Q(tick_size__gt=0), name="instrument_tick_size_positive"
            ),
            models.CheckConstraint(
                condition=Q(lot_size__isnull=True) | Q(lot_size__gt=0), name="instrument_lot_size_positive"
            ),
        ]
        indexes = [
            models.Index(fields=["market", "exchange"]),
            models.Index(fields=["market", "segment", "market_cap"], name="instrument_market_cap_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.exchange}:{self.symbol}"

    @property
    def name(self) -> str:
        return self.name_ko or self.name_en or self.symbol


class Candle(models.Model):
    """One OHLCV bar. ``volume`` is in base units (coins, shares); ``quote_volume`` is the
    traded value in the quote currency when the source records it."""

    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="candles")
    interval = models.CharField(max_length=4, choices=Interval.choices)
    open_time = models.DateTimeField(help_text="candle open time, UTC")
    open = PriceField()
    high = PriceField()
    low = PriceField()
    close = PriceField()
    volume = QuantityField()
    quote_volume = QuantityField(null=True, blank=True)

    class Meta:
        ordering = ["instrument", "interval", "open_time"]
        constraints = [
            models.UniqueConstraint(
                fields=["instrument", "interval", "open_time"], name="candle_instrument_interval_open_time_uniq"
            ),
            # KRX trading-halt rows are open = high = low = 0 with a close, so only these hold.
            models.CheckConstraint(condition=Q(high__gte=F("low")), name="candle_high_gte_low"),
            models.CheckConstraint(
                condition=Q(low__gte=0) & Q(close__gt=0) & Q(volume__gte=0), name="candle_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instrument} {self.interval} {self.open_time:%Y-%m-%d %H:%M}"


class Ticker(models.Model):
    """The latest snapshot of an instrument, kept current by a ticker feed.

    ``change`` is last minus the source's reference price (24 h open or previous close),
    ``change_rate`` the same as a fraction (0.0125 = +1.25 %). ``time`` is the exchange's (or
    the recording's) timestamp, ``source`` the feed that wrote it (``bithumb``, ``replay``...).
    """

    instrument = models.OneToOneField(Instrument, on_delete=models.CASCADE, primary_key=True, related_name="ticker")
    last_price = PriceField()
    change = PriceField(null=True, blank=True)
    change_rate = models.DecimalField(max_digits=20, decimal_places=10, null=True, blank=True)
    volume_24h = QuantityField(null=True, blank=True)
    traded_value_24h = QuantityField(null=True, blank=True)
    time = models.DateTimeField()
    source = models.CharField(max_length=20)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-traded_value_24h"]
        constraints = [models.CheckConstraint(condition=Q(last_price__gt=0), name="ticker_last_price_positive")]

    def __str__(self) -> str:
        return f"{self.instrument} {Decimal(self.last_price).normalize():f}"  # no padding, no exponent


class TickKind(models.TextChoices):
    TRADE = "trade", "Execution"
    QUOTE = "quote", "Best bid/ask"


class Tick(models.Model):
    """One execution (``kind`` trade: ``price``, ``size``, aggressor ``side`` buy|sell when the
    frame gives it) or best bid/ask (``kind`` quote: ``bid``, ``ask``, ``bid_size``,
    ``ask_size``) of an instrument, as the KIS feed delivered it.

    ``exchange_time`` (the exchange's stamp) and ``received_time`` are UTC. ``session_date`` is
    the KRX session date (a night session keeps its start date after midnight) and ``sequence``
    the record's number within that session and kind (a recording's row id), so one record is
    unique per (instrument, kind, session_date, sequence): re-imports change nothing and
    identical records in the same second stay distinct. ``extra``: the record's other fields
    as text. Prices in index points (derivatives) or KRW; sizes in contracts or shares.
    """

    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="ticks")
    kind = models.CharField(max_length=5, choices=TickKind.choices)
    session_date = models.DateField()
    sequence = models.BigIntegerField()
    exchange_time = models.DateTimeField()
    received_time = models.DateTimeField()
    price = PriceField(null=True, blank=True)
    size = QuantityField(null=True, blank=True)
    side = models.CharField(max_length=4, blank=True)
    bid = PriceField(null=True, blank=True)
    ask = PriceField(null=True, blank=True)
    bid_size = QuantityField(null=True, blank=True)
    ask_size = QuantityField(null=True, blank=True)
    source = models.CharField(max_length=20, help_text="kis, kis_recording...")
    extra = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["instrument", "exchange_time", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["instrument", "kind", "session_date", "sequence"], name="tick_instrument_session_sequence_uniq"
            ),
            models.CheckConstraint(
                condition=~Q(kind="trade") | (Q(price__gt=0) & Q(size__gt=0)), name="tick_trade_has_price_size"
            ),
        ]
        indexes = [models.Index(fields=["instrument", "kind", "exchange_time"]), models.Index(fields=["exchange_time"])]

    def __str__(self) -> str:
        return f"{self.instrument} {self.kind} {self.exchange_time:%Y-%m-%d %H:%M:%S}"


class JobStatus(models.Model):
    """The latest outcome of one periodic job for one venue (``venue`` blank: the whole job).

    Written by ``markets.jobs.job_run`` / ``@tracked`` around each periodic task; read by
    ``/api/v1/status/`` and its admin page. Times are UTC (shown in Asia/Seoul).
    """

    job = models.CharField(max_length=200, help_text="the job's name in tradesite/schedule.py")
    venue = models.CharField(max_length=20, blank=True)
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, help_text="the last failure's reason")
    last_duration_ms = models.PositiveIntegerField(null=True, blank=True)
    rows_written = models.PositiveBigIntegerField(default=0, help_text="rows the last successful run wrote")
    rows_total = models.PositiveBigIntegerField(default=0)
    runs = models.PositiveIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0)
    consecutive_failures = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["job", "venue"]
        constraints = [models.UniqueConstraint(fields=["job", "venue"], name="jobstatus_job_venue_uniq")]
        verbose_name_plural = "job statuses"

    def __str__(self) -> str:
        return f"{self.job} {self.venue}".strip()


class CandleGap(models.Model):
    """Missing candles between two stored ones of an instrument and interval: every open time
    from ``start`` to ``end`` (inclusive, UTC) is absent. Recomputed by each crawl of the series
    (``markets.services.candles_crawl``); a gap filled later disappears."""

    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="candle_gaps")
    interval = models.CharField(max_length=4, choices=Interval.choices)
    start = models.DateTimeField(help_text="first missing open time, UTC")
    end = models.DateTimeField(help_text="last missing open time, UTC")
    missing = models.PositiveIntegerField(help_text="candles missing")
    detected_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["instrument", "interval", "start"]
        constraints = [
            models.UniqueConstraint(
                fields=["instrument", "interval", "start"], name="candlegap_instrument_interval_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.instrument} {self.interval} {self.start:%Y-%m-%d %H:%M} +{self.missing}"
