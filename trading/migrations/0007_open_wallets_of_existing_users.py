"""Wallets are opened when a user is created (``ACCOUNTS["ON_USER_CREATED"]``), no longer by the
first GET of the account or portfolio (GETs change nothing). Users created before that get their
wallets and starting cash here, as ``trading.services.account_open`` would have given them."""

from decimal import Decimal

from django.conf import settings
from django.db import migrations


def open_wallets(apps, schema_editor):
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    Wallet = apps.get_model("trading", "Wallet")
    CashEntry = apps.get_model("trading", "CashEntry")
    for currency, amount in settings.TRADING["STARTING_CASH"].items():
        amount = Decimal(amount)
        missing = User.objects.exclude(wallets__currency=currency).order_by("pk")
        for user in missing.iterator():
            wallet = Wallet.objects.create(user=user, currency=currency, cash=amount if amount > 0 else 0)
            if amount > 0:
                CashEntry.objects.create(
                    wallet=wallet, kind="deposit", amount=amount, balance_after=amount, reference="starting cash"
                )


class Migration(migrations.Migration):
    dependencies = [
        ("trading", "0006_bots_move_to_their_app"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.RunPython(open_wallets, migrations.RunPython.noop)]
