"""Wallets open when a user is created, not on a GET: GETs change nothing."""

import importlib
import io
from decimal import Decimal

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command

from accounts.models import User
from accounts.services import user_create
from tests.accounts.factories import UserFactory
from trading.models import CashEntry, Wallet

open_wallets = importlib.import_module("trading.migrations.0007_open_wallets_of_existing_users").open_wallets


def test_registration_opens_the_wallets_with_the_starting_cash(db, settings):
    user = user_create(username="newcomer", email="newcomer@example.com", password="a-long-passphrase-9")

    wallets = {w.currency: w.cash for w in Wallet.objects.filter(user=user)}
    assert wallets == {c: Decimal(a) for c, a in settings.TRADING["STARTING_CASH"].items()}
    assert CashEntry.objects.filter(wallet__user=user, kind="deposit").count() == len(wallets)


def test_a_failing_hook_creates_no_user(db, settings):
    settings.ACCOUNTS = {"ON_USER_CREATED": ["tests.trading.test_wallet_opening.failing_hook"]}
    with pytest.raises(RuntimeError):
        user_create(username="unlucky", email="unlucky@example.com", password="a-long-passphrase-9")
    assert not User.objects.filter(username="unlucky").exists()


def failing_hook(*, user):
    raise RuntimeError("hook failed")


@pytest.mark.parametrize("url", ["/api/v1/account/", "/api/v1/portfolio/", "/api/v1/portfolio/history/"])
def test_gets_of_a_user_without_wallets_write_nothing(auth_client, user, url):
    response = auth_client.get(url)

    assert response.status_code == 200
    assert not Wallet.objects.filter(user=user).exists() and not CashEntry.objects.exists()


def test_the_data_migration_opens_wallets_only_for_users_without_them(db, settings):
    newcomer = user_create(username="has-wallets", email="has@example.com", password="a-long-passphrase-9")
    older = UserFactory()  # made before wallets opened at creation
    before = {w.pk: w.cash for w in Wallet.objects.filter(user=newcomer)}

    open_wallets(django_apps, None)

    assert {w.pk: w.cash for w in Wallet.objects.filter(user=newcomer)} == before
    opened = {w.currency: w.cash for w in Wallet.objects.filter(user=older)}
    assert opened == {c: Decimal(a) for c, a in settings.TRADING["STARTING_CASH"].items()}
    for wallet in Wallet.objects.filter(user=older):  # the ledger reconciles: cash = sum of entries
        assert sum(e.amount for e in CashEntry.objects.filter(wallet=wallet)) == wallet.cash


def test_create_demo_users_opens_their_wallets(db, settings):
    call_command("create_demo_users", stdout=io.StringIO())
    assert Wallet.objects.filter(user__username="demo").count() == len(settings.TRADING["STARTING_CASH"])
