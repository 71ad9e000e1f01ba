"""The alerts page's forms: they translate the page's input; the rules live in ``alerts.services``."""

from datetime import timedelta

from django import forms
from django.utils import timezone

from accounts import events as account_events
from alerts.services import CHANNEL_KINDS
from markets.models import Exchange, Instrument

CONDITION_LABELS = {
    "crossing": "Crossing · 교차",
    "crossing_up": "Crossing up · 상향 돌파",
    "crossing_down": "Crossing down · 하향 돌파",
    "greater_than": "Greater than · 초과",
    "less_than": "Less than · 미만",
    "entering_channel": "Entering channel · 채널 진입",
    "exiting_channel": "Exiting channel · 채널 이탈",
    "inside_channel": "Inside channel · 채널 안",
    "outside_channel": "Outside channel · 채널 밖",
    "moving_up": "Moving up (price) · 상승 폭",
    "moving_down": "Moving down (price) · 하락 폭",
    "moving_up_pct": "Moving up % · 상승률",
    "moving_down_pct": "Moving down % · 하락률",
}
TRIGGER_LABELS = {
    "once": "Once · 한 번",
    "once_per_bar": "Once per bar · 봉마다 한 번",
    "once_per_bar_close": "Once per bar close · 봉 마감마다",
    "every_time": "Every time (cooldown) · 매번 (쿨다운)",
}
CHANNEL_LABELS = {"app": "App · 앱", "telegram": "Telegram · 텔레그램", "email": "Email · 이메일"}
EVENT_LABELS = {
    account_events.ORDER_FILLED: "Order filled · 주문 체결",
    account_events.ORDER_EXPIRED: "Order expired · 주문 만료",
    account_events.BOT_ENTERED: "Bot entered · 봇 진입",
    account_events.BOT_EXITED: "Bot exited · 봇 청산",
    account_events.QUIZ_DAILY_CAP: "Quiz daily cap reached · 퀴즈 일일 한도 도달",
}
PRICE = {"max_digits": 24, "decimal_places": 8, "required": False, "min_value": 0}


class AlertForm(forms.Form):
    """New alert: the instrument by exchange and symbol (``005930``, ``BTC/KRW``), the condition
    and its operands, the trigger, the expiry in days (empty: 30; 0: open-ended), the channels."""

    exchange = forms.ChoiceField(label="Exchange · 거래소", choices=Exchange.choices)
    symbol = forms.CharField(label="Symbol · 종목", max_length=40)
    condition = forms.ChoiceField(label="Condition · 조건", choices=list(CONDITION_LABELS.items()))
    level = forms.DecimalField(label="Level · 가격", **PRICE)
    level2 = forms.DecimalField(label="Second level (channels) · 두 번째 가격 (채널)", **PRICE)
    value = forms.DecimalField(label="Move (moving_*) · 변동 폭", **PRICE)
    window_minutes = forms.IntegerField(label="Window, minutes · 기간 (분)", required=False, min_value=1)
    trigger = forms.ChoiceField(label="Trigger · 발동", choices=list(TRIGGER_LABELS.items()), initial="once")
    bar_seconds = forms.IntegerField(label="Bar, seconds · 봉 (초)", required=False, min_value=1, initial=60)
    cooldown_seconds = forms.IntegerField(label="Cooldown, seconds · 쿨다운 (초)", required=False, min_value=0)
    expires_days = forms.IntegerField(
        label="Expires in days (0: never) · 만료 (일, 0: 없음)", required=False, min_value=0, max_value=3650
    )
    channels = forms.MultipleChoiceField(
        label="Channels · 채널",
        choices=list(CHANNEL_LABELS.items()),
        initial=["app"],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    message = forms.CharField(label="Message · 메시지", max_length=200, required=False)

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        inst = Instrument.objects.filter(exchange=data["exchange"], symbol=data["symbol"].strip()).first()
        if inst is None:
            self.add_error("symbol", "No such instrument on this exchange · 이 거래소에 없는 종목입니다")
        else:
            data["instrument"] = inst
        return data

    def service_fields(self) -> dict:
        """The keyword arguments of ``alerts.services.alert_create``."""
        d = self.cleaned_data
        fields = {
            name: d[name]
            for name in ("level", "level2", "value", "window_minutes", "bar_seconds", "cooldown_seconds")
            if d.get(name) is not None
        }
        fields["trigger"] = d["trigger"]
        fields["channels"] = sorted(set(d["channels"]) | {"app"})
        fields["message"] = d["message"]
        days = d.get("expires_days")
        if days is not None:
            fields["expires_at"] = None if days == 0 else timezone.now() + timedelta(days=days)
        return fields


class PreferencesForm(forms.Form):
    """One checkbox group per account event: the channels it goes to (none: off)."""

    def __init__(self, *args, initial_events: dict[str, list[str]] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        for event, label in EVENT_LABELS.items():
            self.fields[event] = forms.MultipleChoiceField(
                label=label,
                choices=[(k, CHANNEL_LABELS[k]) for k in CHANNEL_KINDS],
                required=False,
                widget=forms.CheckboxSelectMultiple,
                initial=(initial_events or {}).get(event, []),
            )
