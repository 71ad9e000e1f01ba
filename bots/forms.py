"""The forms of the bot and backtest pages: they parse and bound the input (messages in Korean
and English, per field); the rules stay in ``bots.services``, whose ``InvalidBot`` /
``InvalidBacktest`` the views put back on the field they name (``add_service_error``)."""

from decimal import Decimal

from django import forms
from django.conf import settings

from bots.models import Bot
from bots.services import MAX_DAYS
from core.exceptions import DomainError
from core.forms import DATE, MESSAGES, NUMBER, WHOLE
from markets.models import Exchange, Instrument, Kind

# the Korean line put in front of a service's English message, by the field it names
SERVICE_KO = {
    "instrument": "종목을 확인하세요",
    "symbol": "종목을 확인하세요",
    "k": "k는 0과 1 사이입니다",
    "k_mode": "k 방식을 고르세요",
    "fraction": "비중은 0 초과 1 이하입니다",
    "lookback": "기간(일)을 확인하세요",
    "ma_window": "이동평균 기간을 확인하세요",
    "ma": "이동평균 기간을 확인하세요",
    "exit_after_sessions": "보유 세션 수를 확인하세요",
    "model": "모델을 확인하세요",
    "second_model": "두 번째 모델을 확인하세요",
    "threshold": "기준값을 확인하세요",
    "second_threshold": "기준값을 확인하세요",
    "top_n": "종목 수를 확인하세요",
    "stop_loss_pct": "손절 비율을 확인하세요",
    "start": "기간을 확인하세요",
    "end": "기간을 확인하세요",
    "fee_bps": "수수료를 확인하세요",
    "slippage_bps": "슬리피지를 확인하세요",
}


def add_service_error(form: forms.Form, error: DomainError, *, aliases: dict[str, str] | None = None) -> None:
    """Put a service's domain error on the form field it names (``aliases`` maps a service
    field to the form's name), or on the form when it names none of the form's fields."""
    field = (aliases or {}).get(error.field or "", error.field)
    korean = SERVICE_KO.get(field or "", "입력을 확인하세요")
    form.add_error(field if field in form.fields else None, f"{korean} · {error.message}")


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
            ("breakout", "변동성 돌파 · Volatility breakout"),
            ("predictions", "예측 추종 · Follows the predictions"),
        ],
        initial=Bot.Kind.BREAKOUT,
        error_messages=MESSAGES,
    )
    name = forms.CharField(max_length=100, required=False, error_messages=MESSAGES)
    instrument = InstrumentChoiceField(
        queryset=Instrument.objects.none(), required=False, error_messages=MESSAGES, empty_label="—"
    )
    k_mode = forms.ChoiceField(
        choices=[("fixed", "고정 k · Fixed k"), ("auto", "최적 K · Best K, walk-forward")],
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
            ("model", "모델 하나 · One model"),
            ("both", "둘 다 · Both models agree"),
            ("either", "하나라도 · Either model"),
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
        "kind": ("종류 · Kind", ""),
        "name": ("이름 · Name", "선택 · optional"),
        "instrument": ("종목 · Instrument", "돌파 봇 · breakout bots"),
        "k_mode": ("k 방식 · k mode", "고정 k 또는 최적 K(워크포워드) · fixed, or best K walk-forward"),
        "k": ("k", "고정 k, 0~1 · a fixed-k bot's k, 0 to 1"),
        "lookback": ("최적 K 기간 · Lookback (days)", "최적 K를 맞추는 일수 · days the best K is fitted on"),
        "ma_window": ("이동평균 · Moving average (days)", "0 = 끔 · 0 = off"),
        "fraction": (
            "비중 · Fraction of cash",
            "진입마다 가용 현금의 비율, 0~1 (기본 0.5, 예측 봇 0.2) · of the available cash per entry (default 0.5; predictions 0.2)",
        ),
        "exit_after_sessions": (
            "보유 세션 · Hold sessions",
            "N 세션 보유 후 매도, 1~60 (비우면 다음 시가에 매도; 예측 봇 기본 5) · sell after N sessions (empty: at the next open; predictions default 5)",
        ),
        "enabled": ("사용 · Enabled", ""),
        "model": ("모델 · Model", "예측 봇이 따르는 예측기 이름 · predictions bot: the predictor followed"),
        "second_model": ("두 번째 모델 · Second model", "조건 both / either"),
        "condition": ("조건 · Condition", ""),
        "threshold": ("기준 확률 · Threshold", "0~1"),
        "second_threshold": ("두 번째 기준 · Second threshold", "0~1"),
        "top_n": ("세션당 종목 수 · Top N", "1~50"),
        "stop_loss_pct": ("손절 % · Stop loss %", "선택 · optional"),
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
                self.add_error(
                    "model", "예측 봇은 모델이 필요합니다 · A predictions bot follows a model: give its name."
                )
            if data.get("exit_after_sessions") is None and "exit_after_sessions" not in self.errors:
                data["exit_after_sessions"] = 5
        elif data.get("kind") == Bot.Kind.BREAKOUT and not data.get("instrument") and "instrument" not in self.errors:
            self.add_error(
                "instrument", "돌파 봇은 종목 하나를 거래합니다 · A breakout bot trades one instrument: choose it."
            )
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
        "exchange": ("거래소 · Exchange", ""),
        "symbol": ("종목 · Symbol", "BTC/KRW; KRX 코드 예 005930 · a KRX code such as 005930"),
        "start": ("시작일 · Start", "YYYY-MM-DD; 비우면 처음부터 · empty: the first stored candle"),
        "end": ("종료일 · End", "YYYY-MM-DD; 비우면 끝까지 · empty: the last stored candle"),
        "k": ("k", '"auto" (최적 K 워크포워드 · best K walk-forward) 또는 · or 0~1'),
        "lookback": ("최적 K 기간 · Lookback (days)", ""),
        "ma": ("이동평균 · Moving average (days)", "0 = 끔 · 0 = off"),
        "fee_bps": ("수수료 bps · Fee (bps)", "비우면 거래소 수수료 · empty: the exchange's fee"),
        "slippage_bps": ("슬리피지 bps · Slippage (bps)", "비우면 시장가 슬리피지 · empty: the market-order slippage"),
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
            raise forms.ValidationError('k는 "auto" 또는 0~1 사이 숫자입니다 · k is "auto" or a number from 0 to 1.')
        return text

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            self.add_error("start", "시작일이 종료일보다 늦습니다 · start must not be after end.")
        return data
