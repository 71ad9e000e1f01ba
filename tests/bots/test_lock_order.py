"""The lock order (``trading.locks``, ``bots.locks``): bot, wallet, positions, orders — each lock
on its own row only. PostgreSQL only: SQLite has no row locks and emits no ``FOR UPDATE``.

Before: ``Bot.objects.select_for_update().select_related("instrument", "user")`` locked the
instrument and user rows with the bot, and a resting-order fill locked them after the wallet, so
a bot check (instrument, user, then wallet) and a fill (wallet, then instrument, user) of the same
user could wait on each other until PostgreSQL's deadlock detector killed one.

Prices are real: Upbit KRW-BTC 2025-09-24, open 159,680,000, high 161,200,000 (see test_bot.py).
"""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bots import services as bot_services
from bots.models import Bot
from markets import services as market_services
from tests.accounts.factories import UserFactory
from tests.bots.test_bot import btc, btc_snapshot, clock, kst, make_bot, tick  # noqa: F401  (btc, clock are fixtures)
from tests.helpers import run_at_once
from trading import services
from trading.models import Order
from trading.selectors import ledger_mismatches

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL (set DATABASE_URL)"),
]

# the written order; a transaction's locks never go back down this list
RANK = {Bot._meta.db_table: 0, "trading_wallet": 1, "trading_position": 2, "trading_order": 3}
LOCK = re.compile(r"FOR (NO KEY )?UPDATE(?: OF (?P<of>.+?))?(?: NOWAIT| SKIP LOCKED)?$")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _price_without_handlers(clock, when, price) -> None:
    """Store a BTC/KRW ticker without running the tick handlers, so the test decides when the
    bot check and the limit-order match run."""
    clock.now = when
    market_services.ticker_upsert_many(snapshots=[btc_snapshot(when, price)], source="replay", keep_newer=False)


def _armed_bot_and_resting_sell(clock, btc, users: int) -> list[tuple[Bot, Order]]:
    """``users`` users, each with an armed bot on BTC (target 161,021,000) and a resting limit sell
    of 0.01 BTC at 161,000,000 bought at the open; the last price then moves to 161,200,000,
    which both the bot's target and every limit cross."""
    made = []
    people = [UserFactory() for _ in range(users)]
    for user in people:
        services.account_open(user=user)
        make_bot(user, btc)
    tick(clock, kst("2025-09-24"), "159680000")  # the day's open: every bot arms
    for user in people:
        services.order_place(user=user, instrument_id=btc.pk, side="buy", type="market", quantity="0.01")
        order, _ = services.order_place(
            user=user, instrument_id=btc.pk, side="sell", type="limit", quantity="0.01", limit_price="161000000"
        )
        made.append((Bot.objects.get(user=user), order))
    assert {bot.state for bot, _ in made} == {"armed"}
    assert {order.status for _, order in made} == {"new"}  # resting, nothing filled
    _price_without_handlers(clock, kst("2025-09-24", "11:00:00"), "161200000")
    return made


def _locks(queries) -> list[list[str]]:
    """The tables each row-lock statement locks, in statement order."""
    found = []
    for query in queries:
        sql = query["sql"].strip()
        match = LOCK.search(sql)
        if match:
            found.append([t.strip().strip('"') for t in (match.group("of") or "<every joined table>").split(",")])
    return found


def test_a_bot_entry_and_a_fill_lock_only_their_own_rows_in_the_written_order(clock, btc):
    [(bot, order)] = _armed_bot_and_resting_sell(clock, btc, users=1)

    with CaptureQueriesContext(connection) as check:
        bot_services.bot_check(bot_id=bot.pk)
    with CaptureQueriesContext(connection) as fill:
        assert services.limit_orders_match(instrument_ids=[btc.pk]) == 1

    bot.refresh_from_db()
    assert bot.state == "holding"
    for captured, expected in ((check, [Bot._meta.db_table, "trading_wallet"]), (fill, ["trading_wallet"])):
        locks = _locks(captured.captured_queries)
        assert all(len(tables) == 1 and tables[0] in RANK for tables in locks), locks
        ranks = [RANK[tables[0]] for tables in locks]
        assert ranks == sorted(ranks), locks  # never back down the order
        assert [tables[0] for tables in locks][: len(expected)] == expected, locks
    assert all(
        "FOR NO KEY UPDATE" in q["sql"]
        for q in check.captured_queries + fill.captured_queries
        if "UPDATE OF" in q["sql"]
    )


def test_bot_checks_and_a_resting_order_fill_of_the_same_users_at_once_all_finish(clock, btc):
    made = _armed_bot_and_resting_sell(clock, btc, users=8)

    def within_a_second(call):
        # a lock held longer than 1 s (a cycle waits for PostgreSQL's 1 s deadlock detector) fails the call
        def run():
            with connection.cursor() as cursor:
                cursor.execute("SET lock_timeout = '1s'")
            return call()

        return run

    calls = [within_a_second(lambda bot=bot: bot_services.bot_check(bot_id=bot.pk)) for bot, _ in made]
    calls.append(within_a_second(lambda: services.limit_orders_match(instrument_ids=[btc.pk])))
    results = run_at_once(*calls)

    errors = [r for r in results if isinstance(r, Exception)]
    assert errors == []
    assert results[-1] == len(made)  # every resting sell filled
    for bot, order in made:
        bot.refresh_from_db()
        order.refresh_from_db()
        assert (bot.state, order.status) == ("holding", "filled")
        assert Order.objects.filter(
            user=bot.user, client_order_id=f"bot{bot.pk}-2025-09-24-entry", status="filled"
        ).exists()
    assert ledger_mismatches() == []
