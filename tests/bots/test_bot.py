"""The breakout bot on real Upbit KRW-BTC days (day = 09:00 KST), driven through the ticker
feed's store step, which runs the tick handlers (limit orders, bot checks).

Ticks are real prices of the day being replayed: its open at the day boundary, then its high
(the price touched it some time that day). The clock (``django.utils.timezone.now``) is set to
that day, so the services, ``auto_now`` fields and the order price-freshness check agree.

    date        open         high         low          close
    2025-09-23  160,731,000  161,350,000  158,668,000  159,679,000
    2025-09-24  159,680,000  161,200,000  159,001,000  160,700,000
    2025-09-25  160,700,000  161,037,000  158,000,000  158,200,000

k 0.5, no filter: target of 09-24 = 159,680,000 + 0.5 x (161,350,000 - 158,668,000) = 161,021,000.
Fills as the paper account makes them: slippage 5 bps to the 1,000-won tick, fee 5 bps.
"""

from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from django.conf import settings
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from bots import breakout, tasks
from bots import selectors as bot_selectors
from bots import services as bot_services
from bots.models import Bot, BotDecision
from markets.feed import store_batch
from markets.importers import parse_upbit_csv
from markets.models import Instrument, Ticker
from markets.services import candles_import
from markets.sources.base import TickerSnapshot
from tests.accounts.factories import UserFactory
from tests.markets.conftest import UPBIT_DAILY_10
from trading.models import Fill, Order, Position, Wallet
from trading.selectors import ledger_mismatches

pytestmark = pytest.mark.django_db

SEOUL = ZoneInfo("Asia/Seoul")
BOTS = "/api/v1/bots/"


def kst(day: str, hhmmss: str = "09:00:05") -> datetime:
    return datetime.fromisoformat(f"{day}T{hhmmss}").replace(tzinfo=SEOUL)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # the user fixtures hash a password; PBKDF2's 1M rounds cost ~0.5 s a test and prove nothing here
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def clock(monkeypatch):
    """Django's clock, set by the test."""

    class Clock:
        now = timezone.now()

    monkeypatch.setattr(timezone, "now", lambda: Clock.now)
    return Clock


@cache
def _upbit_btc_daily():
    """The shipped Upbit KRW-BTC daily candles, parsed once by ``import_candles``' own parser."""
    parsed = parse_upbit_csv(UPBIT_DAILY_10, interval="1d")
    key = ("upbit", "BTC/KRW", "1d")
    return {key: parsed.groups[key]}, [parsed.instruments[key[:2]]]


@pytest.fixture
def btc(db):
    """Upbit BTC/KRW with its real daily candles 2024-09-26 .. 2025-09-27 stored (only this
    coin of the 10-coin file, as ``import_candles`` stores it: the same parser and service)."""
    groups, instruments = _upbit_btc_daily()
    candles_import(groups=groups, instruments=instruments)
    return Instrument.objects.get(exchange="upbit", symbol="BTC/KRW")


def btc_snapshot(when: datetime, price) -> TickerSnapshot:
    """A BTC/KRW ticker at ``when`` with only its last price."""
    return TickerSnapshot(
        exchange="upbit",
        symbol="BTC/KRW",
        last_price=Decimal(price),
        change=None,
        change_rate=None,
        volume_24h=None,
        traded_value_24h=None,
        time=when,
    )


def tick(clock, when: datetime, price) -> None:
    """A ticker update of BTC/KRW at ``when`` through the feed's store step (runs the bots)."""
    clock.now = when
    store_batch(batch=[btc_snapshot(when, price)], source="replay")


def actions(bot) -> list[str]:
    return list(BotDecision.objects.filter(bot=bot).order_by("time", "id").values_list("action", flat=True))


def make_bot(user, btc, **settings) -> Bot:
    return bot_services.bot_create(
        user=user, instrument_id=btc.pk, **{"k_mode": "fixed", "k": "0.5", "ma_window": 0, **settings}
    )


# --- day roll, entry, exit ------------------------------------------------------------------


def test_day_roll_arms_the_bot_with_the_backtesters_target(clock, user, btc):
    bot = make_bot(user, btc)

    tick(clock, kst("2025-09-24"), "159680000")  # the day's open, 5 s after the boundary

    bot.refresh_from_db()
    assert (bot.state, bot.day.isoformat(), bot.k_today, bot.target) == (
        "armed",
        "2025-09-24",
        Decimal("0.5"),
        Decimal("161021000"),
    )
    decision = bot.decisions.get()
    assert decision.action == "arm" and decision.target == Decimal("161021000") and decision.k == Decimal("0.5")
    assert decision.reason == "target = open 159680000 + k 0.5 x range 2682000 of 2025-09-23; last 159680000"


def test_bot_enters_once_per_day_however_many_ticks_reach_the_target(clock, user, btc):
    bot = make_bot(user, btc)
    tick(clock, kst("2025-09-24"), "159680000")
    tick(clock, kst("2025-09-24", "10:00:00"), "160500000")  # below the target: nothing

    for second in range(5):  # the day's high 161,200,000 >= 161,021,000, again and again
        tick(clock, kst("2025-09-24", f"11:00:0{second}"), "161200000")
    Bot.objects.filter(pk=bot.pk).update(state="armed")  # even a lost state does not buy twice:
    tick(clock, kst("2025-09-24", "11:00:09"), "161100000")  # the entry's client_order_id is taken

    order = Order.objects.get(user=user)
    assert order.client_order_id == f"bot{bot.pk}-2025-09-24-entry" and order.side == "buy" and order.type == "market"
    # 161,200,000 x 1.0005 -> 161,281,000 on the tick; (5,000,000 - 2) / (161,281,000 x 1.0005) -> 0.03098628
    assert (order.average_fill_price, order.filled_quantity) == (Decimal("161281000"), Decimal("0.03098628"))
    assert Fill.objects.filter(order__user=user).count() == 1
    assert Wallet.objects.get(user=user, currency="KRW").cash == Decimal("5000002")  # cost 4,997,499 + fee 2,499
    bot.refresh_from_db()
    assert (bot.state, bot.holding_quantity, bot.holding_day.isoformat()) == (
        "holding",
        Decimal("0.03098628"),
        "2025-09-24",
    )
    assert actions(bot) == ["arm", "enter", "enter"]  # the second: the re-check found the day's order again
    entry = bot.decisions.filter(action="enter").order_by("id").first()
    assert entry.order == order and entry.price == Decimal("161281000")
    assert entry.reason == "last 161200000 reached the target 161021000: bought 0.03098628 at 161281000"


def test_bot_sells_yesterdays_entry_at_the_next_days_open_and_arms_again(clock, user, btc):
    bot = make_bot(user, btc)
    tick(clock, kst("2025-09-24"), "159680000")
    tick(clock, kst("2025-09-24", "11:00:00"), "161200000")

    tick(clock, kst("2025-09-25", "09:00:03"), "160700000")  # the next day's open

    sell = Order.objects.get(user=user, side="sell")
    assert sell.client_order_id == f"bot{bot.pk}-2025-09-24-exit" and sell.type == "market"
    # 160,700,000 x 0.9995 -> 160,619,000 on the tick; proceeds 4,976,985, fee 2,489
    assert (sell.average_fill_price, sell.filled_quantity) == (Decimal("160619000"), Decimal("0.03098628"))
    assert Position.objects.get(user=user, instrument=btc).quantity == 0
    assert Wallet.objects.get(user=user, currency="KRW").cash == Decimal("9974498")
    bot.refresh_from_db()
    # 160,700,000 + 0.5 x (161,200,000 - 159,001,000)
    assert (bot.state, bot.day.isoformat(), bot.target, bot.holding_quantity) == (
        "armed",
        "2025-09-25",
        Decimal("161799500"),
        0,
    )
    assert actions(bot) == ["arm", "enter", "exit", "arm"]
    assert (
        bot.decisions.get(action="exit").reason == "sold the 0.03098628 bought on 2025-09-24 at the open of 2025-09-25"
    )
    assert ledger_mismatches() == []


def test_bot_trades_the_days_the_backtester_trades_with_the_same_k_and_target(clock, user, btc):
    """Best K over 20 days with the MA5 filter, 2025-09-05 .. 09-16, one day at a time: each
    day's open at the boundary, then its high. The bot's k, target and entries are the
    backtest's (which saw whole days: the bot only ever knows the past and today's open)."""
    bot = make_bot(user, btc, k_mode="auto", lookback=20, ma_window=5, fraction="0.3")
    bars = bot_selectors.daily_bars(instrument=btc)
    sig = breakout.signals(
        bars.open,
        bars.high,
        bars.low,
        bars.close,
        k=None,
        lookback=20,
        follows=bars.follows,
        ma_window=5,
        costs=bot_services.instrument_costs(btc),
    )
    days = [str(d) for d in bars.dates]

    entered = []
    for day in days[days.index("2025-09-05") : days.index("2025-09-16") + 1]:
        row = days.index(day)
        tick(clock, kst(day), repr(float(bars.open[row])))
        bot.refresh_from_db()
        assert bot.k_today == Decimal(repr(float(sig.k[row]))) and bot.target == Decimal(
            repr(float(sig.target[row]))
        ), day
        assert bot.state == ("armed" if sig.allowed[row] else "out"), day
        tick(clock, kst(day, "15:00:00"), repr(float(bars.high[row])))
        if Order.objects.filter(client_order_id=f"bot{bot.pk}-{day}-entry").exists():
            entered.append(day)

    assert entered == [days[row] for row in np.flatnonzero(sig.entered) if "2025-09-05" <= days[row] <= "2025-09-16"]
    assert entered == ["2025-09-08", "2025-09-10", "2025-09-15"]
    # each entry was sold at the next day's open (09-16 is inside the replayed span)
    sells = Order.objects.filter(user=user, side="sell").order_by("id").values_list("client_order_id", flat=True)
    assert list(sells) == [f"bot{bot.pk}-{day}-exit" for day in entered]
    assert ledger_mismatches() == []


UPBIT_15M = (
    Path(settings.MARKETS["SHARED_DATA_DIR"])
    / "coins_intraday"
    / "upbit_KRW_15min_ADA_BTC_DOGE_ETH_XRP_2023-12-29_2025-09-29.csv.gz"
)


@pytest.mark.skipif(not UPBIT_15M.exists(), reason=f"{UPBIT_15M} is absent (the recorded data set beside the repo)")
def test_a_real_day_of_15_minute_prices_makes_one_entry_and_one_exit(clock, user, btc):
    """Replay KRW-BTC 2025-09-24 09:00 .. 09-25 09:15 KST, each recorded 15-minute candle as two
    ticks, its open and its high: 196 ticks, ten of them at or above the target."""
    bars = pd.read_csv(UPBIT_15M, dtype=str)
    bars = bars[
        (bars.market == "KRW-BTC")
        & (bars.candle_open_kst >= "2025-09-24 09:00:00")
        & (bars.candle_open_kst <= "2025-09-25 09:15:00")
    ]
    bot = make_bot(user, btc)

    crossing = None
    for _, bar in bars.iterrows():
        opened = datetime.fromisoformat(bar.candle_open_kst).replace(tzinfo=SEOUL)
        for minute, price in ((0, bar.open), (7, bar.high)):
            tick(clock, opened + timedelta(minutes=minute, seconds=5), price)
            if crossing is None and Decimal(price) >= Decimal("161021000") and opened.day == 24:
                crossing = (bar.candle_open_kst, Decimal(price))

    above = sum(Decimal(price) >= Decimal("161021000") for price in bars.high)
    assert len(bars) == 98 and crossing is not None and above == 10
    buy, sell = Order.objects.filter(user=user).order_by("id")
    assert (
        buy.client_order_id == f"bot{bot.pk}-2025-09-24-entry"
        and sell.client_order_id == f"bot{bot.pk}-2025-09-24-exit"
    )
    entry = bot.decisions.get(action="enter")
    assert entry.time == datetime.fromisoformat(crossing[0]).replace(tzinfo=SEOUL) + timedelta(minutes=7, seconds=5)
    assert entry.reason.startswith(f"last {crossing[1].normalize():f} reached the target 161021000")
    exit_ = bot.decisions.get(action="exit")
    assert exit_.time == kst("2025-09-25") and sell.average_fill_price == Decimal(
        "160619000"
    )  # the open 160,700,000 - 5 bps
    assert actions(bot) == ["arm", "enter", "exit", "arm"]
    assert ledger_mismatches() == []


# --- waiting, rejections, filter, disabling -------------------------------------------------------


def test_bot_without_a_fresh_price_waits_and_logs_why_once(clock, user, btc):
    bot = make_bot(user, btc)
    clock.now = kst("2025-09-24")

    for _ in range(3):  # the beat's checks: today's candle gives the open, but there is no price
        bot_services.bot_check(bot_id=bot.pk)
    Ticker.objects.create(instrument=btc, last_price=Decimal("161200000"), time=clock.now, source="replay")
    Ticker.objects.filter(instrument=btc).update(updated_at=clock.now - timedelta(seconds=61))  # stale
    bot_services.bot_check(bot_id=bot.pk)

    bot.refresh_from_db()
    assert actions(bot) == ["arm", "wait"] and bot.state == "armed"
    assert bot.decisions.get(action="wait").reason == "no fresh price: the feed has not updated it recently"
    assert not Order.objects.exists()

    tick(clock, kst("2025-09-24", "09:10:00"), "161200000")  # the feed is back
    assert actions(bot) == ["arm", "wait", "enter"]


def test_exit_without_a_price_waits_for_the_next_tick(clock, user, btc):
    bot = make_bot(user, btc)
    tick(clock, kst("2025-09-24"), "159680000")
    tick(clock, kst("2025-09-24", "11:00:00"), "161200000")

    clock.now = kst("2025-09-25", "09:00:30")
    bot_services.bots_check_all()  # the beat at the boundary: the last price is from yesterday
    bot_services.bots_check_all()

    bot.refresh_from_db()
    assert bot.state == "waiting" and bot.holding_quantity == Decimal("0.03098628")
    assert actions(bot) == ["arm", "enter", "wait"]
    assert "selling the 0.03098628 bought on 2025-09-24 waits: No fresh price" in bot.state_reason

    tick(clock, kst("2025-09-25", "09:01:00"), "160700000")
    assert actions(bot) == ["arm", "enter", "wait", "exit", "arm"]
    assert Position.objects.get(user=user, instrument=btc).quantity == 0


def test_rejected_entry_is_logged_and_not_retried(clock, user, btc):
    bot = make_bot(user, btc, fraction="0.0001")  # 1,000 KRW: below Upbit's 5,000-won minimum order
    tick(clock, kst("2025-09-24"), "159680000")

    for second in range(4):
        tick(clock, kst("2025-09-24", f"11:00:0{second}"), "161200000")

    bot.refresh_from_db()
    assert bot.state == "out" and actions(bot) == ["arm", "reject"]
    assert "is below the minimum" in bot.decisions.get(action="reject").reason
    assert not Order.objects.exists() and Wallet.objects.get(user=user, currency="KRW").cash == Decimal("10000000")


def test_moving_average_filter_sits_the_day_out(clock, user, btc):
    bot = make_bot(user, btc, ma_window=5)

    tick(clock, kst("2025-09-24"), "159680000")
    tick(clock, kst("2025-09-24", "11:00:00"), "161200000")

    bot.refresh_from_db()
    assert bot.state == "out" and bot.ma_today == Decimal("161239000") and actions(bot) == ["skip"]
    assert bot.decisions.get().reason == (
        "open 159680000 is not above the 5-day average close 161239000 (target 161021000, k 0.5); last 159680000"
    )
    assert not Order.objects.exists()


def test_disabled_bot_makes_no_entry_but_still_sells_what_it_holds(clock, user, btc):
    bot = make_bot(user, btc)
    tick(clock, kst("2025-09-24"), "159680000")
    tick(clock, kst("2025-09-24", "11:00:00"), "161200000")
    bot_services.bot_update(bot=bot, enabled=False)

    tick(clock, kst("2025-09-25"), "160700000")
    tick(clock, kst("2025-09-25", "11:00:00"), "161900000")  # above 09-25's target: no entry

    bot.refresh_from_db()
    assert (bot.state, bot.state_reason) == ("out", "disabled")
    assert list(Order.objects.order_by("id").values_list("side", flat=True)) == ["buy", "sell"]


def test_late_start_without_todays_candle_sits_the_day_out(clock, user, btc):
    """After the grace period the last price is no longer the day's open: the bot waits for
    the next day instead of inventing a target (here 2025-09-28, a day without a stored candle)."""
    bot = make_bot(user, btc)

    tick(clock, kst("2025-09-28", "15:00:00"), "157000000")

    bot.refresh_from_db()
    assert bot.state == "out" and actions(bot) == ["skip"]
    assert bot.state_reason.startswith(
        "today's open is unknown: no candle of 2025-09-28 is stored and the day began 360 min ago"
    )


def test_missing_candle_of_yesterday_makes_the_bot_wait(clock, user, btc):
    bot = make_bot(user, btc)

    tick(clock, kst("2025-09-29", "09:00:02"), "157000000")  # 09-28 was never stored

    bot.refresh_from_db()
    assert bot.state == "waiting" and bot.day_open == Decimal("157000000")  # the open, heard at the boundary
    assert bot.state_reason == "no daily candle of 2025-09-28 is stored yet"


# --- days and the schedule ------------------------------------------------------------------


@pytest.mark.parametrize(
    "exchange, market, when, day, starts",
    [
        ("upbit", "crypto", "2025-09-24T08:59:59", "2025-09-23", "2025-09-23T09:00:00"),  # Upbit: 00:00 UTC
        ("upbit", "crypto", "2025-09-24T09:00:00", "2025-09-24", "2025-09-24T09:00:00"),
        ("bithumb", "crypto", "2025-09-24T00:00:00", "2025-09-24", "2025-09-24T00:00:00"),  # Bithumb: 00:00 KST
        ("krx", "krx", "2025-06-17T08:59:00", "2025-06-16", "2025-06-16T09:00:00"),  # before the open: still Monday
        ("krx", "krx", "2025-06-17T09:00:00", "2025-06-17", "2025-06-17T09:00:00"),
        ("krx", "krx", "2025-06-15T12:00:00", "2025-06-13", "2025-06-13T09:00:00"),  # Sunday: Friday's session
        (
            "krx",
            "krx",
            "2025-01-02T09:30:00",
            "2024-12-30",
            "2024-12-30T09:00:00",
        ),  # the year's first session opens 10:00
    ],
)
def test_strategy_day_follows_each_markets_boundary(exchange, market, when, day, starts):
    instrument = Instrument(exchange=exchange, market=market, symbol="X")

    found = bot_services.strategy_day(instrument, datetime.fromisoformat(when).replace(tzinfo=SEOUL))

    assert found.day.isoformat() == day and found.start == datetime.fromisoformat(starts).replace(tzinfo=SEOUL)


def test_beat_runs_the_bot_checks(clock, user, btc):
    assert PeriodicTask.objects.get(task="bots.tasks.bots_check").interval.every == 15
    bot = make_bot(user, btc)
    clock.now = kst("2025-09-24")
    Ticker.objects.create(instrument=btc, last_price=Decimal("159680000"), time=clock.now, source="replay")

    assert tasks.bots_check() == 1

    assert Bot.objects.get(pk=bot.pk).state == "armed"


# --- API and admin ------------------------------------------------------------------------


def test_bot_api_creates_lists_updates_and_deletes_the_users_bots(auth_client, user, btc):
    created = auth_client.post(
        BOTS,
        {"instrument": btc.pk, "k_mode": "auto", "lookback": 10, "ma_window": 0, "fraction": "0.25"},
        format="json",
    )

    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["symbol"], body["k_mode"], body["lookback"], body["fraction"], body["state"]) == (
        "BTC/KRW",
        "auto",
        10,
        "0.25",
        "waiting",
    )
    assert [b["id"] for b in auth_client.get(BOTS).json()["results"]] == [body["id"]]

    patched = auth_client.patch(
        f"{BOTS}{body['id']}/", {"k_mode": "fixed", "k": "0.4", "enabled": False}, format="json"
    )
    assert patched.status_code == 200 and (patched.json()["k"], patched.json()["enabled"]) == ("0.4", False)
    moved = auth_client.patch(f"{BOTS}{body['id']}/", {"instrument": btc.pk + 1}, format="json")
    assert moved.status_code == 400 and "instrument" in moved.json()["error"]["fields"]

    assert auth_client.delete(f"{BOTS}{body['id']}/").status_code == 204
    assert not Bot.objects.exists()


def test_decisions_are_listed_newest_first(auth_client, user, btc, clock):
    bot = make_bot(user, btc)
    tick(clock, kst("2025-09-24"), "159680000")
    tick(clock, kst("2025-09-24", "11:00:00"), "161200000")

    rows = auth_client.get(f"{BOTS}{bot.pk}/decisions/").json()["results"]

    assert [(r["action"], r["price"], r["target"], r["k"]) for r in rows] == [
        ("enter", "161281000", "161021000", "0.5"),
        ("arm", "159680000", "161021000", "0.5"),
    ]
    assert rows[0]["order"] == Order.objects.get().pk and rows[0]["time"] == "2025-09-24T02:00:00Z"


def test_users_see_only_their_own_bots(auth_client, api_client, user, btc):
    theirs = make_bot(UserFactory(), btc)

    assert auth_client.get(BOTS).json()["count"] == 0
    for request in (auth_client.get, auth_client.delete):
        assert request(f"{BOTS}{theirs.pk}/").status_code == 404
    assert auth_client.patch(f"{BOTS}{theirs.pk}/", {"k": "0.3"}, format="json").status_code == 404
    theirs.refresh_from_db()
    assert theirs.k != Decimal("0.3")  # unchanged, and not deleted either
    assert auth_client.get(f"{BOTS}{theirs.pk}/decisions/").status_code == 404
    assert api_client.get(BOTS).status_code == 401
    assert Bot.objects.get(pk=theirs.pk).k == Decimal("0.5")


@pytest.mark.parametrize(
    "change, field",
    [
        ({"instrument": 999999}, "instrument"),
        ({"k_mode": "magic"}, "k_mode"),
        ({"k": "1.5"}, "k"),
        ({"fraction": "0"}, "fraction"),
        ({"fraction": "1.5"}, "fraction"),
        ({"lookback": 0}, "lookback"),
        ({"ma_window": -1}, "ma_window"),
        ({"exit_after_sessions": 0}, "exit_after_sessions"),
        ({"exit_after_sessions": 61}, "exit_after_sessions"),
    ],
)
def test_bad_bot_input_is_400_naming_the_field_and_creates_nothing(auth_client, btc, change, field):
    response = auth_client.post(BOTS, {"instrument": btc.pk, **change}, format="json")

    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"]
    assert not Bot.objects.exists()


def test_a_second_bot_on_the_same_instrument_is_refused(auth_client, user, btc):
    make_bot(user, btc)

    response = auth_client.post(BOTS, {"instrument": btc.pk}, format="json")

    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_bot"
    assert Bot.objects.count() == 1


def test_admin_lists_bots_decisions_and_backtests_and_checks_a_bot(client, user, btc, clock):
    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    bot = make_bot(user, btc)
    clock.now = kst("2025-09-24")
    Ticker.objects.create(instrument=btc, last_price=Decimal("159680000"), time=clock.now, source="replay")

    for url in (
        "/admin/bots/bot/",
        "/admin/bots/botdecision/",
        "/admin/bots/backtest/",
        f"/admin/bots/bot/{bot.pk}/change/",
    ):
        assert client.get(url).status_code == 200, url
    response = client.post("/admin/bots/bot/", {"action": "check_bots", "_selected_action": [bot.pk]})

    assert response.status_code == 302
    assert Bot.objects.get(pk=bot.pk).state == "armed"


def test_a_bot_with_an_exit_after_sessions_holds_its_entry_until_the_lots_exit(clock, user, btc):
    from trading import services as trading_services
    from trading.models import Lot

    bot = make_bot(user, btc, exit_after_sessions=2)
    tick(clock, kst("2025-09-24"), "159680000")
    tick(clock, kst("2025-09-24", "11:00:00"), "161200000")  # enters (see above)
    lot = Lot.objects.get(user=user)
    # Upbit's day starts 09:00 KST: the second day boundary after 09-24 11:00 is 09-26 09:00
    assert (lot.exit_after_sessions, lot.exit_due_at) == (2, kst("2025-09-26", "09:00:00"))
    assert "sold at its session close 2" in bot.decisions.get(action="enter").reason

    tick(clock, kst("2025-09-25", "09:00:03"), "160700000")  # the next open: the bot does not sell
    assert not Order.objects.filter(user=user, side="sell").exists()
    bot.refresh_from_db()
    assert bot.holding_quantity == 0 and "exit" not in actions(bot)

    tick(clock, kst("2025-09-26", "09:00:01"), "160000000")
    assert trading_services.lots_exit_due(now=kst("2025-09-26", "09:00:02")) == 1
    sell = Order.objects.get(user=user, side="sell")
    assert sell.client_order_id == f"exit-lot-{lot.pk}" and sell.filled_quantity == lot.quantity
    lot.refresh_from_db()
    assert (lot.remaining, lot.exit_state) == (0, "done")
    # what is left is the 09-26 entry's own lot, with its own exit
    position = Position.objects.get(user=user, instrument=btc)
    assert position.quantity == sum(x.remaining for x in Lot.objects.filter(user=user))
    assert ledger_mismatches() == []
