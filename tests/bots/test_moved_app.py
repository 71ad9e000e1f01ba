"""The bots' models moved from ``trading`` to ``bots`` without loss: a database created at the
last migration before the move (``trading`` 0005) keeps its bots, decisions and backtests, and
their content types move with them, when migrated to today's head."""

from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [
    ("trading", "0005_refresh_candles_beat"),
    ("markets", "0003_tick_store"),
    ("contenttypes", "0002_remove_content_type_name"),
]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_a_database_from_before_the_move_keeps_its_bots_and_content_types():
    executor = MigrationExecutor(connection)
    head = executor.loader.graph.leaf_nodes()
    old = migrate(BEFORE)
    User = old.get_model("accounts", "User")
    Instrument = old.get_model("markets", "Instrument")
    Bot = old.get_model("trading", "Bot")
    BotDecision = old.get_model("trading", "BotDecision")
    ContentType = old.get_model("contenttypes", "ContentType")
    user = User.objects.create(username="before-the-move")
    instrument = Instrument.objects.create(exchange="upbit", symbol="BTC/KRW", base="BTC", quote="KRW", market="crypto")
    bot = Bot.objects.create(user=user, instrument=instrument, k=Decimal("0.4"), fraction=Decimal("0.5"))
    BotDecision.objects.create(
        bot=bot, time="2025-06-17T01:00:00Z", day="2025-06-17", action="arm", reason="target set"
    )
    bot_type = ContentType.objects.get_or_create(app_label="trading", model="bot")[0]

    new = migrate(head)

    moved = new.get_model("bots", "Bot").objects.get()
    assert (moved.pk, moved.user_id, moved.k) == (bot.pk, user.pk, Decimal("0.4000"))
    assert new.get_model("bots", "BotDecision").objects.get().bot_id == bot.pk
    types = new.get_model("contenttypes", "ContentType").objects
    assert types.get(pk=bot_type.pk).app_label == "bots"
    assert not types.filter(app_label="trading", model="bot").exists()
