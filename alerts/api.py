"""Alerts and notifications API (authenticated; a user sees only their own, others' are 404).

- ``/api/v1/alerts/``: POST creates, GET lists (``?state=&instrument=``); ``/alerts/{id}/`` GET,
  PATCH (operands, ``state: active|paused``), DELETE; ``/alerts/{id}/events/`` its fires, newest first.
- ``/api/v1/notification-channels/``: the user's Telegram and email channels (see
  ``NotificationChannelViewSet``); ``/api/v1/notifications/{id}/deliveries/`` the delivery log of one.
- ``/api/v1/notifications/``: GET lists (``?unread=true``) with ``unread_count``;
  POST ``/notifications/mark-read/`` ``{"ids": [..]}`` (omit ``ids`` for all) returns ``{"marked": n, "unread_count": m}``.
"""

from django.utils.translation import get_language_from_request
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, permissions, serializers, status, views, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from alerts import delivery, selectors, services
from alerts.models import Alert, AlertEvent, Delivery, Notification, NotificationChannel
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
    channels = serializers.ListField(
        child=serializers.ChoiceField(choices=list(services.CHANNEL_KINDS)), required=False, max_length=3
    )
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


class DeliverySerializer(ModelSerializer):
    kind = serializers.CharField(source="channel.kind", read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "notification",
            "event",
            "channel",
            "kind",
            "state",
            "attempts",
            "last_error",
            "created_at",
            "sent_at",
        ]
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

    @extend_schema(responses=DeliverySerializer(many=True))
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        note = self.get_object()  # 404 for another user's notification
        return Response(DeliverySerializer(note.deliveries.select_related("channel"), many=True).data)

    @extend_schema(
        request=MarkReadSerializer,
        responses=inline_serializer(
            "MarkReadResult",
            {
                "marked": serializers.IntegerField(help_text="notifications marked read by this call"),
                "unread_count": serializers.IntegerField(),
            },
        ),
    )
    @action(detail=False, methods=["post"], url_path="mark-read")
    def mark_read(self, request):
        data = MarkReadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        marked = services.notification_mark_read(user=request.user, ids=data.validated_data.get("ids"))
        return Response({"marked": marked, "unread_count": selectors.notification_unread_count(user=request.user)})


class NotificationChannelSerializer(ModelSerializer):
    active = serializers.BooleanField(read_only=True, help_text="verified and not disabled: receives deliveries")
    address = serializers.CharField(read_only=True, help_text="email channels: the address; empty for Telegram")

    class Meta:
        model = NotificationChannel
        fields = [
            "id",
            "kind",
            "address",
            "chat_id",
            "telegram_username",
            "language",
            "verified",
            "active",
            "verified_at",
            "disabled_at",
            "disabled_reason",
            "created_at",
        ]
        read_only_fields = fields


class ChannelCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=NotificationChannel.Kind.choices)
    address = serializers.EmailField(required=False, help_text="the email address (kind email)")
    language = serializers.ChoiceField(choices=NotificationChannel.Language.choices, required=False)

    def validate(self, attrs):
        if attrs["kind"] == NotificationChannel.Kind.TELEGRAM:
            raise serializers.ValidationError(
                {"kind": "Link Telegram with POST /api/v1/notification-channels/telegram/."}
            )
        if not attrs.get("address"):
            raise serializers.ValidationError({"address": "An email channel needs an address."})
        return attrs


class TelegramLinkRequestSerializer(serializers.Serializer):
    language = serializers.ChoiceField(choices=NotificationChannel.Language.choices, required=False)


class TelegramLinkSerializer(serializers.Serializer):
    link = serializers.CharField(help_text="https://t.me/<bot>?start=<token>")
    token = serializers.CharField(help_text="one-time; the bot's /start <token> links the chat")
    expires_at = serializers.DateTimeField()
    channel = serializers.IntegerField(help_text="the pending channel's id")


class VerifySerializer(serializers.Serializer):
    code = serializers.CharField(max_length=12, help_text="the 6-digit code mailed to the address")


def _request_language(request, given: str | None) -> str:
    if given:
        return given
    return "ko" if (get_language_from_request(request) or "").lower().startswith("ko") else "en"


class NotificationChannelViewSet(mixins.CreateModelMixin, mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet):
    """The user's delivery channels (Telegram chats, email addresses); others' are 404.

    - ``POST /notification-channels/`` ``{"kind": "email", "address": ..., "language": "ko"|"en"}``
      adds an unverified email channel and mails a code; ``POST /{id}/verify/`` ``{"code"}``
      verifies it; ``POST /{id}/send-code/`` mails a new code.
    - ``POST /notification-channels/telegram/`` returns ``{"link", "token", ...}``: open the
      link (or send ``/start <token>`` to the bot) to link the chat.
    - ``DELETE /{id}/`` removes a channel.
    """

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = NotificationChannelSerializer
    http_method_names = ["get", "post", "delete", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return NotificationChannel.objects.none()
        return selectors.channel_list(user=self.request.user)

    @extend_schema(request=ChannelCreateSerializer, responses={201: NotificationChannelSerializer})
    def create(self, request, *args, **kwargs):
        data = ChannelCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        channel = delivery.email_channel_create(
            user=request.user,
            address=data.validated_data["address"],
            language=_request_language(request, data.validated_data.get("language")),
        )
        return Response(NotificationChannelSerializer(channel).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        delivery.channel_delete(channel=instance)

    @extend_schema(request=TelegramLinkRequestSerializer, responses={201: TelegramLinkSerializer})
    @action(detail=False, methods=["post"])
    def telegram(self, request):
        data = TelegramLinkRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        channel, link = delivery.telegram_link_start(
            user=request.user, language=_request_language(request, data.validated_data.get("language"))
        )
        body = {
            "link": link,
            "token": channel.link_token,
            "expires_at": channel.link_token_expires_at,
            "channel": channel.pk,
        }
        return Response(TelegramLinkSerializer(body).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=VerifySerializer, responses=NotificationChannelSerializer)
    @action(detail=True, methods=["post"])
    def verify(self, request, pk=None):
        channel = self.get_object()
        data = VerifySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        channel = delivery.email_channel_verify(channel=channel, code=data.validated_data["code"])
        return Response(NotificationChannelSerializer(channel).data)

    @extend_schema(request=None, responses={202: None})
    @action(detail=True, methods=["post"], url_path="send-code")
    def send_code(self, request, pk=None):
        delivery.email_channel_resend(channel=self.get_object())
        return Response(status=status.HTTP_202_ACCEPTED)


class PreferencesSerializer(serializers.Serializer):
    events = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text='{"order_filled": ["app", "telegram"], "bot_exited": []} - [] opts out',
    )


class NotificationPreferencesView(views.APIView):
    """``GET /api/v1/notification-preferences/``: ``{"events": {event: [channels]}}`` for every
    account event (``order_filled``, ``order_expired``, ``bot_entered``, ``bot_exited``,
    ``quiz_daily_cap``; ``[]`` = not notified). ``PUT`` (or ``PATCH``) the same shape opts in
    or out of the events named (``app`` is always added to a non-empty list); a bad event or
    channel is a 400 naming ``events.<event>``."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=PreferencesSerializer)
    def get(self, request):
        return Response({"events": services.preferences_get(user=request.user)})

    @extend_schema(request=PreferencesSerializer, responses=PreferencesSerializer)
    def put(self, request):
        events = request.data.get("events") if isinstance(request.data, dict) else None
        if events is None:
            raise services.InvalidAlert("events is required", field="events")
        return Response({"events": services.preferences_set(user=request.user, events=events)})

    patch = put
