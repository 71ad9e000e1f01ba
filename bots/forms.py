"""The forms of the bot and backtest pages: they parse and bound the input (messages in Korean
and English, per field); the rules stay in ``bots.services``, whose ``InvalidBot`` /
``InvalidBacktest`` the views put back on the field they name (``add_service_error``)."""

from decimal import Decimal

from django import forms
from django.conf import settings
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from bots.models import Bot
from bots.services import MAX_DAYS
from core.exceptions import DomainError
from core.forms import DATE, MESSAGES, NUMBER, WHOLE
from markets.models import Exchange, Instrument, Kind

# the line put in front of a service's English message on a Korean page, by the field it names
SERVICE_HINT = {
    "instrument": _("Check the instrument"),
    "symbol": _("Check the instrument"),
    "k": _("k is between 0 and 1"),
    "k_mode": _("Choose the k mode"),
    "fraction": _("The fraction is above 0 and at most 1"),
    "lookback": _("Check the lookback (days)"),
    "ma_window": _("Check the moving-average window"),
    "ma": _("Check the moving-average window"),
    "exit_after_sessions": _("Check the hold sessions"),
    "model": _("Check the model"),
    "second_model": _("Check the second model"),
    "threshold": _("Check the threshold"),
    "second_threshold": _("Check the threshold"),
    "top_n": _("Check the number of picks"),
    "stop_loss_pct": _("Check the stop loss"),
    "start": _("Check the dates"),
    "end": _("Check the dates"),
    "fee_bps": _("Check the fee"),
    "slippage_bps": _("Check the slippage"),
}


def add_service_error(form: forms.Form, error: DomainError, *, aliases: dict[str, str] | None = None) -> None:
    """Put a service's domain error on the form field it names (``aliases`` maps a service
    field to the form's name), or on the form when it names none of the form's fields."""
    field = (aliases or {}).get(error.field or "", error.field)
    message = error.message  # the service's, in English (the API's language)
    if not (get_language() or "en").startswith("en"):
        hint = SERVICE_HINT.get(field or "", _("Check the input"))
        message = f"{hint} · {message}"
    form.add_error(field if field in form.fields else None, message)


def _number(**kwargs) -> forms.DecimalField:
    return forms.DecimalField(error_messages=NUMBER, **kwargs)


def _whole(**kwargs) -> forms.IntegerField:
    return forms.IntegerField(error_messages=WHOLE, **kwargs)


class InstrumentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Instrument) -> str:
        name = obj.name_ko or obj.name_en
        return f"{obj.get_exchange_display()} · {obj.symbol}" + (f" · {name}" if name else "")


def tradable_instruments():
    """Active spot instruments whose quote currency has a wallet (what a breakout bot may trade)."""
    return Instrument.objects.filter(
        active=True, kind=Kind.SPOT, quote__in=list(settings.TRADING["STARTING_CASH"])
    ).order_by("exchange", "symbol")


class BotForm(forms.Form):
    """A new bot: a breakout bot on one instrument, or a predictions bot following a model.
    Fields as ``POST /api/v1/bots/``."""

    kind = forms.ChoiceField(
        choices=[
            ("breakout", _("Volatility breakout")),
            ("predictions", _("Follows the predictions")),
        ],
        initial=Bot.Kind.BREAKOUT,
        error_messages=MESSAGES,
    )
    name = forms.CharField(max_length=100, required=False, error_messages=MESSAGES)
    instrument = InstrumentChoiceField(
        queryset=Instrument.objects.none(), required=False, error_messages=MESSAGES, empty_label="—"
    )
    k_mode = forms.ChoiceField(
        choices=[("fixed", _("Fixed k")), ("auto", _("Best K, walk-forward"))],
        initial=Bot.KMode.FIXED,
        error_messages=MESSAGES,
    )
    k = _number(min_value=Decimal(0), max_value=Decimal(1), max_digits=6, decimal_places=4, initial=Decimal("0.5"))
    lookback = _whole(min_value=1, max_value=MAX_DAYS, initial=20)
    ma_window = _whole(min_value=0, max_value=MAX_DAYS, initial=5)
    fraction = _number(
        min_value=Decimal("0.0001"), max_value=Decimal(1), max_digits=6, decimal_places=4, required=False
    )
    exit_after_sessions = _whole(min_value=1, max_value=60, required=False)
    enabled = forms.BooleanField(required=False, initial=True)
    # a predictions bot
    model = forms.CharField(max_length=80, required=False, error_messages=MESSAGES)
    second_model = forms.CharField(max_length=80, required=False, error_messages=MESSAGES)
    condition = forms.ChoiceField(
        choices=[
            ("model", _("One model")),
            ("both", _("Both models agree")),
            ("either", _("Either model")),
        ],
        initial=Bot.Condition.MODEL,
        error_messages=MESSAGES,
    )
    threshold = _number(min_value=Decimal(0), max_value=Decimal(1), decimal_places=8, initial=Decimal("0.5"))
    second_threshold = _number(min_value=Decimal(0), max_value=Decimal(1), decimal_places=8, initial=Decimal("0.5"))
    top_n = _whole(min_value=1, max_value=50, initial=5)
    stop_loss_pct = _number(
        min_value=Decimal("0.01"), max_value=Decimal("99.99"), max_digits=5, decimal_places=2, required=False
    )

    labels = {
        "kind": (_("Kind"), ""),
        "name": (_("Name"), _("optional")),
        "instrument": (_("Instrument"), _("breakout bots")),
        "k_mode": (_("k mode"), _("fixed, or best K walk-forward")),
        "k": ("k", _("a fixed-k bot's k, 0 to 1")),
        "lookback": (_("Lookback (days)"), _("days the best K is fitted on")),
        "ma_window": (_("Moving average (days)"), _("0 = off")),
        "fraction": (
            _("Fraction of cash"),
            _("of the available cash per entry (default 0.5; predictions 0.2)"),
        ),
        "exit_after_sessions": (
            _("Hold sessions"),
            _("sell after N sessions (empty: at the next open; predictions default 5)"),
        ),
        "enabled": (_("Enabled"), ""),
        "model": (_("Model"), _("predictions bot: the predictor followed")),
        "second_model": (_("Second model"), _("condition both / either")),
        "condition": (_("Condition"), ""),
        "threshold": (_("Threshold"), "0~1"),
        "second_threshold": (_("Second threshold"), "0~1"),
        "top_n": (_("Top N"), "1~50"),
        "stop_loss_pct": (_("Stop loss %"), _("optional")),
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, (label, hint) in self.labels.items():
            self.fields[name].label, self.fields[name].help_text = label, hint
        instrument = self.fields["instrument"]
        assert isinstance(instrument, InstrumentChoiceField)
        instrument.queryset = tradable_instruments()

    def clean(self):
        data = super().clean()
        if data.get("kind") == Bot.Kind.PREDICTIONS:
            if not data.get("model"):
                self.add_error("model", _("A predictions bot follows a model: give its name."))
            if data.get("exit_after_sessions") is None and "exit_after_sessions" not in self.errors:
                data["exit_after_sessions"] = 5
        elif data.get("kind") == Bot.Kind.BREAKOUT and not data.get("instrument") and "instrument" not in self.errors:
            self.add_error("instrument", _("A breakout bot trades one instrument: choose it."))
        return data


class BacktestForm(forms.Form):
    """A breakout backtest: the parameters of ``manage.py backtest_breakout`` and
    ``POST /api/v1/backtests/``. ``k``: "auto" (best K walk-forward) or a number from 0 to 1;
    empty fees = the exchange's fee and the market-order slippage."""

    exchange = forms.ChoiceField(choices=Exchange.choices, initial="upbit", error_messages=MESSAGES)
    symbol = forms.CharField(max_length=40, initial="BTC/KRW", error_messages=MESSAGES)
    start = forms.DateField(
        required=False,
        error_messages=DATE,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    end = forms.DateField(
        required=False,
        error_messages=DATE,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    k = forms.CharField(max_length=10, initial="auto", error_messages=MESSAGES)
    lookback = _whole(min_value=1, max_value=MAX_DAYS, initial=20)
    ma = _whole(min_value=0, max_value=MAX_DAYS, initial=5)
    fee_bps = _number(min_value=Decimal(0), max_value=Decimal(1000), max_digits=8, decimal_places=2, required=False)
    slippage_bps = _number(
        min_value=Decimal(0), max_value=Decimal(1000), max_digits=8, decimal_places=2, required=False
    )

    labels = {
        "exchange": (_("Exchange"), ""),
        "symbol": (_("Symbol"), _("BTC/KRW; a KRX code such as 005930")),
        "start": (_("Start"), _("YYYY-MM-DD; empty: the first stored candle")),
        "end": (_("End"), _("YYYY-MM-DD; empty: the last stored candle")),
        "k": ("k", _('"auto" (best K walk-forward) or 0~1')),
        "lookback": (_("Lookback (days)"), ""),
        "ma": (_("Moving average (days)"), _("0 = off")),
        "fee_bps": (_("Fee (bps)"), _("empty: the exchange's fee")),
        "slippage_bps": (_("Slippage (bps)"), _("empty: the market-order slippage")),
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, (label, hint) in self.labels.items():
            self.fields[name].label, self.fields[name].help_text = label, hint

    def clean_k(self) -> str:
        text = self.cleaned_data["k"].strip().lower()
        if text == "auto":
            return text
        try:
            value = Decimal(text)
        except ArithmeticError:
            value = Decimal("NaN")
        if not (value.is_finite() and 0 <= value <= 1):
            raise forms.ValidationError(_('k is "auto" or a number from 0 to 1.'))
        return text

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            self.add_error("start", _("start must not be after end."))
        return data
