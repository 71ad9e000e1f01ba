"""Predictions API: predictors, daily predictions, the discover list, prediction backtests."""

from decimal import Decimal

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from core.exceptions import DomainError
from core.serializers import ModelSerializer, PlainDecimalField
from predictions import selectors, services
from predictions.models import Board, Prediction, PredictionBacktest, Predictor


def _predictor_or_error(name: str, field: str = "model") -> Predictor:
    predictor = selectors.predictor_get(name=name)
    if predictor is None:
        raise DomainError(f"no predictor named {name!r}", field=field, code="not_found")
    return predictor


class PredictorSerializer(ModelSerializer):
    class Meta:
        model = Predictor
        fields = [
            "name",
            "kind",
            "market",
            "horizon",
            "up_threshold",
            "window",
            "features",
            "train_start",
            "train_end",
            "metrics",
            "params",
            "library_versions",
            "active",
            "created_at",
        ]
        read_only_fields = fields


class PredictionSerializer(ModelSerializer):
    model = serializers.CharField(source="predictor.name")
    market = serializers.CharField(source="predictor.market")
    instrument_id = serializers.IntegerField()
    symbol = serializers.CharField(source="instrument.symbol")
    name = serializers.CharField(source="instrument.name")

    class Meta:
        model = Prediction
        fields = [
            "model",
            "market",
            "session_date",
            "horizon",
            "instrument_id",
            "symbol",
            "name",
            "probability_up",
            "rank",
        ]
        read_only_fields = fields


class PredictionQuerySerializer(serializers.Serializer):
    date = serializers.DateField(required=False, help_text="KRX session date (Asia/Seoul); default: the latest")
    market = serializers.ChoiceField(choices=Board.choices, required=False)
    model = serializers.CharField(required=False, max_length=80, help_text="predictor name")

    def validate_model(self, value):
        return _predictor_or_error(value)


class DiscoverQuerySerializer(serializers.Serializer):
    market = serializers.ChoiceField(choices=Board.choices, default=Board.KOSPI)
    date = serializers.DateField(required=False, help_text="KRX session date; default: the latest predicted")
    limit = serializers.IntegerField(min_value=1, max_value=100, default=20)
    model = serializers.CharField(required=False, max_length=80, help_text="rank by this predictor")
    thresholds = serializers.CharField(
        required=False,
        max_length=500,
        help_text="per-model probability thresholds, e.g. gbm-kospi-v1:0.6,cnn-kospi-v1:0.55 (default 0.5)",
    )

    def validate_model(self, value):
        return _predictor_or_error(value)

    def validate_thresholds(self, value):
        out = {}
        for part in value.split(","):
            name, sep, number = part.strip().rpartition(":")
            try:
                probability = float(number)
            except ValueError:
                probability = -1.0
            if not sep or not name or not 0 <= probability <= 1:
                raise serializers.ValidationError(f"{part!r}: write model:probability with a probability from 0 to 1.")
            out[name] = probability
        return out

    def validate(self, attrs):
        predictor = attrs.get("model")
        if predictor is not None and predictor.market != attrs["market"]:
            raise serializers.ValidationError(
                {"model": [f"{predictor.name} predicts {predictor.market}, not {attrs['market']}."]}
            )
        return attrs


class ModelVoteSerializer(serializers.Serializer):
    model = serializers.CharField()
    probability_up = serializers.FloatField(allow_null=True)
    rank = serializers.IntegerField(allow_null=True)


class DiscoverPickSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    instrument_id = serializers.IntegerField()
    symbol = serializers.CharField()
    name = serializers.CharField()
    segment = serializers.CharField()
    close = PlainDecimalField(max_digits=30, decimal_places=12, allow_null=True)
    probability_up = serializers.FloatField()
    probabilities = serializers.DictField(child=serializers.FloatField())
    ranks = serializers.DictField(child=serializers.IntegerField())
    by_model = ModelVoteSerializer(many=True)
    models_agreeing = serializers.IntegerField()
    models_predicting = serializers.IntegerField()
    agreement = serializers.FloatField()
    last_price = PlainDecimalField(max_digits=30, decimal_places=12, allow_null=True, help_text="live, from the ticker")
    change_since_close = serializers.FloatField(allow_null=True, help_text="last / the session's close - 1")
    passes = serializers.DictField(child=serializers.BooleanField(), help_text="model -> reaches its threshold")
    models_passing = serializers.IntegerField()
    ticket_url = serializers.CharField(help_text="the order ticket with this stock and an exit after the horizon")


class DiscoverSerializer(serializers.Serializer):
    market = serializers.CharField()
    date = serializers.DateField(allow_null=True)
    model = serializers.CharField(allow_null=True)
    models = serializers.ListField(child=serializers.CharField())
    is_open = serializers.BooleanField(help_text="KRX is in its regular session now")
    thresholds = serializers.DictField(child=serializers.FloatField())
    results = DiscoverPickSerializer(many=True)


class PredictorViewSet(viewsets.ReadOnlyModelViewSet):
    """Trained predictors with their metadata (features, training period, validation figures,
    library versions). ``metrics.validation`` is model selection inside the training period,
    not an out-of-sample result."""

    serializer_class = PredictorSerializer
    permission_classes = [AllowAny]
    lookup_field = "name"
    filter_backends = []

    def get_queryset(self):
        return selectors.predictor_list()


class PredictionViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Daily predictions: probability that a stock's close 5 sessions later is >= 4 % higher."""

    serializer_class = PredictionSerializer
    permission_classes = [AllowAny]
    filter_backends = []

    def get_queryset(self):
        query = PredictionQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        return selectors.prediction_list(
            day=params.get("date"), board=params.get("market"), predictor=params.get("model")
        )

    @extend_schema(parameters=[PredictionQuerySerializer])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(parameters=[DiscoverQuerySerializer], responses=DiscoverSerializer)
    @action(detail=False, methods=["get"], pagination_class=None)
    def discover(self, request):
        """The top picks of a session: name, close, every active model's probability, and how
        many of the models rank the stock in their own top ``limit`` (agreement)."""
        query = DiscoverQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        data = selectors.discover(
            board=params["market"],
            day=params.get("date"),
            limit=params["limit"],
            predictor=params.get("model"),
            thresholds=params.get("thresholds"),
        )
        return Response(DiscoverSerializer(data).data)


class PredictionBacktestSerializer(ModelSerializer):
    model = serializers.CharField(source="predictor.name")
    chart_url = serializers.SerializerMethodField()

    class Meta:
        model = PredictionBacktest
        fields = [
            "id",
            "model",
            "market",
            "start",
            "end",
            "top_n",
            "hold_sessions",
            "stop_loss_pct",
            "buy_fee_pct",
            "sell_fee_pct",
            "sell_tax_pct",
            "initial_capital",
            "final_equity",
            "total_return",
            "cagr",
            "max_drawdown",
            "trades",
            "win_rate",
            "avg_trade_return",
            "benchmark_total_return",
            "benchmark_cagr",
            "benchmark_max_drawdown",
            "created_at",
            "chart_url",
        ]
        read_only_fields = fields

    def get_chart_url(self, obj) -> str:
        return reverse("prediction-backtest-chart", args=[obj.pk])


class PredictionBacktestDetailSerializer(PredictionBacktestSerializer):
    class Meta(PredictionBacktestSerializer.Meta):
        fields = [*PredictionBacktestSerializer.Meta.fields, "curve"]
        read_only_fields = fields


class PredictionBacktestCreateSerializer(serializers.Serializer):
    """A backtest of a predictor's stored predictions. Percentages in percent (0.015 =
    0.015 %); ``sell_tax_pct`` omitted = the KRX statutory rate of each sell date."""

    model = serializers.CharField(max_length=80)
    market = serializers.ChoiceField(choices=Board.choices, required=False)
    start = serializers.DateField()
    end = serializers.DateField()
    top_n = serializers.IntegerField(min_value=1, max_value=100, default=20)
    hold_sessions = serializers.IntegerField(min_value=1, max_value=60, default=5)
    stop_loss_pct = serializers.DecimalField(
        max_digits=6,
        decimal_places=3,
        min_value=Decimal("0.001"),
        max_value=Decimal("99.999"),
        required=False,
        allow_null=True,
    )
    buy_fee_pct = serializers.DecimalField(
        max_digits=6, decimal_places=4, min_value=Decimal(0), max_value=Decimal(5), default=Decimal("0.015")
    )
    sell_fee_pct = serializers.DecimalField(
        max_digits=6, decimal_places=4, min_value=Decimal(0), max_value=Decimal(5), default=Decimal("0.015")
    )
    sell_tax_pct = serializers.DecimalField(
        max_digits=6, decimal_places=4, min_value=Decimal(0), max_value=Decimal(5), required=False, allow_null=True
    )
    initial_capital = serializers.DecimalField(
        max_digits=20,
        decimal_places=0,
        min_value=Decimal(100_000),
        max_value=Decimal(10) ** 13,
        default=Decimal(10_000_000),
    )

    def validate_model(self, value):
        return _predictor_or_error(value)

    def validate(self, attrs):
        if attrs["end"] < attrs["start"]:
            raise serializers.ValidationError({"end": ["end must not be before start."]})
        return attrs


class PredictionBacktestViewSet(
    mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Your backtests of predictors' stored predictions; another user's are not found."""

    permission_classes = [IsAuthenticated]
    filter_backends = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return PredictionBacktest.objects.none()
        return selectors.prediction_backtest_list(user=self.request.user)

    def get_serializer_class(self):
        if self.action == "create":
            return PredictionBacktestCreateSerializer
        return PredictionBacktestDetailSerializer if self.action == "retrieve" else PredictionBacktestSerializer

    @extend_schema(request=PredictionBacktestCreateSerializer, responses={201: PredictionBacktestDetailSerializer})
    def create(self, request, *args, **kwargs):
        query = PredictionBacktestCreateSerializer(data=request.data)
        query.is_valid(raise_exception=True)
        params = dict(query.validated_data)
        backtest = services.prediction_backtest_create(user=request.user, predictor=params.pop("model"), **params)
        return Response(PredictionBacktestDetailSerializer(backtest).data, status=status.HTTP_201_CREATED)
