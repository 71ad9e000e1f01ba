"""The prediction backtest form of ``/predictions/backtests/``: the fields of
``POST /api/v1/prediction-backtests/`` with their bounds, messages in Korean and English; the
rules stay in ``predictions.services.prediction_backtest_create``."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.forms import DATE, MESSAGES, NUMBER, WHOLE
from predictions import selectors
from predictions.models import Board, Predictor


class PredictorChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Predictor) -> str:
        return f"{obj.name} · {obj.market} · {obj.kind} (trained to {obj.train_end:%Y-%m-%d})"


class PredictionBacktestForm(forms.Form):
    model = PredictorChoiceField(
        queryset=Predictor.objects.none(),
        to_field_name="name",
        label=_("Model"),
        error_messages=MESSAGES,
        empty_label=None,
    )
    market = forms.ChoiceField(
        choices=[("", _("the model's board")), *Board.choices],
        required=False,
        label=pgettext_lazy("market", "Board"),
        error_messages=MESSAGES,
    )
    start = forms.DateField(label=_("Start"), help_text=_("after the training period"), error_messages=DATE)
    end = forms.DateField(label=_("End"), error_messages=DATE)
    top_n = forms.IntegerField(min_value=1, max_value=100, initial=20, label=_("Top N"), error_messages=WHOLE)
    hold_sessions = forms.IntegerField(
        min_value=1, max_value=60, initial=5, label=_("Hold sessions"), error_messages=WHOLE
    )
    stop_loss_pct = forms.DecimalField(
        max_digits=6,
        decimal_places=3,
        min_value=Decimal("0.001"),
        max_value=Decimal("99.999"),
        required=False,
        label=_("Stop loss %"),
        help_text=_("optional"),
        error_messages=NUMBER,
    )
    buy_fee_pct = forms.DecimalField(
        max_digits=6,
        decimal_places=4,
        min_value=Decimal(0),
        max_value=Decimal(5),
        initial=Decimal("0.015"),
        label=_("Buy fee %"),
        error_messages=NUMBER,
    )
    sell_fee_pct = forms.DecimalField(
        max_digits=6,
        decimal_places=4,
        min_value=Decimal(0),
        max_value=Decimal(5),
        initial=Decimal("0.015"),
        label=_("Sell fee %"),
        error_messages=NUMBER,
    )
    sell_tax_pct = forms.DecimalField(
        max_digits=6,
        decimal_places=4,
        min_value=Decimal(0),
        max_value=Decimal(5),
        required=False,
        label=_("Sell tax %"),
        help_text=_("empty: the KRX statutory rate of each sell date"),
        error_messages=NUMBER,
    )
    initial_capital = forms.DecimalField(
        max_digits=20,
        decimal_places=0,
        min_value=Decimal(100_000),
        max_value=Decimal(10) ** 13,
        initial=Decimal(10_000_000),
        label=_("Initial capital (KRW)"),
        error_messages=NUMBER,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        model = self.fields["model"]
        assert isinstance(model, PredictorChoiceField)
        model.queryset = selectors.predictor_list().order_by("-created_at", "-id")
        for name in ("start", "end"):
            self.fields[name].widget = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", _("end must not be before start."))
        return data
