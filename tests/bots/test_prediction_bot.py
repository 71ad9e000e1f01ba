"""The predictions bot: each KRX session it buys the top N picks of a model's latest
predictions above a threshold, holds each lot N sessions, and agrees with its backtest.

The model is real: the small KOSPI gradient-boosting predictor the predictions tests train on
the shipped top-50 slice (2024-01 .. 2024-09) and its stored predictions from 2024-10-02.
Prices are the recorded daily closes: on each session the bot buys at the previous session's
close (the session its predictions are for), which is where the backtest buys.
"""

from datetime import datetime, time, timedelta
from decimal import ROUND_FLOOR, Decimal
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from django.utils import timezone

from bots import services
from bots.models import Bot, BotDecision
from markets.clock import demo_clock_clear, demo_clock_install
from markets.models import Candle, Instrument, Ticker
from markets.sources.clock import DemoClock
from predictions.following import select
from predictions.selectors import session_open_utc
from predictions.services import prediction_follow_backtest
from predictions.sessions import sessions_between
from tests.predictions.conftest import _artifacts_in_tmp, krx_predicted, predicted  # noqa: F401  (fixtures)
from trading import services as trading_services
from trading.models import Lot
from trading.selectors import ledger_mismatches

pytestmark = pytest.mark.django_db

SEOUL = ZoneInfo("Asia/Seoul")
START, END = "2024-10-02", "2024-10-31"
HOLD, TOP_N = 3, 2


def _at(day, hh: int, mm: int) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=SEOUL)


def _prices_of(day) -> None:
    """Every KRX instrument's last price = its recorded close of ``day`` (no row: unchanged)."""
    closes = Candle.objects.filter(instrument__exchange="krx", interval="1d", open_time=session_open_utc(day))
    for instrument_id, close in closes.values_list("instrument_id", "close"):
        Ticker.objects.update_or_create(
            instrument_id=instrument_id, defaults={"last_price": close, "time": _at(day, 15, 30), "source": "replay"}
        )


def _threshold(predictor) -> float:
    """The 80th percentile of the model's probabilities in the period: some picks pass, not all."""
    values = predictor.predictions.filter(session_date__gte=START, session_date__lte=END).values_list(
        "probability_up", flat=True
    )
    return float(np.quantile(list(values), 0.8))


def test_select_conditions():
    a = {1: (1, 0.9), 2: (2, 0.7), 3: (3, 0.4)}
    b = {2: (1, 0.8), 3: (2, 0.6), 4: (3, 0.55)}
    assert select(a, threshold=0.5, top_n=5) == [1, 2]
    assert select(a, b, condition="both", threshold=0.5, second_threshold=0.5, top_n=5) == [2]
    # either: ranked by the best rank a passing model gives, the first model first on a tie
    assert select(a, b, condition="either", threshold=0.5, second_threshold=0.5, top_n=5) == [1, 2, 3, 4]
    assert select(a, b, condition="either", threshold=0.5, second_threshold=0.5, top_n=2) == [1, 2]
    with pytest.raises(ValueError):
        select(a, condition="both")


def test_the_bot_and_its_backtest_buy_and_sell_the_same_stocks_on_the_same_sessions(predicted, user, settings):
    settings.TRADING = {**settings.TRADING, "STARTING_CASH": {"KRW": Decimal("1000000000"), "USDT": Decimal("0")}}
    threshold = _threshold(predicted)
    bot = services.prediction_bot_create(
        user=user,
        model=predicted.name,
        threshold=Decimal(str(round(threshold, 8))),
        top_n=TOP_N,
        fraction=Decimal("0.05"),
        exit_after_sessions=HOLD,
    )
    result = prediction_follow_backtest(
        model=predicted.name,
        start=datetime.fromisoformat(START).date(),
        end=datetime.fromisoformat(END).date(),
        threshold=float(bot.threshold),
        top_n=TOP_N,
        hold_sessions=HOLD,
    )
    days = sessions_between(START, END)
    for i, day in enumerate(days):
        if 1 <= i <= len(days) - HOLD:  # the predictions of days[i - 1], bought like the backtest
            _prices_of(days[i - 1])
            services.prediction_bot_check(bot_id=bot.pk, now=_at(day, 9, 5))
            services.prediction_bot_check(bot_id=bot.pk, now=_at(day, 9, 6))  # again: nothing more
        _prices_of(day)
        trading_services.lots_exit_due(now=_at(day, 15, 26))

    symbols = dict(Instrument.objects.filter(exchange="krx").values_list("pk", "symbol"))
    session_of = {d: days[i - 1] for i, d in enumerate(days) if i}
    bought = set()
    for lot in Lot.objects.filter(user=user).select_related("instrument"):
        assert lot.exit_state == "done" and lot.remaining == 0
        bought.add((lot.instrument.symbol, session_of[lot.day], lot.exit_due_at.astimezone(SEOUL).date()))
    traded = {(t.code, t.entry_date, t.exit_date) for t in result.trades}
    assert traded, "the threshold let no pick through: the test would prove nothing"
    assert bought == traded
    assert all(t.reason == "hold" for t in result.trades)
    # one entry decision per lot; the repeated checks placed nothing twice
    assert BotDecision.objects.filter(bot=bot, action="enter").count() == len(bought)
    assert set(symbols.values()) >= {code for code, _, _ in bought}
    assert ledger_mismatches() == []


def test_stop_loss_sells_a_lot_below_its_price(predicted, user, settings):
    settings.TRADING = {**settings.TRADING, "STARTING_CASH": {"KRW": Decimal("1000000000"), "USDT": Decimal("0")}}
    bot = services.prediction_bot_create(
        user=user,
        model=predicted.name,
        threshold=Decimal("0"),
        top_n=1,
        exit_after_sessions=5,
        stop_loss_pct=Decimal("3"),
    )
    days = sessions_between(START, END)
    _prices_of(days[0])
    services.prediction_bot_check(bot_id=bot.pk, now=_at(days[1], 9, 5))
    lot = Lot.objects.get(user=user)
    # the price falls 3 % below the lot's price (fee included): the next check sells it
    Ticker.objects.filter(instrument=lot.instrument).update(
        last_price=(lot.price * Decimal("0.97")).quantize(Decimal(1), rounding=ROUND_FLOOR)
    )
    services.prediction_bot_check(bot_id=bot.pk, now=_at(days[1], 10, 0))
    lot.refresh_from_db()
    assert lot.remaining == 0
    exit_ = BotDecision.objects.get(bot=bot, action="exit")
    assert "stop-loss" in exit_.reason and exit_.order.client_order_id == f"bot{bot.pk}-stop-lot-{lot.pk}"


def test_in_the_demo_the_bot_trades_the_demo_clocks_session_not_the_wall_clocks(predicted, user, settings):
    # given a predictions bot and a demo clock at the second session of the predictions 09:05 KST
    # while the wall clock is now (2026)
    settings.TRADING = {**settings.TRADING, "STARTING_CASH": {"KRW": Decimal("1000000000"), "USDT": Decimal("0")}}
    bot = services.prediction_bot_create(
        user=user, model=predicted.name, threshold=Decimal("0"), top_n=1, exit_after_sessions=5
    )
    days = sessions_between(START, END)
    _prices_of(days[0])
    wall = timezone.now()
    demo_at = _at(days[1], 9, 5)
    demo_clock_install(clock=DemoClock(start=demo_at, end=demo_at + timedelta(days=7), speed=60.0, wall_start=wall))
    try:
        # when the beat checks it on the wall clock
        services.prediction_bot_check(bot_id=bot.pk, now=wall)
    finally:
        demo_clock_clear()
    # then it traded the demo's session, from the predictions before it
    bot.refresh_from_db()
    assert bot.day == days[1]
    assert Lot.objects.filter(user=user).count() == 1
    entry = BotDecision.objects.get(bot=bot, action="enter")
    assert entry.day == days[1]
    # (the lot itself is stamped with the wall clock, like every order: see the issue 16 note)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"model": "no-such-model"}, "model"),
        ({"condition": "both"}, "second_model"),
        ({"condition": "sometimes"}, "condition"),
        ({"threshold": "1.5"}, "threshold"),
        ({"top_n": 0}, "top_n"),
        ({"exit_after_sessions": None}, "exit_after_sessions"),
        ({"stop_loss_pct": "0"}, "stop_loss_pct"),
    ],
)
def test_bad_predictions_bot_settings_are_refused_naming_the_field(predicted, user, change, field):
    with pytest.raises(services.InvalidBot) as caught:
        services.prediction_bot_create(user=user, **{"model": predicted.name, **change})
    assert caught.value.field == field
    assert not Bot.objects.exists()


def test_api_creates_a_predictions_bot_and_lists_it(predicted, auth_client, user):
    response = auth_client.post(
        "/api/v1/bots/",
        {"kind": "predictions", "model": predicted.name, "threshold": "0.6", "top_n": 3, "exit_after_sessions": 5},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["kind"], body["model"], body["top_n"], body["exit_after_sessions"]) == (
        "predictions",
        predicted.name,
        3,
        5,
    )
    assert body["instrument"] is None and body["symbol"] is None
    assert auth_client.get("/api/v1/bots/").json()["count"] == 1

    bad = auth_client.post("/api/v1/bots/", {"kind": "predictions", "model": "nope"}, format="json")
    assert bad.status_code == 400 and "model" in bad.json()["error"]["fields"]
    assert Bot.objects.count() == 1


def test_discover_rows_carry_the_live_price_thresholds_and_the_ticket_link(predicted, api_client):
    from predictions.models import Prediction

    day = (
        Prediction.objects.filter(predictor=predicted)
        .order_by("-session_date")
        .values_list("session_date", flat=True)
        .first()
    )
    top = Prediction.objects.get(predictor=predicted, session_date=day, rank=1)
    close = Candle.objects.get(instrument=top.instrument, interval="1d", open_time=session_open_utc(day)).close
    live = close * Decimal("1.02")  # 2 % above the prediction's close
    Ticker.objects.update_or_create(
        instrument=top.instrument, defaults={"last_price": live, "time": _at(day, 15, 30), "source": "replay"}
    )
    threshold = round(top.probability_up - 0.0001, 4)
    response = api_client.get(
        "/api/v1/predictions/discover/",
        {"market": "KOSPI", "limit": 5, "model": predicted.name, "thresholds": f"{predicted.name}:{threshold}"},
    )
    data = response.json()
    assert response.status_code == 200 and isinstance(data["is_open"], bool)
    assert data["thresholds"] == {predicted.name: threshold}
    row = data["results"][0]
    assert Decimal(row["last_price"]) == live
    assert abs(row["change_since_close"] - 0.02) < 1e-9
    assert row["passes"] == {predicted.name: True} and row["models_passing"] == 1
    assert row["ticket_url"] == f"/portfolio/?instrument={top.instrument_id}&exit_after_sessions={predicted.horizon}"
    assert data["results"][-1]["passes"][predicted.name] is (data["results"][-1]["probability_up"] >= threshold)

    bad = api_client.get("/api/v1/predictions/discover/", {"market": "KOSPI", "thresholds": "x:2"})
    assert bad.status_code == 400 and "thresholds" in bad.json()["error"]["fields"]

    # the page shows the same row: the live price, the change since the close and the ticket link
    page = api_client.get("/predictions/", {"market": "KOSPI", "limit": 5}).content.decode()
    assert f"{live:,.0f}" in page and "+2.00 %" in page
    assert f'href="/portfolio/?instrument={top.instrument_id}&amp;exit_after_sessions={predicted.horizon}"' in page
    assert ("KRX session open" if data["is_open"] else "KRX closed") in page
