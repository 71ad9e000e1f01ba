"""The backtester: ``manage.py backtest_breakout``, ``/api/v1/backtests/`` and the chart page,
on real candles imported into the database with ``import_candles``.

Hand-checked span (shipped Upbit KRW-BTC, k 0.5, no filter, fee 5 + slippage 5 bps per leg):

    day     target = open + 0.5 x range of the day before       high         next open
    09-15   160,338,000 + 0.5 x 1,301,000 = 160,988,500        161,791,000  160,705,000
    09-16   160,705,000 + 0.5 x 2,291,000 = 161,850,500        162,334,000  162,200,000
    09-17   162,200,000 + 0.5 x 2,209,000 = 163,304,500 > high 163,000,000: no entry
    09-18   161,468,000 + 0.5 x 2,790,000 = 162,863,000        163,333,000  162,478,000
    09-24   159,680,000 + 0.5 x 2,682,000 = 161,021,000        161,200,000  160,700,000
"""

import json
from datetime import date
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from bots.models import Backtest
from tests.accounts.factories import UserFactory
from tests.bots.breakout_reference import load_days, plain_backtest
from tests.markets.conftest import upbit_daily  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

SHARED = Path(settings.MARKETS["SHARED_DATA_DIR"])
BITHUMB_FILE = SHARED / "coins_daily" / "bithumb_BTC_KRW_daily_2013-12-27_2022-03-04.csv"
BACKTESTS = "/api/v1/backtests/"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # the user fixtures hash a password; PBKDF2's 1M rounds cost ~0.5 s a test and prove nothing here
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def backtest_json(*args) -> dict:
    out = StringIO()
    call_command("backtest_breakout", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def factor(entry, exit_):
    return exit_ * 0.9995 * 0.9995 / (entry * 1.0005 * 1.0005)


SPAN = [
    "--symbol",
    "BTC/KRW",
    "--exchange",
    "upbit",
    "--start",
    "2025-09-15",
    "--end",
    "2025-09-27",
    "--k",
    "0.5",
    "--ma",
    "0",
]


def test_command_reports_the_hand_checked_trades_and_figures(upbit_daily):  # noqa: F811
    result = backtest_json(*SPAN)

    assert [(t["entry_date"], t["entry_price"], t["exit_date"], t["exit_price"], t["k"]) for t in result["trades"]] == [
        ("2025-09-15", 160_988_500, "2025-09-16", 160_705_000, 0.5),
        ("2025-09-16", 161_850_500, "2025-09-17", 162_200_000, 0.5),
        ("2025-09-18", 162_863_000, "2025-09-19", 162_478_000, 0.5),
        ("2025-09-24", 161_021_000, "2025-09-25", 160_700_000, 0.5),
    ]
    assert result["trades"][3]["return"] == pytest.approx(0.99601245278013799 - 1, rel=1e-12)
    growth = (
        factor(160_988_500, 160_705_000)
        * factor(161_850_500, 162_200_000)
        * factor(162_863_000, 162_478_000)
        * factor(161_021_000, 160_700_000)
    )
    assert result["total_return"] == pytest.approx(growth - 1, rel=1e-12)  # -1.19 %, a fraction
    assert result["final_equity"] == pytest.approx(10_000_000 * growth, abs=0.005)
    assert (result["fee_bps"], result["slippage_bps"], result["tax_bps"]) == (
        5.0,
        5.0,
        0.0,
    )  # Upbit's fee, the order slippage
    assert result["number_of_trades"] == 4 and result["win_rate"] == 0.25
    assert result["exposure"] == pytest.approx(4 / 12)  # 4 of the 12 days whose exit falls in the span
    assert result["max_drawdown"] == pytest.approx(1 - growth)  # it only fell
    # 13 opens, 09-15 .. 09-27; buy-and-hold bought at 160,338,000 and valued at 158,129,000
    curve = result["equity_curve"]
    assert len(curve) == 13 and curve[0] == {"date": "2025-09-15", "equity": 10_000_000, "buy_and_hold": 10_000_000}
    assert result["buy_and_hold"]["total_return"] == pytest.approx(factor(160_338_000, 158_129_000) - 1, rel=1e-12)
    assert result["cagr"] == pytest.approx((1 + result["total_return"]) ** (365.25 / 12) - 1)
    assert result["sharpe"] is not None and result["sharpe"] < 0


def test_candles_before_the_start_warm_up_best_k_and_the_filter(upbit_daily):  # noqa: F811
    whole = backtest_json("--symbol", "BTC/KRW", "--exchange", "upbit", "--k", "auto", "--ma", "5")
    late = backtest_json(
        "--symbol", "BTC/KRW", "--exchange", "upbit", "--k", "auto", "--ma", "5", "--start", "2025-06-01"
    )

    assert late["first_day"] == "2025-06-01" and late["trades"][0]["entry_date"] >= "2025-06-01"
    # the same trades as the whole run from that day: K and the average saw the days before
    assert late["trades"] == [t for t in whole["trades"] if t["entry_date"] >= "2025-06-01"]
    assert whole["trades"][0]["entry_date"] >= "2024-10-21"  # day 25: the first complete 20-day window after MA5


@pytest.mark.skipif(
    not BITHUMB_FILE.exists(), reason=f"{BITHUMB_FILE} is absent (the recorded data set beside the repo)"
)
def test_command_on_bithumb_2013_2022_equals_a_plain_daily_loop_to_the_cent():
    call_command(
        "import_candles", "--format", "bithumb_daily_csv", str(BITHUMB_FILE), "--symbol", "BTC/KRW", verbosity=0
    )
    days = load_days(BITHUMB_FILE, "bithumb_daily_csv", symbol="BTC/KRW")[("bithumb", "BTC/KRW")]
    days = [d for d in days if d.date <= date(2022, 3, 3)]
    first = next(i for i, d in enumerate(days) if d.date >= date(2015, 1, 1))

    result = backtest_json(
        "--symbol",
        "BTC/KRW",
        "--exchange",
        "bithumb",
        "--start",
        "2015-01-01",
        "--end",
        "2022-03-03",
        "--k",
        "auto",
        "--lookback",
        "20",
        "--ma",
        "5",
        "--fee-bps",
        "25",
        "--slippage-bps",
        "5",
    )
    loop = plain_backtest(days, k=None, lookback=20, ma=5, fee_bps=25, slippage_bps=5, first=first, initial=10_000_000)

    trades = [(t["entry_date"], t["entry_price"], t["exit_date"], t["exit_price"], t["k"]) for t in result["trades"]]
    assert trades == [(a.isoformat(), entry, b.isoformat(), exit_, k) for a, entry, b, exit_, k, _ in loop["trades"]]
    assert len(trades) > 500
    equity = np.array([p["equity"] for p in result["equity_curve"]])
    assert np.abs(equity - np.array(loop["equity"])).max() < 0.005  # KRW
    assert result["total_return"] == pytest.approx(loop["equity"][-1] / 10_000_000 - 1, abs=1e-12)


def test_command_prints_a_readable_summary(upbit_daily):  # noqa: F811
    out = StringIO()
    call_command("backtest_breakout", *SPAN, stdout=out)

    text = out.getvalue()
    assert "upbit BTC/KRW 2025-09-15 .. 2025-09-27: k 0.5, no MA filter" in text
    assert "trades 4, win rate 25.00 %, exposure 33.33 %" in text
    assert "total return -1.19 %" in text and "buy-and-hold: total return -1.57 %" in text


BAD_ARGS = [
    (["--symbol", "DOGE/KRW", "--exchange", "bithumb"], "symbol: No instrument DOGE/KRW on bithumb"),
    (["--symbol", "BTC/KRW", "--exchange", "upbit", "--k", "1.5"], 'k: k must be "auto" or a number from 0 to 1'),
    (["--symbol", "BTC/KRW", "--exchange", "upbit", "--ma", "-1"], "ma: ma must be a whole number of days"),
    (
        ["--symbol", "BTC/KRW", "--exchange", "upbit", "--start", "2025-09-27", "--end", "2025-09-01"],
        "start: start must not be after end",
    ),
    (
        ["--symbol", "BTC/KRW", "--exchange", "upbit", "--start", "2026-01-01"],
        "start: No daily candles of upbit:BTC/KRW",
    ),
    (["--symbol", "BTC/KRW", "--exchange", "upbit", "--fee-bps", "abc"], "fee_bps: A number of basis points"),
    (["--symbol", "BTC/KRW", "--exchange", "upbit", "--start", "27.09.2025"], "is not a date"),
]


def test_command_refuses_bad_input_naming_the_field(upbit_daily):  # noqa: F811
    for args, message in BAD_ARGS:
        with pytest.raises(CommandError) as error:
            call_command("backtest_breakout", *args)
        assert message in str(error.value), args
    assert not Backtest.objects.exists()


def test_command_with_a_user_stores_the_backtest(upbit_daily, user):  # noqa: F811
    out = StringIO()
    call_command("backtest_breakout", *SPAN, "--user", user.username, stdout=out)

    backtest = Backtest.objects.get(user=user)
    assert f"stored as backtest #{backtest.pk}" in out.getvalue()
    assert backtest.number_of_trades == 4 and backtest.k == 0.5 and backtest.start == date(2025, 9, 15)


# --- the API and the chart page ---------------------------------------------------------------

BODY = {"exchange": "upbit", "symbol": "BTC/KRW", "start": "2025-09-15", "end": "2025-09-27", "k": "0.5", "ma": 0}


def test_post_runs_and_stores_a_backtest_like_the_command(auth_client, user, upbit_daily):  # noqa: F811
    response = auth_client.post(BACKTESTS, BODY, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["k"] == "0.5" and body["ma"] == 0 and body["lookback"] == 20 and body["number_of_trades"] == 4
    assert body["result"] == backtest_json(*SPAN)
    assert body["chart_url"] == f"/backtests/{body['id']}/chart/"
    stored = Backtest.objects.get(pk=body["id"])
    assert stored.user == user and stored.total_return == pytest.approx(body["result"]["total_return"])


def test_users_see_only_their_own_backtests(auth_client, user, api_client, upbit_daily):  # noqa: F811
    theirs = UserFactory()
    other_client = type(auth_client)()
    other_client.force_authenticate(theirs)
    their_id = other_client.post(BACKTESTS, {**BODY, "k": "auto"}, format="json").json()["id"]
    mine = auth_client.post(BACKTESTS, BODY, format="json").json()

    listed = auth_client.get(BACKTESTS).json()["results"]
    assert [b["id"] for b in listed] == [mine["id"]] and "result" not in listed[0]
    assert auth_client.get(f"{BACKTESTS}{mine['id']}/").json()["result"]["trades"] == mine["result"]["trades"]
    assert auth_client.get(f"{BACKTESTS}{their_id}/").status_code == 404
    assert api_client.get(BACKTESTS).status_code == 401
    assert api_client.post(BACKTESTS, BODY, format="json").status_code == 401


BAD_BODIES = [
    ({"exchange": "nasdaq"}, "exchange"),
    ({"symbol": "NOPE/KRW"}, "symbol"),
    ({"k": "big"}, "k"),
    ({"lookback": 0}, "lookback"),
    ({"ma": "five"}, "ma"),
    ({"start": "2025-10-01", "end": "2025-09-01"}, "start"),
    ({"fee_bps": "-1"}, "fee_bps"),
    ({"start": "2030-01-01", "end": None}, "start"),
]


def test_bad_backtest_input_is_400_naming_the_field_and_stores_nothing(auth_client, upbit_daily):  # noqa: F811
    for change, field in BAD_BODIES:
        response = auth_client.post(BACKTESTS, {**BODY, **change}, format="json")

        assert response.status_code == 400, (change, response.json())
        assert field in response.json()["error"]["fields"], (change, response.json())
    assert not Backtest.objects.exists()


def test_krx_backtest_charges_the_commission_and_the_sell_tax(auth_client):
    call_command(
        "import_candles",
        "--format",
        "krx_daily",
        str(Path(settings.MARKETS["DATA_DIR"]) / "krx_daily" / "krx_daily_ohlcv_top50.csv.gz"),
        verbosity=0,
    )

    body = auth_client.post(
        BACKTESTS, {"exchange": "krx", "symbol": "012450", "k": "auto", "ma": 5}, format="json"
    ).json()

    result = body["result"]
    assert (result["fee_bps"], result["tax_bps"]) == (1.5, 20.0)
    # the trading halt 2024-08-29 .. 09-26: no trade sells into it or buys right after it
    assert not any(t["entry_date"] in ("2024-08-28", "2024-09-27") for t in result["trades"])
    # sessions, not calendar days: Friday's trade exits at Monday's open
    assert any(
        date.fromisoformat(t["exit_date"]).weekday() == 0 and date.fromisoformat(t["entry_date"]).weekday() == 4
        for t in result["trades"]
    )


def test_chart_page_draws_equity_against_buy_and_hold_for_the_owner_only(client, user, upbit_daily):  # noqa: F811
    call_command("backtest_breakout", *SPAN, "--user", user.username, stdout=StringIO())
    backtest = Backtest.objects.get(user=user)
    url = f"/backtests/{backtest.pk}/chart/"

    assert client.get(url).status_code == 302  # to the login page
    client.force_login(user)
    page = client.get(url)

    assert page.status_code == 200
    html = page.content.decode()
    assert "vendor/lightweight-charts/lightweight-charts.standalone.production.js" in html
    assert 'id="bt-curve"' in html and "bots/backtest_chart.js" in html
    assert "161,021,000" in html and "-0.40 %" in html  # the 09-24 trade
    curve = json.loads(html.split('id="bt-curve" type="application/json">')[1].split("</script>")[0])
    assert curve["equity"][0] == {"time": "2025-09-15", "value": 10_000_000} and len(curve["buy_and_hold"]) == 13
    client.force_login(UserFactory())
    assert client.get(url).status_code == 404
