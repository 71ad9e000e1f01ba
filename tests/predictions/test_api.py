"""Predictions API and pages: lists, the discover list, backtests (own only), charts."""

from datetime import date

import numpy as np
import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from markets.models import Instrument
from predictions import services
from predictions.backtest import BacktestParams, run_backtest
from predictions.models import Prediction, PredictionBacktest
from tests.accounts.factories import UserFactory
from tests.predictions.conftest import FAST_GBM, TRAIN_START

pytestmark = pytest.mark.django_db

BACKTEST = {"start": "2024-10-02", "end": "2024-12-30", "top_n": 5, "hold_sessions": 5, "stop_loss_pct": "7.5"}


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


def test_prediction_list_defaults_to_the_latest_session_best_rank_first(api_client, predicted):
    response = api_client.get("/api/v1/predictions/", {"market": "KOSPI", "model": predicted.name})

    assert response.status_code == 200 and response.data["count"] == 50
    first = response.data["results"][0]
    assert first["session_date"] == "2025-06-17" and first["rank"] == 1 and first["model"] == predicted.name
    assert first["name"] == Instrument.objects.get(symbol=first["symbol"]).name_ko

    older = api_client.get("/api/v1/predictions/", {"date": "2025-01-02", "limit": 3}).data
    assert [p["rank"] for p in older["results"]] == [1, 2, 3] and older["results"][0]["session_date"] == "2025-01-02"


def test_bad_prediction_queries_name_the_field(api_client, predicted):
    bad_market = api_client.get("/api/v1/predictions/", {"market": "NASDAQ"})
    unknown = api_client.get("/api/v1/predictions/discover/", {"model": "nope"})
    bad_date = api_client.get("/api/v1/predictions/", {"date": "17/06/2025"})

    assert bad_market.status_code == 400 and bad_market.data["error"]["fields"].keys() == {"market"}
    assert unknown.status_code == 400 and unknown.data["error"]["fields"] == {"model": ["no predictor named 'nope'"]}
    assert bad_date.status_code == 400 and bad_date.data["error"]["code"] == "invalid"


def test_discover_lists_top_picks_with_close_and_every_active_models_probability(api_client, predicted):
    # a second active model of the board (the older version reinstated, as an operator can)
    second = services.predictor_train(board="KOSPI", train_start=TRAIN_START, train_end=date(2024, 8, 30), **FAST_GBM)
    predicted.active = True
    predicted.save(update_fields=["active"])
    services.predictions_store(predictor=second, start=date(2025, 6, 17))

    response = api_client.get(
        "/api/v1/predictions/discover/", {"market": "KOSPI", "limit": 10, "model": predicted.name}
    )

    data = response.data
    assert response.status_code == 200 and data["date"] == "2025-06-17" and len(data["results"]) == 10
    assert data["models"] == [predicted.name, second.name]
    top = data["results"][0]
    stored = Prediction.objects.get(predictor=predicted, session_date=date(2025, 6, 17), rank=1)
    assert top["symbol"] == stored.instrument.symbol and top["name"] == stored.instrument.name_ko
    assert top["probabilities"][predicted.name] == stored.probability_up and set(top["probabilities"]) == set(
        data["models"]
    )
    assert [vote["model"] for vote in top["by_model"]] == data["models"]
    assert top["close"]  # the close of the session, KRW
    other_rank = Prediction.objects.get(
        predictor=second, session_date=date(2025, 6, 17), instrument=stored.instrument
    ).rank
    assert top["models_agreeing"] == 1 + (other_rank <= 10) and top["agreement"] == top["models_agreeing"] / 2


def test_backtest_needs_authentication_and_stores_nothing_without_it(api_client, predicted):
    response = api_client.post("/api/v1/prediction-backtests/", {**BACKTEST, "model": predicted.name}, format="json")

    assert response.status_code == 401 and response.data["error"]["code"] == "not_authenticated"
    assert not PredictionBacktest.objects.exists()


def test_backtest_of_stored_predictions_equals_the_pure_backtest_on_the_csv(auth_client, user, predicted, top50_panel):
    response = auth_client.post("/api/v1/prediction-backtests/", {**BACKTEST, "model": predicted.name}, format="json")

    assert response.status_code == 201, response.data
    data = response.data
    # the same picks (stored ranks) simulated on the recorded CSV panel
    first, last = top50_panel.session_index(date(2024, 10, 2)), top50_panel.session_index(date(2024, 12, 30))
    scores = np.full(top50_panel.shape, np.nan)
    row = {day.date(): t for t, day in enumerate(top50_panel.sessions)}
    column = {code: n for n, code in enumerate(top50_panel.codes)}
    for day, symbol, rank in Prediction.objects.values_list("session_date", "instrument__symbol", "rank"):
        scores[row[day], column[symbol]] = -rank
    expected = run_backtest(top50_panel, scores, first, last, BacktestParams(top_n=5, stop_loss_pct=7.5))
    assert data["total_return"] == pytest.approx(expected.metrics["total_return"], abs=1e-9)
    assert data["max_drawdown"] == pytest.approx(expected.metrics["max_drawdown"], abs=1e-9)
    assert data["trades"] == expected.metrics["trades"] and data["win_rate"] == pytest.approx(
        expected.metrics["win_rate"]
    )
    assert data["benchmark_total_return"] == pytest.approx(expected.metrics["benchmark_total_return"], abs=1e-9)
    assert data["final_equity"] == str(round(expected.metrics["final_equity"]))
    assert [p["date"] for p in data["curve"]][:2] == ["2024-10-02", "2024-10-04"]  # 10-03 and 10-09 are holidays
    assert len(data["curve"]) == last - first + 1 and data["sell_tax_pct"] is None
    assert PredictionBacktest.objects.get().user == user


def test_a_user_sees_only_their_own_backtests(auth_client, predicted):
    mine = auth_client.post("/api/v1/prediction-backtests/", {**BACKTEST, "model": predicted.name}, format="json").data
    other = client_for(UserFactory())

    assert auth_client.get(f"/api/v1/prediction-backtests/{mine['id']}/").data["curve"]
    assert other.get(f"/api/v1/prediction-backtests/{mine['id']}/").status_code == 404
    assert other.get("/api/v1/prediction-backtests/").data["count"] == 0
    assert auth_client.get("/api/v1/prediction-backtests/").data["results"][0]["id"] == mine["id"]


def test_a_backtest_inside_the_training_period_is_refused_and_nothing_is_stored(auth_client, predicted):
    response = auth_client.post(
        "/api/v1/prediction-backtests/", {**BACKTEST, "model": predicted.name, "start": "2024-09-02"}, format="json"
    )

    assert response.status_code == 400
    assert response.data["error"]["code"] == "in_sample_period" and list(response.data["error"]["fields"]) == ["start"]
    assert not PredictionBacktest.objects.exists()


def test_a_backtest_without_stored_predictions_says_how_to_make_them(auth_client, predicted):
    Prediction.objects.filter(session_date__range=(date(2024, 11, 1), date(2024, 11, 5))).delete()

    response = auth_client.post("/api/v1/prediction-backtests/", {**BACKTEST, "model": predicted.name}, format="json")

    assert response.status_code == 409 and response.data["error"]["code"] == "missing_predictions"
    assert (
        f"3 session(s) from 2024-11-01 to 2024-11-05; run: manage.py predict --model {predicted.name} "
        "--start 2024-11-01 --end 2024-11-05"
    ) in response.data["error"]["message"]
    assert not PredictionBacktest.objects.exists()


def test_backtest_input_errors_name_their_field(auth_client, predicted):
    cases = [
        ({"model": "nope"}, "model"),
        ({"model": predicted.name, "end": "2024-10-01"}, "end"),
        ({"model": predicted.name, "top_n": 0}, "top_n"),
        ({"model": predicted.name, "market": "KOSDAQ"}, "market"),
        ({"model": predicted.name, "stop_loss_pct": "100"}, "stop_loss_pct"),
    ]
    for change, field in cases:
        response = auth_client.post("/api/v1/prediction-backtests/", {**BACKTEST, **change}, format="json")
        assert response.status_code == 400 and field in response.data["error"]["fields"], (change, response.data)
    assert not PredictionBacktest.objects.exists()


def test_pages_show_the_discover_list_and_your_own_backtest_chart(client, user, predicted):
    backtest = services.prediction_backtest_create(
        user=user, predictor=predicted, start=date(2024, 10, 2), end=date(2024, 12, 30), top_n=5
    )
    stranger = UserFactory()

    discover = client.get("/predictions/", {"market": "KOSPI"})
    assert discover.status_code == 200
    top = Prediction.objects.get(predictor=predicted, session_date=date(2025, 6, 17), rank=1)
    assert top.instrument.name_ko in discover.content.decode()

    assert client.get(f"/predictions/backtests/{backtest.pk}/").status_code == 302  # to the login page
    client.force_login(user)
    page = client.get(f"/predictions/backtests/{backtest.pk}/").content.decode()
    assert "vendor/lightweight-charts/lightweight-charts.standalone.production.js" in page
    assert 'id="equity-curve"' in page and "predictions/backtest_chart.js" in page
    assert client.get("/predictions/backtests/").status_code == 200
    client.force_login(stranger)
    assert client.get(f"/predictions/backtests/{backtest.pk}/").status_code == 404


def test_predictors_are_listed_with_their_metadata(api_client, predicted):
    response = api_client.get(f"/api/v1/predictors/{predicted.name}/")

    assert response.status_code == 200
    data = response.data
    assert (data["kind"], data["market"], data["train_start"], data["train_end"]) == (
        "gbm",
        "KOSPI",
        "2024-01-02",
        "2024-09-30",
    )
    assert data["library_versions"]["scikit-learn"] and len(data["features"]) == 37
    assert "artifact" not in data  # a server-side file name
    assert api_client.get("/api/v1/predictors/").data["count"] == 1
