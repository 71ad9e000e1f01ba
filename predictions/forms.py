"""The prediction backtest form of ``/predictions/backtests/``: the fields of
``POST /api/v1/prediction-backtests/`` with their bounds, messages in Korean and English; the
rules stay in ``predictions.services.prediction_backtest_create``."""

from decimal import Decimal

from django import forms

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
        label="모델 · Model",
        error_messages=MESSAGES,
        empty_label=None,
    )
    market = forms.ChoiceField(
        choices=[("", "모델의 시장 · the model's board"), *Board.choices],
        required=False,
        label="시장 · Board",
        error_messages=MESSAGES,
    )
    start = forms.DateField(
        label="시작일 · Start", help_text="학습 기간 이후 · after the training period", error_messages=DATE
    )
    end = forms.DateField(label="종료일 · End", error_messages=DATE)
    top_n = forms.IntegerField(
        min_value=1, max_value=100, initial=20, label="세션당 종목 수 · Top N", error_messages=WHOLE
    )
    hold_sessions = forms.IntegerField(
        min_value=1, max_value=60, initial=5, label="보유 세션 · Hold sessions", error_messages=WHOLE
    )
    stop_loss_pct = forms.DecimalField(
        max_digits=6,
        decimal_places=3,
        min_value=Decimal("0.001"),
        max_value=Decimal("99.999"),
        required=False,
        label="손절 % · Stop loss %",
        help_text="선택 · optional",
        error_messages=NUMBER,
    )
    buy_fee_pct = forms.DecimalField(
        max_digits=6,
        decimal_places=4,
        min_value=Decimal(0),
        max_value=Decimal(5),
        initial=Decimal("0.015"),
        label="매수 수수료 % · Buy fee %",
        error_messages=NUMBER,
    )
    sell_fee_pct = forms.DecimalField(
        max_digits=6,
        decimal_places=4,
        min_value=Decimal(0),
        max_value=Decimal(5),
        initial=Decimal("0.015"),
        label="매도 수수료 % · Sell fee %",
        error_messages=NUMBER,
    )
    sell_tax_pct = forms.DecimalField(
        max_digits=6,
        decimal_places=4,
        min_value=Decimal(0),
        max_value=Decimal(5),
        required=False,
        label="매도 세금 % · Sell tax %",
        help_text="비우면 매도일의 KRX 법정 세율 · empty: the KRX statutory rate of each sell date",
        error_messages=NUMBER,
    )
    initial_capital = forms.DecimalField(
        max_digits=20,
        decimal_places=0,
        min_value=Decimal(100_000),
        max_value=Decimal(10) ** 13,
        initial=Decimal(10_000_000),
        label="초기 자본 · Initial capital (KRW)",
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
            self.add_error("end", "종료일이 시작일보다 앞섭니다 · end must not be before start.")
        return data
