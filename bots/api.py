"""Breakout bot and backtest API (authenticated; a user sees only their own, others' are 404).

- ``/api/v1/bots/``: POST creates, GET lists; ``/bots/{id}/`` GET, PATCH, DELETE;
  ``/bots/{id}/decisions/`` the bot's decision log, newest first.
- ``/api/v1/backtests/``: POST runs and stores a backtest (the parameters of
  ``manage.py backtest_breakout``), GET lists; ``/backtests/{id}/`` has the whole result.
"""

from decimal import Decimal

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from bots import selectors, services
from bots.models import Backtest, Bot, BotDecision
from core.serializers import ModelSerializer
from markets.models import Exchange


class BotSerializer(ModelSerializer):
    exchange = serializers.CharField(source="instrument.exchange", read_only=True, allow_null=True)
    symbol = serializers.CharField(source="instrument.symbol", read_only=True, allow_null=True)

    class Meta:
        model = Bot
        fields = [
            "id",
            "kind",
            "name",
            "instrument",
            "exchange",
            "symbol",
            "model",
            "second_model",
            "condition",
            "threshold",
            "second_threshold",
            "top_n",
            "stop_loss_pct",
            "k_mode",
            "k",
            "lookback",
            "ma_window",
            "fraction",
            "enabled",
            "exit_after_sessions",
            "state",
            "state_reason",
            "day",
            "day_open",
            "k_today",
            "ma_today",
            "target",
            "holding_quantity",
            "holding_day",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class BotCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Bot.Kind.choices, default=Bot.Kind.BREAKOUT)
    instrument = serializers.IntegerField(min_value=1, required=False, help_text="instrument id (breakout bots)")
    model = serializers.CharField(max_length=80, required=False, help_text="predictions bot: the predictor followed")
    second_model = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")
    condition = serializers.ChoiceField(choices=Bot.Condition.choices, default=Bot.Condition.MODEL)
    threshold = serializers.DecimalField(max_digits=10, decimal_places=8, default=Decimal("0.5"))
    second_threshold = serializers.DecimalField(max_digits=10, decimal_places=8, default=Decimal("0.5"))
    top_n = serializers.IntegerField(default=5, help_text="predictions bot: picks per session, 1..50")
    stop_loss_pct = serializers.DecimalField(max_digits=5, decimal_places=2, required=False, allow_null=True)
    name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    k_mode = serializers.ChoiceField(choices=Bot.KMode.choices, default=Bot.KMode.FIXED)
    k = serializers.DecimalField(
        max_digits=6, decimal_places=4, default=Decimal("0.5"), help_text="k of a fixed-k bot, 0..1"
    )
    lookback = serializers.IntegerField(default=20, help_text="days the best K is fitted on")
    ma_window = serializers.IntegerField(default=5, help_text="moving-average filter in days; 0 = off")
    fraction = serializers.DecimalField(
        max_digits=6, decimal_places=4, default=Decimal("0.5"), help_text="of the available cash per entry, (0, 1]"
    )
    enabled = serializers.BooleanField(default=True)
    exit_after_sessions = serializers.IntegerField(
        min_value=1,
        max_value=60,
        required=False,
        allow_null=True,
        help_text="hold each entry N sessions (its lot's exit) instead of selling at the next open",
    )


class BotUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    k_mode = serializers.ChoiceField(choices=Bot.KMode.choices, required=False)
    k = serializers.DecimalField(max_digits=6, decimal_places=4, required=False)
    lookback = serializers.IntegerField(required=False)
    ma_window = serializers.IntegerField(required=False)
    fraction = serializers.DecimalField(max_digits=6, decimal_places=4, required=False)
    enabled = serializers.BooleanField(required=False)
    exit_after_sessions = serializers.IntegerField(min_value=1, max_value=60, required=False, allow_null=True)

    def validate(self, attrs):
        if "instrument" in self.initial_data:
            raise serializers.ValidationError(
                {"instrument": "A bot's instrument cannot be changed; create another bot."}
            )
        return attrs


class BotDecisionSerializer(ModelSerializer):
    class Meta:
        model = BotDecision
        fields = ["id", "time", "day", "action", "price", "target", "k", "reason", "order"]
        read_only_fields = fields


class BotViewSet(
    mixins.CreateModelMixin, mixins.UpdateModelMixin, mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet
):
    """The user's breakout bots. Settings changes apply from the next day roll; disabling stops
    entries at once (what the bot holds is still sold at the next day boundary)."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = BotSerializer
    filterset_fields = ["instrument", "enabled", "state"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Bot.objects.none()
        return selectors.bot_list(user=self.request.user)

    @extend_schema(request=BotCreateSerializer, responses={201: BotSerializer})
    def create(self, request, *args, **kwargs):
        data = BotCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        params = data.validated_data
        if params["kind"] == Bot.Kind.PREDICTIONS:
            if not params.get("model"):
                raise serializers.ValidationError({"model": ["A predictions bot follows a model: give its name."]})
            bot = services.prediction_bot_create(
                user=request.user,
                model=params["model"],
                second_model=params["second_model"],
                condition=params["condition"],
                threshold=params["threshold"],
                second_threshold=params["second_threshold"],
                top_n=params["top_n"],
                fraction=params["fraction"] if "fraction" in request.data else Decimal("0.2"),
                exit_after_sessions=params.get("exit_after_sessions", 5),
                stop_loss_pct=params.get("stop_loss_pct"),
                enabled=params["enabled"],
                name=params["name"],
            )
            return Response(BotSerializer(bot).data, status=status.HTTP_201_CREATED)
        if "instrument" not in params:
            raise serializers.ValidationError({"instrument": ["A breakout bot trades one instrument: give its id."]})
        bot = services.bot_create(
            user=request.user,
            instrument_id=params["instrument"],
            name=params["name"],
            k_mode=params["k_mode"],
            k=params["k"],
            lookback=params["lookback"],
            ma_window=params["ma_window"],
            fraction=params["fraction"],
            enabled=params["enabled"],
            exit_after_sessions=params.get("exit_after_sessions"),
        )
        return Response(BotSerializer(bot).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=BotUpdateSerializer, responses=BotSerializer)
    def partial_update(self, request, *args, **kwargs):
        bot = self.get_object()
        data = BotUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        bot = services.bot_update(bot=bot, **data.validated_data)
        return Response(BotSerializer(bot).data)

    def perform_destroy(self, instance):
        services.bot_delete(bot=instance)

    @extend_schema(responses=BotDecisionSerializer(many=True))
    @action(detail=True, methods=["get"])
    def decisions(self, request, pk=None):
        bot = self.get_object()  # 404 for another user's bot
        page = self.paginate_queryset(selectors.bot_decision_list(bot=bot))
        return self.get_paginated_response(BotDecisionSerializer(page, many=True).data)


class BacktestCreateSerializer(serializers.Serializer):
    exchange = serializers.ChoiceField(choices=Exchange.choices)
    symbol = serializers.CharField(max_length=40, help_text="BTC/KRW; a KRX code such as 005930")
    start = serializers.DateField(
        required=False, allow_null=True, help_text="first day (default: the first stored candle)"
    )
    end = serializers.DateField(required=False, allow_null=True, help_text="last day (default: the last stored candle)")
    k = serializers.CharField(default="auto", help_text='"auto" (best K walk-forward) or a number from 0 to 1')
    lookback = serializers.IntegerField(default=20, help_text="days the best K is fitted on")
    ma = serializers.IntegerField(default=5, help_text="moving-average filter in days; 0 = off")
    fee_bps = serializers.DecimalField(
        max_digits=8, decimal_places=2, required=False, allow_null=True, help_text="default: the exchange's fee"
    )
    slippage_bps = serializers.DecimalField(max_digits=8, decimal_places=2, required=False, allow_null=True)
    tax_bps = serializers.DecimalField(
        max_digits=8, decimal_places=2, required=False, allow_null=True, help_text="on sells; default KRX's tax"
    )
    initial_equity = serializers.DecimalField(max_digits=30, decimal_places=8, required=False, allow_null=True)


class BacktestSerializer(ModelSerializer):
    exchange = serializers.CharField(source="instrument.exchange", read_only=True)
    symbol = serializers.CharField(source="instrument.symbol", read_only=True)
    k = serializers.SerializerMethodField(help_text='"auto" or the fixed k')
    ma = serializers.IntegerField(source="ma_window", read_only=True)
    chart_url = serializers.SerializerMethodField()

    class Meta:
        model = Backtest
        fields = [
            "id",
            "instrument",
            "exchange",
            "symbol",
            "start",
            "end",
            "k",
            "lookback",
            "ma",
            "fee_bps",
            "slippage_bps",
            "tax_bps",
            "initial_equity",
            "total_return",
            "cagr",
            "max_drawdown",
            "win_rate",
            "number_of_trades",
            "exposure",
            "sharpe",
            "buy_and_hold_return",
            "chart_url",
            "created_at",
        ]
        read_only_fields = fields

    def get_k(self, backtest) -> str:
        return "auto" if backtest.k is None else f"{backtest.k.normalize():f}"

    def get_chart_url(self, backtest) -> str:
        return reverse("backtest-chart", args=[backtest.pk])


class BacktestDetailSerializer(BacktestSerializer):
    class Meta(BacktestSerializer.Meta):
        fields = [*BacktestSerializer.Meta.fields, "result"]
        read_only_fields = fields


class BacktestViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Backtests of the breakout rule on stored daily candles. POST computes and stores one
    (201 with the whole result); the list carries the summary, the detail the trades and the
    equity curve."""

    permission_classes = [permissions.IsAuthenticated]
    filterset_fields = ["instrument"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Backtest.objects.none()
        return selectors.backtest_list(user=self.request.user)

    def get_serializer_class(self):
        return BacktestSerializer if self.action == "list" else BacktestDetailSerializer

    @extend_schema(request=BacktestCreateSerializer, responses={201: BacktestDetailSerializer})
    def create(self, request, *args, **kwargs):
        data = BacktestCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        params = services.backtest_params(**data.validated_data)
        backtest = services.backtest_run(user=request.user, params=params)
        return Response(BacktestDetailSerializer(backtest).data, status=status.HTTP_201_CREATED)
