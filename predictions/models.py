"""Trained predictors, their daily predictions, and prediction backtests.

A ``Predictor`` is one trained model version: its artifact file lives under
``settings.PREDICTIONS["ARTIFACT_DIR"]`` (never in git) and its metadata here. A ``Prediction``
is what a predictor said about one stock on one KRX session: the probability that the close
``horizon`` sessions later is at least 4 % higher. Session dates are Asia/Seoul calendar dates
of KRX sessions.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from markets.models import Instrument


class Board(models.TextChoices):
    """The KRX boards a predictor is trained on; KOSDAQ includes KOSDAQ GLOBAL; ALL is both
    boards in one model (as the prototype trained)."""

    KOSPI = "KOSPI", "KOSPI"
    KOSDAQ = "KOSDAQ", "KOSDAQ"
    ALL = "ALL", "KOSPI + KOSDAQ"


# Instrument.segment values belonging to each board
BOARD_SEGMENTS = {
    Board.KOSPI: ["KOSPI"],
    Board.KOSDAQ: ["KOSDAQ", "KOSDAQ GLOBAL"],
    Board.ALL: ["KOSPI", "KOSDAQ", "KOSDAQ GLOBAL"],
}


class ModelKind(models.TextChoices):
    GBM = "gbm", "gradient boosting on 20-session features"
    CNN = "cnn", "CNN on 20-candle chart images"


class Predictor(models.Model):
    """One trained model version and its metadata.

    ``train_start`` .. ``train_end``: the period whose prices the model read; its samples are the
    sessions t with t + horizon <= train_end, so nothing after ``train_end`` was seen and any
    later period is out of sample. ``metrics``: training sample counts and the walk-forward
    validation figures used to choose the model (not results). ``active``: the daily job predicts
    with it (training a new version of a kind and board retires the older one).
    """

    name = models.SlugField(max_length=80, unique=True)
    kind = models.CharField(max_length=10, choices=ModelKind.choices)
    market = models.CharField("board", max_length=10, choices=Board.choices)
    horizon = models.PositiveSmallIntegerField(help_text="sessions ahead")
    up_threshold = models.FloatField(help_text="up = close[t+h] >= (1 + this) * close[t]")
    window = models.PositiveSmallIntegerField(help_text="sessions of history per prediction")
    features = models.JSONField(help_text="feature names, in model order")
    train_start = models.DateField()
    train_end = models.DateField()
    metrics = models.JSONField(default=dict)
    params = models.JSONField(default=dict)
    library_versions = models.JSONField(default=dict)
    artifact = models.CharField(max_length=200, help_text="file name under PREDICTIONS['ARTIFACT_DIR']")
    artifact_sha256 = models.CharField(max_length=64)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(train_end__gte=models.F("train_start")), name="predictor_train_period_ordered"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Prediction(models.Model):
    """``probability_up`` that the close ``horizon`` sessions after ``session_date`` is at least
    (1 + up_threshold) times its close; ``rank`` 1 = the highest probability among the stocks
    the predictor scored that session."""

    predictor = models.ForeignKey(Predictor, on_delete=models.CASCADE, related_name="predictions")
    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="predictions")
    session_date = models.DateField()
    horizon = models.PositiveSmallIntegerField()
    probability_up = models.FloatField()
    rank = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["session_date", "predictor", "rank"]
        constraints = [
            models.UniqueConstraint(
                fields=["predictor", "instrument", "session_date"], name="prediction_predictor_instrument_date_uniq"
            ),
            models.CheckConstraint(
                condition=Q(probability_up__gte=0) & Q(probability_up__lte=1), name="prediction_probability_range"
            ),
            models.CheckConstraint(condition=Q(rank__gte=1), name="prediction_rank_positive"),
        ]
        indexes = [models.Index(fields=["predictor", "session_date", "rank"])]

    def __str__(self) -> str:
        return f"{self.predictor} {self.instrument} {self.session_date} p={self.probability_up:.3f}"


class PredictionBacktest(models.Model):
    """A user's backtest of a predictor's stored predictions (rules: ``predictions.backtest``).

    Percentages are percent (0.015 = 0.015 %); ``sell_tax_pct`` null = the KRX statutory rate of
    each sell date. Result figures are fractions (0.12 = +12 %); ``curve`` is
    ``[{"date", "equity", "benchmark"}]`` in KRW at each session close.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="prediction_backtests")
    predictor = models.ForeignKey(Predictor, on_delete=models.CASCADE, related_name="backtests")
    market = models.CharField("board", max_length=10, choices=Board.choices)
    start = models.DateField()
    end = models.DateField()
    top_n = models.PositiveSmallIntegerField()
    hold_sessions = models.PositiveSmallIntegerField(default=5)
    stop_loss_pct = models.DecimalField(max_digits=6, decimal_places=3, null=True, blank=True)
    buy_fee_pct = models.DecimalField(max_digits=6, decimal_places=4)
    sell_fee_pct = models.DecimalField(max_digits=6, decimal_places=4)
    sell_tax_pct = models.DecimalField(max_digits=6, decimal_places=4, null=True, blank=True)
    initial_capital = models.DecimalField(max_digits=20, decimal_places=0)
    final_equity = models.DecimalField(max_digits=20, decimal_places=0)
    total_return = models.FloatField()
    cagr = models.FloatField(null=True)
    max_drawdown = models.FloatField()
    trades = models.PositiveIntegerField()
    win_rate = models.FloatField(null=True)
    avg_trade_return = models.FloatField(null=True)
    benchmark_total_return = models.FloatField()
    benchmark_cagr = models.FloatField(null=True)
    benchmark_max_drawdown = models.FloatField()
    curve = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(end__gte=models.F("start")), name="prediction_backtest_period_ordered"),
            models.CheckConstraint(
                condition=Q(top_n__gte=1) & Q(hold_sessions__gte=1), name="prediction_backtest_sizes_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.predictor} {self.start}..{self.end}"
