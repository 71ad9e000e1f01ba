"""Trading API: the user's account, orders, fills, positions and portfolio (all authenticated;
a user sees only their own objects, others' are 404)."""

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from core.filters import IdFilter, MomentFilter
from core.numbers import StrictDecimalField
from core.serializers import ModelSerializer, PlainDecimalField
from trading import selectors, services
from trading.models import EquitySnapshot, Fill, Lot, Order, Position


class OrderCreateSerializer(serializers.Serializer):
    instrument = serializers.IntegerField(min_value=1, help_text="instrument id")
    side = serializers.ChoiceField(choices=Order.Side.choices)
    type = serializers.ChoiceField(choices=Order.Type.choices)
    quantity = StrictDecimalField(max_digits=36, decimal_places=12)
    limit_price = StrictDecimalField(max_digits=30, decimal_places=12, required=False, allow_null=True)
    time_in_force = serializers.ChoiceField(choices=Order.TimeInForce.choices, default=Order.TimeInForce.GTC)
    client_order_id = serializers.RegexField(
        r"^[A-Za-z0-9_.:-]{1,64}$", required=False, help_text="your idempotency key"
    )
    exit_after_sessions = serializers.IntegerField(
        min_value=1,
        max_value=services.MAX_EXIT_SESSIONS,
        required=False,
        allow_null=True,
        help_text="buys: sell each lot at its Nth session close after the buy (KRX; crypto: day boundary)",
    )


class OrderSerializer(ModelSerializer):
    symbol = serializers.CharField(source="instrument.symbol", read_only=True)
    exchange = serializers.CharField(source="instrument.exchange", read_only=True)
    quote = serializers.CharField(source="instrument.quote", read_only=True)

    class Meta:
        model = Order
        fields = [
            "id",
            "instrument",
            "exchange",
            "symbol",
            "quote",
            "side",
            "type",
            "quantity",
            "limit_price",
            "time_in_force",
            "status",
            "client_order_id",
            "filled_quantity",
            "average_fill_price",
            "reserved_cash",
            "expires_at",
            "exit_after_sessions",
            "closes_lot",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class FillSerializer(ModelSerializer):
    instrument = serializers.IntegerField(source="order.instrument_id", read_only=True)
    symbol = serializers.CharField(source="order.instrument.symbol", read_only=True)
    exchange = serializers.CharField(source="order.instrument.exchange", read_only=True)
    quote = serializers.CharField(source="order.instrument.quote", read_only=True)
    side = serializers.CharField(source="order.side", read_only=True)

    class Meta:
        model = Fill
        fields = [
            "id",
            "order",
            "instrument",
            "exchange",
            "symbol",
            "quote",
            "side",
            "price",
            "quantity",
            "fee",
            "tax",
            "realized_pnl",
            "created_at",
        ]
        read_only_fields = fields


class PositionSerializer(ModelSerializer):
    symbol = serializers.CharField(source="instrument.symbol", read_only=True)
    exchange = serializers.CharField(source="instrument.exchange", read_only=True)
    quote = serializers.CharField(source="instrument.quote", read_only=True)

    class Meta:
        model = Position
        fields = [
            "id",
            "instrument",
            "exchange",
            "symbol",
            "quote",
            "quantity",
            "reserved_quantity",
            "average_entry_price",
            "realized_pnl",
        ]
        read_only_fields = fields


class MarkedPositionSerializer(serializers.Serializer):
    position = PositionSerializer()
    last_price = PlainDecimalField(max_digits=30, decimal_places=12, allow_null=True)
    price_time = serializers.DateTimeField(allow_null=True)
    market_value = PlainDecimalField(max_digits=40, decimal_places=12, allow_null=True)
    unrealized_pnl = PlainDecimalField(max_digits=40, decimal_places=12, allow_null=True)
    unrealized_return = PlainDecimalField(
        max_digits=30, decimal_places=8, allow_null=True, help_text="fraction of cost basis"
    )


class CurrencyTotalsSerializer(serializers.Serializer):
    currency = serializers.CharField()
    cash = PlainDecimalField(max_digits=40, decimal_places=8)
    reserved = PlainDecimalField(max_digits=40, decimal_places=8)
    positions_value = PlainDecimalField(max_digits=40, decimal_places=8)
    equity = PlainDecimalField(max_digits=40, decimal_places=8)
    unrealized_pnl = PlainDecimalField(max_digits=40, decimal_places=8)
    realized_pnl = PlainDecimalField(max_digits=40, decimal_places=8)
    contributions = PlainDecimalField(max_digits=40, decimal_places=8)
    return_on_contributions = PlainDecimalField(max_digits=30, decimal_places=8, allow_null=True, help_text="fraction")


class WalletSerializer(serializers.Serializer):
    currency = serializers.CharField()
    cash = PlainDecimalField(max_digits=40, decimal_places=8)
    reserved = PlainDecimalField(max_digits=40, decimal_places=8)
    available = PlainDecimalField(max_digits=40, decimal_places=8)
    equity = PlainDecimalField(max_digits=40, decimal_places=8)


class EquitySnapshotSerializer(ModelSerializer):
    class Meta:
        model = EquitySnapshot
        fields = ["date", "currency", "cash", "positions_value", "equity"]
        read_only_fields = fields


class OrderFilter(django_filters.FilterSet):
    instrument = IdFilter(field_name="instrument")
    created_after = MomentFilter(field_name="created_at", lookup_expr="gte")
    created_before = MomentFilter(field_name="created_at", lookup_expr="lt")
    status = django_filters.ChoiceFilter(choices=Order.Status.choices)
    side = django_filters.ChoiceFilter(choices=Order.Side.choices)
    open = django_filters.BooleanFilter(method="filter_open", help_text="true: new or partially filled")

    class Meta:
        model = Order
        fields = ["instrument", "side", "status", "type"]

    def filter_open(self, queryset, name, value):
        return (
            queryset.filter(status__in=Order.OPEN_STATUSES)
            if value
            else queryset.exclude(status__in=Order.OPEN_STATUSES)
        )


class FillFilter(django_filters.FilterSet):
    instrument = IdFilter(field_name="order__instrument")
    side = django_filters.ChoiceFilter(field_name="order__side", choices=Order.Side.choices)
    order = IdFilter(field_name="order")
    created_after = MomentFilter(field_name="created_at", lookup_expr="gte")
    created_before = MomentFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Fill
        fields = ["instrument", "side", "order"]


class PositionFilter(django_filters.FilterSet):
    instrument = IdFilter(field_name="instrument")

    class Meta:
        model = Position
        fields = ["instrument"]


class OrderViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Orders at the server's price. POST places (201, or 200 with the earlier order when the
    ``client_order_id`` was used before); ``cancel`` releases what an open order holds."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = OrderSerializer
    filterset_class = OrderFilter
    ordering_fields = ["created_at", "id"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Order.objects.none()
        return selectors.order_list(user=self.request.user)

    @extend_schema(request=OrderCreateSerializer, responses={201: OrderSerializer, 200: OrderSerializer})
    def create(self, request, *args, **kwargs):
        data = OrderCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        params = data.validated_data
        order, created = services.order_place(
            user=request.user,
            instrument_id=params["instrument"],
            side=params["side"],
            type=params["type"],
            quantity=params["quantity"],
            limit_price=params.get("limit_price"),
            time_in_force=params["time_in_force"],
            client_order_id=params.get("client_order_id"),
            exit_after_sessions=params.get("exit_after_sessions"),
        )
        return Response(OrderSerializer(order).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(request=None, responses=OrderSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        order = self.get_object()  # 404 for another user's order
        return Response(OrderSerializer(services.order_cancel(user=request.user, order_id=order.pk)).data)


class FillViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = [permissions.IsAuthenticated]
    serializer_class = FillSerializer
    filterset_class = FillFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Fill.objects.none()
        return selectors.fill_list(user=self.request.user)


class PositionViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = [permissions.IsAuthenticated]
    serializer_class = PositionSerializer
    filterset_class = PositionFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Position.objects.none()
        return selectors.position_list(user=self.request.user)


class LotCloseSerializer(serializers.Serializer):
    number = serializers.IntegerField(help_text="1 = the first session close after the buy")
    day = serializers.DateField(help_text="the session (KRX) or day (crypto), Asia/Seoul")
    at = serializers.DateTimeField(help_text="when that session closed (the day ended)")
    close = PlainDecimalField(max_digits=30, decimal_places=12, allow_null=True, help_text="stored daily candle close")
    pnl = PlainDecimalField(
        max_digits=40, decimal_places=12, allow_null=True, help_text="close x quantity - cost, quote currency"
    )
    ret = PlainDecimalField(max_digits=30, decimal_places=8, allow_null=True, help_text="pnl / cost, fraction")


class LotSerializer(ModelSerializer):
    symbol = serializers.CharField(source="instrument.symbol", read_only=True)
    exchange = serializers.CharField(source="instrument.exchange", read_only=True)
    quote = serializers.CharField(source="instrument.quote", read_only=True)
    order = serializers.IntegerField(source="fill.order_id", read_only=True)

    class Meta:
        model = Lot
        fields = [
            "id",
            "instrument",
            "exchange",
            "symbol",
            "quote",
            "order",
            "fill",
            "opened_at",
            "day",
            "quantity",
            "remaining",
            "price",
            "cost",
            "remaining_cost",
            "realized_pnl",
            "closed_at",
            "exit_after_sessions",
            "exit_due_at",
            "exit_state",
            "exit_note",
            "exit_order",
        ]
        read_only_fields = fields


class LotViewSerializer(serializers.Serializer):
    """A lot with the sessions it has been held and its P&L at the first five closes."""

    lot = LotSerializer()
    holding_sessions = serializers.IntegerField(help_text="session closes (crypto: days) since the buy")
    closes = LotCloseSerializer(many=True)


class LotFilter(django_filters.FilterSet):
    instrument = IdFilter(field_name="instrument")
    open = django_filters.ChoiceFilter(
        choices=[("true", "true"), ("false", "false")],
        method="filter_open",
        help_text="true: still held; false: closed",
    )

    class Meta:
        model = Lot
        fields = ["instrument"]

    def filter_open(self, queryset, name, value):
        return queryset.filter(remaining__gt=0) if value == "true" else queryset.filter(remaining=0)


class LotViewSet(viewsets.ReadOnlyModelViewSet):
    """The user's lots, oldest buy first: each buy fill opens one, sells close them first-in
    first-out. ``?open=true`` for those still held. Each row carries the holding sessions and
    the lot marked at the first five session closes after the buy."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = LotViewSerializer
    filterset_class = LotFilter
    ordering_fields = ["opened_at", "id"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Lot.objects.none()
        return selectors.lot_list(user=self.request.user)

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        rows = selectors.lot_views(page if page is not None else queryset)
        data = LotViewSerializer(rows, many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    def retrieve(self, request, *args, **kwargs):
        lot = self.get_object()  # 404 for another user's lot
        return Response(LotViewSerializer(selectors.lot_views([lot])[0]).data)


class AccountSerializer(serializers.Serializer):
    """``GET /account/``: one row per wallet (quote currency)."""

    wallets = WalletSerializer(many=True)


class PortfolioSerializer(serializers.Serializer):
    """``GET /portfolio/``: marked positions and the totals per quote currency."""

    positions = MarkedPositionSerializer(many=True)
    totals = CurrencyTotalsSerializer(many=True)


class KrxSessionSerializer(serializers.Serializer):
    market = serializers.CharField(help_text='"krx"')
    open = serializers.BooleanField(help_text="KRX's regular session is open at the market's present")
    enforced = serializers.BooleanField(help_text='TRADING["KRX_ENFORCE_SESSION"]: market orders refused outside it')
    now = serializers.DateTimeField(help_text="the market's present (the demo clock's instant in a replay)")
    message = serializers.CharField(
        allow_null=True, help_text="the refusal a KRX market order would get now (409 market_closed), or null"
    )


class KrxSessionView(APIView):
    """Whether KRX's regular session is open at the market's present, and the message a KRX
    market order would be refused with (the ticket warns before the order). Read-only, public."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(responses=KrxSessionSerializer)
    def get(self, request):
        from django.utils import timezone

        return Response(KrxSessionSerializer(services.krx_session_state(now=timezone.now())).data)


class AccountView(APIView):
    """The user's wallets: cash, cash reserved for open buy orders, available, and equity
    (cash + positions marked at the latest prices) per quote currency."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=AccountSerializer)
    def get(self, request):
        _, totals = selectors.portfolio(user=request.user)
        rows = [
            {
                "currency": t.currency,
                "cash": t.cash,
                "reserved": t.reserved,
                "available": t.cash - t.reserved,
                "equity": t.equity,
            }
            for t in totals
        ]
        return Response({"wallets": WalletSerializer(rows, many=True).data})


class AccountResetView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses=AccountSerializer)
    def post(self, request):
        services.account_reset(user=request.user)
        return AccountView().get(request)


class PortfolioView(APIView):
    """Positions marked to market with unrealized P&L and return; totals per currency with the
    return on what was paid in (starting cash and rewards)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=PortfolioSerializer)
    def get(self, request):
        marked, totals = selectors.portfolio(user=request.user)
        return Response(
            {
                "positions": MarkedPositionSerializer(marked, many=True).data,
                "totals": CurrencyTotalsSerializer(totals, many=True).data,
            }
        )


class EquityHistoryView(APIView):
    """Daily equity snapshots (end of day, Asia/Seoul), oldest first."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=EquitySnapshotSerializer(many=True))
    def get(self, request):
        snapshots = EquitySnapshot.objects.filter(user=request.user).order_by("currency", "date")
        return Response(EquitySnapshotSerializer(snapshots, many=True).data)
