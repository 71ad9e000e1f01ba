"""Alerts and notifications API (authenticated; a user sees only their own, others' are 404).

- ``/api/v1/alerts/``: POST creates, GET lists (``?state=&instrument=``); ``/alerts/{id}/`` GET,
  PATCH (operands, ``state: active|paused``), DELETE; ``/alerts/{id}/events/`` its fires, newest first.
- ``/api/v1/notifications/``: GET lists (``?unread=true``) with ``unread_count``;
  POST ``/notifications/mark-read/`` ``{"ids": [..]}`` (omit ``ids`` for all) returns ``{"marked": n, "unread_count": m}``.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from alerts import selectors, services
from alerts.models import Alert, AlertEvent, Notification
from core.serializers import ModelSerializer

PRICE_FIELD = {"max_digits": 30, "decimal_places": 12, "required": False, "allow_null": True}


class AlertSerializer(ModelSerializer):
    exchange = serializers.CharField(source="instrument.exchange", read_only=True)
    symbol = serializers.CharField(source="instrument.symbol", read_only=True)

    class Meta:
        model = Alert
        fields = [
            "id",
            "instrument",
            "exchange",
            "symbol",
            "condition",
            "level",
            "level2",
            "value",
            "window_minutes",
            "trigger",
            "bar_seconds",
            "cooldown_seconds",
            "expires_at",
            "channels",
            "message",
            "state",
            "last_price",
            "last_tick_at",
            "last_fired_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class AlertWriteSerializer(serializers.Serializer):
    condition = serializers.ChoiceField(choices=Alert.Condition.choices)
    level = serializers.DecimalField(**PRICE_FIELD)
    level2 = serializers.DecimalField(**PRICE_FIELD)
    value = serializers.DecimalField(**PRICE_FIELD, help_text="move for moving_* (price units; percent for *_pct)")
    window_minutes = serializers.IntegerField(
        min_value=1, max_value=services.MAX_WINDOW_MINUTES, required=False, allow_null=True
    )
    trigger = serializers.ChoiceField(choices=Alert.Trigger.choices, required=False)
    bar_seconds = serializers.IntegerField(min_value=1, max_value=31 * 86400, required=False)
    cooldown_seconds = serializers.IntegerField(min_value=0, max_value=31 * 86400, required=False)
    expires_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="default 30 days; null = open-ended"
    )
    channels = serializers.ListField(child=serializers.ChoiceField(choices=["app"]), required=False, max_length=3)
    message = serializers.CharField(max_length=200, required=False, allow_blank=True)


class AlertCreateSerializer(AlertWriteSerializer):
    instrument = serializers.IntegerField(min_value=1, help_text="instrument id")


class AlertUpdateSerializer(AlertWriteSerializer):
    condition = serializers.ChoiceField(choices=Alert.Condition.choices, required=False)
    state = serializers.ChoiceField(choices=[Alert.State.ACTIVE, Alert.State.PAUSED], required=False)

    def validate(self, attrs):
        if "instrument" in self.initial_data:
            raise serializers.ValidationError(
                {"instrument": "An alert's instrument cannot be changed; create another alert."}
            )
        return attrs


class AlertEventSerializer(ModelSerializer):
    class Meta:
        model = AlertEvent
        fields = ["id", "price", "previous_price", "tick_time", "created_at"]
        read_only_fields = fields


class NotificationSerializer(ModelSerializer):
    alert = serializers.IntegerField(source="event.alert_id", read_only=True, default=None)

    class Meta:
        model = Notification
        fields = ["id", "kind", "text", "alert", "read_at", "created_at"]
        read_only_fields = fields


class MarkReadSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, max_length=1000)


class AlertViewSet(
    mixins.CreateModelMixin, mixins.UpdateModelMixin, mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet
):
    """The user's price alerts."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = AlertSerializer
    filterset_fields = ["instrument", "state", "condition"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Alert.objects.none()
        return selectors.alert_list(user=self.request.user)

    @extend_schema(request=AlertCreateSerializer, responses={201: AlertSerializer})
    def create(self, request, *args, **kwargs):
        data = AlertCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        params = dict(data.validated_data)
        alert = services.alert_create(
            user=request.user, instrument_id=params.pop("instrument"), condition=params.pop("condition"), **params
        )
        return Response(AlertSerializer(alert).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=AlertUpdateSerializer, responses=AlertSerializer)
    def partial_update(self, request, *args, **kwargs):
        alert = self.get_object()
        data = AlertUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        alert = services.alert_update(alert=alert, **data.validated_data)
        return Response(AlertSerializer(alert).data)

    def perform_destroy(self, instance):
        services.alert_delete(alert=instance)

    @extend_schema(responses=AlertEventSerializer(many=True))
    @action(detail=True, methods=["get"])
    def events(self, request, pk=None):
        alert = self.get_object()  # 404 for another user's alert
        page = self.paginate_queryset(selectors.alert_event_list(alert=alert))
        return self.get_paginated_response(AlertEventSerializer(page, many=True).data)


class NotificationViewSet(viewsets.ReadOnlyModelViewSet):
    """The user's in-app notifications, newest first, with the unread count."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = NotificationSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Notification.objects.none()
        unread = self.request.query_params.get("unread")
        flag = {"true": True, "1": True, "false": False, "0": False}.get((unread or "").lower())
        return selectors.notification_list(user=self.request.user, unread=flag).select_related("event")

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        if isinstance(response.data, dict):
            response.data["unread_count"] = selectors.notification_unread_count(user=request.user)
        else:
            response.data = {
                "results": response.data,
                "unread_count": selectors.notification_unread_count(user=request.user),
            }
        return response

    @extend_schema(request=MarkReadSerializer)
    @action(detail=False, methods=["post"], url_path="mark-read")
    def mark_read(self, request):
        data = MarkReadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        marked = services.notification_mark_read(user=request.user, ids=data.validated_data.get("ids"))
        return Response({"marked": marked, "unread_count": selectors.notification_unread_count(user=request.user)})
