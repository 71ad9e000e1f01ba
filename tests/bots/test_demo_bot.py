"""A bot created in the demo follows the demo clock's day, so it decides within minutes."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from bots import services as bot_services
from bots.models import Bot, BotDecision
from markets import services
from markets.clock import demo_clock_from_settings, demo_clock_install
from markets.feed import store_batch
from markets.models import Instrument
from markets.sources.clock import DemoClock
from tests.accounts.factories import UserFactory
from tests.markets.conftest import UPBIT_DAILY_10
from tests.markets.test_demo_clock import FakeWall, clocked_source


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.mark.django_db
def test_a_default_demo_bot_on_a_board_coin_decides_within_five_demo_minutes():
    # given the demo: its clock at 2025-05-28 14:00 KST now (60x), the board replay on it and
    # the shipped daily history (the demo's load_demo_data), the wall clock in 2026
    call_command("import_candles", "--format", "upbit_csv", str(UPBIT_DAILY_10), "--interval", "1d", verbosity=0)
    conf = demo_clock_from_settings(wall_start=timezone.now())
    moment = datetime(2025, 5, 28, 5, 0, tzinfo=UTC)
    wall_start = timezone.now() - timedelta(seconds=(moment - conf.start).total_seconds() / conf.speed)
    clock = DemoClock(start=conf.start, end=conf.end, speed=conf.speed, wall_start=wall_start)
    demo_clock_install(clock=clock)
    wall = FakeWall(timezone.now())
    source = clocked_source("upbit_15m_4coins", clock, wall)
    services.instrument_upsert_many(infos=source.instruments())
    btc = Instrument.objects.get(exchange="upbit", symbol="BTC/KRW")
    user = UserFactory()
    bot = bot_services.bot_create(user=user, instrument_id=btc.pk)  # default settings

    # when the feed runs for 5 minutes of demo time (5 wall seconds at 60x), ticking the bots
    async def feed():
        batches = []
        async for batch in source.stream_tickers():
            batches.append(batch)
            if clock.now(wall()) - moment >= timedelta(minutes=5):
                return batches
        return batches

    for batch in asyncio.run(feed()):
        store_batch(batch=batch, source="replay")  # the tick handlers run the bots

    # then the bot has decided on the demo's day, stating its numbers
    decisions = list(BotDecision.objects.filter(bot=bot).order_by("time", "id"))
    assert decisions, "the bot did not decide"
    bot.refresh_from_db()
    assert bot.day == moment.date()  # 2025-05-28, the demo's day, not the wall clock's
    decided = [
        d for d in decisions if d.action in (BotDecision.Action.ENTER, BotDecision.Action.ARM, BotDecision.Action.SKIP)
    ]
    assert decided
    first = decided[0]
    assert "open" in first.reason and "k" in first.reason and "last" in first.reason
    assert first.target is not None and first.k is not None
    assert "unknown" not in first.reason
    assert bot.state in (Bot.State.ARMED, Bot.State.HOLDING, Bot.State.OUT)
