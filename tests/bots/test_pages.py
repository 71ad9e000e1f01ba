"""The bot and backtest pages (bots/pages.py): the list, the create form, a bot's page with its
decisions, orders, fills and profit, enable / disable, the backtest form and history. Login
required (302 to the login page); another user's bot or backtest is 404; times in KST."""

import re
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.urls import reverse

from bots import services as bot_services
from bots.models import Backtest, Bot
from tests.accounts.factories import UserFactory
from tests.bots.test_backtest import SPAN
from tests.bots.test_bot import btc, clock, kst, make_bot, tick  # noqa: F401  (fixtures)
from tests.markets.conftest import upbit_daily  # noqa: F401  (fixture)
from trading.models import Fill

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def field_errors(html: str, field: str) -> list[str]:
    return re.findall(rf'<span class="bf-error" id="id_{field}_error">([^<]*)</span>', html)


def test_every_bot_page_redirects_an_anonymous_visitor_to_the_login(client, user, btc):  # noqa: F811
    bot = make_bot(user, btc)
    gets = [reverse("bot-list-page"), reverse("bot-create-page"), reverse("bot-detail-page", args=[bot.pk])]
    posts = [reverse("bot-enable", args=[bot.pk]), reverse("bot-disable", args=[bot.pk]), reverse("bot-create-page")]

    for url in gets:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login")), url
    for url in posts:
        assert client.post(url, {"instrument": btc.pk}).status_code == 302, url
    assert Bot.objects.get().enabled is True and Bot.objects.count() == 1


def test_the_list_shows_only_the_users_bots_with_state_and_last_decision(client, user, btc, clock):  # noqa: F811
    mine = make_bot(user, btc, name="my-btc")
    theirs = make_bot(UserFactory(), btc, name="their-btc")
    tick(clock, kst("2025-09-24"), "159680000")  # arms both: a decision at 09:00:05 KST

    client.force_login(user)
    html = client.get(reverse("bot-list-page")).content.decode()

    assert "my-btc" in html and "their-btc" not in html
    assert reverse("bot-detail-page", args=[mine.pk]) in html
    assert reverse("bot-detail-page", args=[theirs.pk]) not in html
    assert "Watching for the target" in html  # the armed state
    assert "2025-09-24 09:00 KST" in html and "target = open 159680000" in html
    assert reverse("bot-disable", args=[mine.pk]) in html and 'name="csrfmiddlewaretoken"' in html


def test_the_create_form_makes_a_breakout_bot_and_goes_to_its_page(client, user, btc):  # noqa: F811
    client.force_login(user)
    form = client.get(reverse("bot-create-page"))
    assert form.status_code == 200 and f'<option value="{btc.pk}">' in form.content.decode()

    response = client.post(
        reverse("bot-create-page"),
        {"kind": "breakout", "instrument": btc.pk, "k_mode": "fixed", "k": "0.4", "lookback": "20",
         "ma_window": "0", "fraction": "0.25", "condition": "model", "threshold": "0.5",
         "second_threshold": "0.5", "top_n": "5", "enabled": "on"},
    )  # fmt: skip

    bot = Bot.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("bot-detail-page", args=[bot.pk])
    assert (bot.user, bot.instrument, bot.k, bot.ma_window, bot.fraction, bot.enabled) == (
        user,
        btc,
        Decimal("0.4"),
        0,
        Decimal("0.25"),
        True,
    )


GOOD = {"kind": "breakout", "k_mode": "fixed", "k": "0.5", "lookback": "20", "ma_window": "5", "condition": "model",
        "threshold": "0.5", "second_threshold": "0.5", "top_n": "5", "enabled": "on"}  # fmt: skip


@pytest.mark.parametrize(
    "change, field",
    [
        ({"k": "1.5"}, "k"),
        ({"k": "abc"}, "k"),
        ({"fraction": "0"}, "fraction"),
        ({"lookback": "0"}, "lookback"),
        ({"ma_window": "-1"}, "ma_window"),
        ({"exit_after_sessions": "61"}, "exit_after_sessions"),
        ({"instrument": ""}, "instrument"),
        ({"instrument": "999999"}, "instrument"),
        ({"kind": "predictions", "model": ""}, "model"),
    ],
)
def test_bad_input_shows_the_error_on_its_field_in_both_languages_and_creates_nothing(
    client,
    user,
    btc,  # noqa: F811
    change,
    field,
):
    client.force_login(user)
    data = {**GOOD, "instrument": str(btc.pk), **change}

    response = client.post(reverse("bot-create-page"), data, HTTP_ACCEPT_LANGUAGE="ko")
    english = client.post(reverse("bot-create-page"), data, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400 and english.status_code == 400
    errors = field_errors(response.content.decode(), field)
    assert len(errors) == 1 and re.search("[가-힣]", errors[0]), errors
    errors = field_errors(english.content.decode(), field)
    assert len(errors) == 1 and re.search("[A-Za-z]{4}", errors[0]) and not re.search("[가-힣]", errors[0]), errors
    assert not Bot.objects.exists()


def test_a_second_bot_on_the_instrument_is_refused_on_the_instrument_field(client, user, btc):  # noqa: F811
    make_bot(user, btc)
    client.force_login(user)

    response = client.post(reverse("bot-create-page"), {**GOOD, "instrument": str(btc.pk)})

    assert response.status_code == 400
    assert "You already have a bot on this instrument." in field_errors(response.content.decode(), "instrument")[0]
    assert Bot.objects.count() == 1


def test_disable_and_enable_change_the_bots_state_and_need_a_post(client, user, btc):  # noqa: F811
    bot = make_bot(user, btc)
    client.force_login(user)
    detail = reverse("bot-detail-page", args=[bot.pk])

    assert client.get(reverse("bot-disable", args=[bot.pk])).status_code == 405
    bot.refresh_from_db()
    assert bot.enabled is True

    response = client.post(reverse("bot-disable", args=[bot.pk]))
    assert response.status_code == 302 and response["Location"] == detail
    bot.refresh_from_db()
    assert bot.enabled is False
    assert ">disabled</span>" in client.get(detail).content.decode()
    assert ">꺼짐</span>" in client.get(detail, HTTP_ACCEPT_LANGUAGE="ko").content.decode()

    back = client.post(reverse("bot-enable", args=[bot.pk]), {"next": reverse("bot-list-page")})
    assert back["Location"] == reverse("bot-list-page")
    bot.refresh_from_db()
    assert bot.enabled is True
    elsewhere = client.post(reverse("bot-disable", args=[bot.pk]), {"next": "https://evil.example/"})
    assert elsewhere["Location"] == detail  # never off-site


def test_csrf_is_enforced_on_the_state_changing_posts(user, btc):  # noqa: F811
    from django.test import Client

    bot = make_bot(user, btc)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)

    assert client.post(reverse("bot-disable", args=[bot.pk])).status_code == 403
    assert client.post(reverse("bot-create-page"), {**GOOD, "instrument": str(btc.pk)}).status_code == 403
    bot.refresh_from_db()
    assert bot.enabled is True and Bot.objects.count() == 1


def test_another_users_bot_is_404_on_every_page_and_stays_unchanged(client, user, btc):  # noqa: F811
    theirs = make_bot(UserFactory(), btc)
    client.force_login(user)

    assert client.get(reverse("bot-detail-page", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("bot-disable", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.enabled is True


def test_the_bot_page_shows_its_decisions_orders_fills_and_profit(client, user, btc, clock):  # noqa: F811
    bot = make_bot(user, btc)
    tick(clock, kst("2025-09-24"), "159680000")
    tick(clock, kst("2025-09-24", "11:00:00"), "161200000")  # the entry
    tick(clock, kst("2025-09-25", "09:00:03"), "160700000")  # the exit at the next open, armed again
    client.force_login(user)

    html = client.get(reverse("bot-detail-page", args=[bot.pk])).content.decode()

    fills = Fill.objects.filter(order__client_order_id__startswith=f"bot{bot.pk}-")
    assert fills.count() == 2
    for fill in fills:  # each fill, at its KST time, with its price
        when = (fill.created_at + timedelta(hours=9)).strftime("%Y-%m-%d %H:%M:%S")
        assert f"{when} KST" in html and f"{fill.price:,.0f}" in html
    realized = fills.filter(order__side="sell").aggregate(total=Sum("realized_pnl"))["total"]
    assert realized < 0  # bought 161,281,000, sold 160,619,000
    assert f"{realized:,.0f}" in html.split('id="bot-profit"')[1].split("</table>")[0]
    decisions = html.split('id="bot-decisions"')[1].split("</table>")[0]
    assert re.findall(r"<td>(Target set|Bought|Sold at the open)</td>", decisions) == [
        "Target set",
        "Sold at the open",
        "Bought",
        "Target set",
    ]  # newest first
    assert "sold the 0.03098628 bought on 2025-09-24 at the open of 2025-09-25" in decisions
    orders = html.split('id="bot-orders"')[1].split("</table>")[0]
    assert orders.split("<tbody>")[1].count("<tr>") == 2 and "Filled" in orders


def test_the_backtest_form_runs_stores_and_opens_the_chart(client, user, upbit_daily):  # noqa: F811
    client.force_login(user)
    assert client.get(reverse("backtest-list-page")).status_code == 200

    response = client.post(
        reverse("backtest-list-page"),
        {"exchange": "upbit", "symbol": "BTC/KRW", "start": "2025-09-15", "end": "2025-09-27", "k": "0.5",
         "lookback": "20", "ma": "0", "fee_bps": "", "slippage_bps": ""},
    )  # fmt: skip

    backtest = Backtest.objects.get(user=user)
    assert response.status_code == 302 and response["Location"] == reverse("backtest-chart", args=[backtest.pk])
    # the same run as the command's (hand-checked in test_backtest.py)
    call_command("backtest_breakout", *SPAN, "--user", user.username, stdout=StringIO())
    by_command = Backtest.objects.filter(user=user).exclude(pk=backtest.pk).get()
    assert (backtest.total_return, backtest.number_of_trades) == (by_command.total_return, by_command.number_of_trades)

    html = client.get(reverse("backtest-list-page")).content.decode()
    history = html.split('id="backtest-history"')[1]
    assert reverse("backtest-chart", args=[backtest.pk]) in history
    assert f"{backtest.total_return * 100:,.2f} %" in history  # percent, as on the chart page
    chart = client.get(reverse("backtest-chart", args=[backtest.pk])).content.decode()
    assert f"{backtest.total_return * 100:,.2f} %" in chart and " KST" in chart


@pytest.mark.parametrize(
    "change, field",
    [
        ({"symbol": "NOPE/KRW"}, "symbol"),
        ({"k": "2"}, "k"),
        ({"start": "2025-13-01"}, "start"),
        ({"start": "2025-09-27", "end": "2025-09-15"}, "start"),
        ({"lookback": "0"}, "lookback"),
        ({"fee_bps": "abc"}, "fee_bps"),
        ({"exchange": "nasdaq"}, "exchange"),
        ({"start": "2030-01-01", "end": ""}, "start"),  # no candles in the span
    ],
)
def test_bad_backtest_input_shows_the_field_error_and_stores_nothing(client, user, upbit_daily, change, field):  # noqa: F811
    client.force_login(user)
    data = {"exchange": "upbit", "symbol": "BTC/KRW", "k": "auto", "lookback": "20", "ma": "5", **change}

    response = client.post(reverse("backtest-list-page"), data, HTTP_ACCEPT_LANGUAGE="ko")

    assert response.status_code == 400
    errors = field_errors(response.content.decode(), field)
    assert len(errors) == 1 and re.search("[가-힣]", errors[0]), errors
    assert not Backtest.objects.exists()


def test_backtest_pages_need_a_login_and_hide_other_users_runs(client, user, upbit_daily):  # noqa: F811
    call_command("backtest_breakout", *SPAN, "--user", UserFactory().username, stdout=StringIO())
    theirs = Backtest.objects.get()

    assert client.get(reverse("backtest-list-page")).status_code == 302
    assert client.post(reverse("backtest-list-page"), {"exchange": "upbit", "symbol": "BTC/KRW"}).status_code == 302
    client.force_login(user)
    assert reverse("backtest-chart", args=[theirs.pk]) not in client.get(reverse("backtest-list-page")).content.decode()
    assert client.get(reverse("backtest-chart", args=[theirs.pk])).status_code == 404
    assert Backtest.objects.count() == 1


def test_the_nav_links_the_bot_and_backtest_pages(client, user):
    client.force_login(user)
    html = client.get(reverse("bot-list-page")).content.decode()
    header = html.split('<header class="site-header">')[1].split("</header>")[0]

    assert f'href="{reverse("bot-list-page")}"' in header and f'href="{reverse("backtest-list-page")}"' in header
    assert (reverse("bot-list-page"), reverse("backtest-list-page")) == ("/bots/", "/backtests/")


def test_a_predictions_bot_with_an_unknown_model_is_refused_on_the_model_field(client, user):
    client.force_login(user)

    response = client.post(reverse("bot-create-page"), {**GOOD, "kind": "predictions", "model": "no-such-model"})

    assert response.status_code == 400 and len(field_errors(response.content.decode(), "model")) == 1
    assert not Bot.objects.exists()
    assert bot_services  # the service is the one place the rule lives


def test_the_forms_translated_choices_are_the_models_values():
    from django.utils import translation

    from bots.forms import BotForm

    form = BotForm()
    for field, choices in (("kind", Bot.Kind), ("k_mode", Bot.KMode), ("condition", Bot.Condition)):
        labels = dict(form.fields[field].choices)
        assert list(labels) == list(choices.values)
        with translation.override("ko"):
            assert all(re.search("[가-힣]", str(label)) for label in labels.values())
        with translation.override("en"):
            assert not any(re.search("[가-힣]", str(label)) for label in labels.values())


@pytest.mark.parametrize(
    "name",
    ["bot-list-page", "bot-create-page", "backtest-list-page", "taker-volume-page", "prediction-backtest-list-page"],
)
def test_the_new_pages_carry_no_inline_script_or_style(client, user, name):
    from tests.security.test_csp import INLINE_SCRIPT

    client.force_login(user)
    response = client.get(reverse(name))

    assert response.status_code == 200 and "unsafe-inline" not in response["Content-Security-Policy"]
    html = response.content.decode()
    assert not INLINE_SCRIPT.search(html) and "<style" not in html and " style=" not in html
