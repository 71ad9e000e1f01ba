"""The prediction backtest form on /predictions/backtests/ (run, history, chart in percent) and
the discover rows' links to the board's chart and the order ticket."""

import re
from datetime import date

import pytest
from django.urls import reverse

from predictions.models import Prediction, PredictionBacktest
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db

FORM = {"start": "2024-10-02", "end": "2024-12-30", "top_n": "5", "hold_sessions": "5", "stop_loss_pct": "7.5",
        "buy_fee_pct": "0.015", "sell_fee_pct": "0.015", "sell_tax_pct": "", "initial_capital": "10000000",
        "market": ""}  # fmt: skip


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def field_errors(html: str, field: str) -> list[str]:
    return re.findall(rf'<span class="pbt-error" id="id_{field}_error">([^<]*)</span>', html)


def test_the_form_runs_a_backtest_like_the_api_and_opens_its_chart(client, user, auth_client, predicted):
    client.force_login(user)
    page = client.get(reverse("prediction-backtest-list-page")).content.decode()
    assert f'<option value="{predicted.name}" selected>' in page and 'id="prediction-backtest-form"' in page

    response = client.post(reverse("prediction-backtest-list-page"), {**FORM, "model": predicted.name})

    backtest = PredictionBacktest.objects.get(user=user)
    assert response.status_code == 302
    assert response["Location"] == reverse("prediction-backtest-chart", args=[backtest.pk])
    api = auth_client.post(
        "/api/v1/prediction-backtests/",
        {"model": predicted.name, "start": "2024-10-02", "end": "2024-12-30", "top_n": 5, "stop_loss_pct": "7.5"},
        format="json",
    ).data
    assert backtest.total_return == pytest.approx(api["total_return"]) and backtest.trades == api["trades"]

    percent = f"{backtest.total_return * 100:+.2f} %"
    history = client.get(reverse("prediction-backtest-list-page")).content.decode()
    assert percent in history.split('id="prediction-backtest-history"')[1]
    chart = client.get(reverse("prediction-backtest-chart", args=[backtest.pk])).content.decode()
    assert percent in chart.split('id="backtest-figures"')[1]  # the same unit as the list
    assert " KST" in chart


@pytest.mark.parametrize(
    "change, field",
    [
        ({"model": "no-such-model"}, "model"),
        ({"start": "2024-09-02"}, "start"),  # inside the training period
        ({"end": "2024-10-01"}, "end"),
        ({"top_n": "0"}, "top_n"),
        ({"stop_loss_pct": "100"}, "stop_loss_pct"),
        ({"start": "someday"}, "start"),
        ({"market": "KOSDAQ"}, "market"),
    ],
)
def test_bad_input_shows_the_fields_message_and_stores_nothing(client, user, predicted, change, field):
    client.force_login(user)

    response = client.post(
        reverse("prediction-backtest-list-page"),
        {**FORM, "model": predicted.name, **change},
        HTTP_ACCEPT_LANGUAGE="ko",
    )

    assert response.status_code == 400
    errors = field_errors(response.content.decode(), field)
    assert len(errors) == 1 and re.search("[가-힣]", errors[0]), errors
    assert not PredictionBacktest.objects.exists()


def test_the_form_needs_a_login(client, predicted):
    assert client.get(reverse("prediction-backtest-list-page")).status_code == 302
    assert client.post(reverse("prediction-backtest-list-page"), {**FORM, "model": predicted.name}).status_code == 302
    assert not PredictionBacktest.objects.exists()


def test_another_users_backtest_is_not_listed(client, user, predicted):
    client.force_login(UserFactory())
    client.post(reverse("prediction-backtest-list-page"), {**FORM, "model": predicted.name})
    theirs = PredictionBacktest.objects.get()
    client.force_login(user)

    html = client.get(reverse("prediction-backtest-list-page")).content.decode()
    assert reverse("prediction-backtest-chart", args=[theirs.pk]) not in html
    assert client.get(reverse("prediction-backtest-chart", args=[theirs.pk])).status_code == 404


def test_discover_rows_link_the_boards_chart_and_the_order_ticket(client, predicted):
    html = client.get(reverse("predictions-discover"), {"market": "KOSPI"}).content.decode()

    top = Prediction.objects.get(predictor=predicted, session_date=date(2025, 6, 17), rank=1)
    chart = f'href="{reverse("board")}#instrument={top.instrument_id}&amp;interval=1d"'
    ticket = (
        f'href="{reverse("portfolio-page")}?instrument={top.instrument_id}&amp;exit_after_sessions={predicted.horizon}"'
    )
    assert chart in html and ticket in html
