"""The breakout bot's models, moved here from ``trading`` with their tables and rows.

State only (``SeparateDatabaseAndState``): the tables were created by ``trading`` 0003 and
keep their names (``db_table``). The content types (and so the admin permissions and log
entries) move from ``trading`` to ``bots`` first, so none is orphaned or created twice.
"""

import django.db.models.deletion
from decimal import Decimal
from django.conf import settings
from django.db import migrations, models


MOVED = ("bot", "botdecision", "backtest")


def move_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MOVED:
        if not ContentType.objects.filter(app_label="bots", model=model).exists():
            ContentType.objects.filter(app_label="trading", model=model).update(app_label="bots")


def move_content_types_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MOVED:
        if not ContentType.objects.filter(app_label="trading", model=model).exists():
            ContentType.objects.filter(app_label="bots", model=model).update(app_label="trading")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("markets", "0003_tick_store"),
        ("trading", "0006_bots_move_to_their_app"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(move_content_types, move_content_types_back),
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="Bot",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("name", models.CharField(blank=True, max_length=100)),
                        (
                            "k_mode",
                            models.CharField(
                                choices=[("fixed", "Fixed k"), ("auto", "Best K, walk-forward")],
                                default="fixed",
                                max_length=5,
                            ),
                        ),
                        (
                            "k",
                            models.DecimalField(
                                decimal_places=4, default=Decimal("0.5"), help_text="k of a fixed-k bot", max_digits=6
                            ),
                        ),
                        (
                            "lookback",
                            models.PositiveSmallIntegerField(default=20, help_text="days the best K is fitted on"),
                        ),
                        (
                            "ma_window",
                            models.PositiveSmallIntegerField(
                                default=5, help_text="enter only above the N-day moving average of closes; 0 = off"
                            ),
                        ),
                        (
                            "fraction",
                            models.DecimalField(
                                decimal_places=4,
                                default=Decimal("0.5"),
                                help_text="fraction of the available cash spent per entry",
                                max_digits=6,
                            ),
                        ),
                        (
                            "enabled",
                            models.BooleanField(
                                default=True,
                                help_text="a disabled bot makes no new entries but still sells what it holds",
                            ),
                        ),
                        (
                            "state",
                            models.CharField(
                                choices=[
                                    ("waiting", "Waiting for data"),
                                    ("armed", "Watching for the target"),
                                    ("holding", "Entered today"),
                                    ("out", "Out for the day"),
                                ],
                                default="waiting",
                                max_length=10,
                            ),
                        ),
                        ("state_reason", models.CharField(blank=True, max_length=300)),
                        ("day", models.DateField(blank=True, help_text="strategy day the state describes", null=True)),
                        ("day_open", models.DecimalField(blank=True, decimal_places=12, max_digits=30, null=True)),
                        ("k_today", models.DecimalField(blank=True, decimal_places=4, max_digits=6, null=True)),
                        ("ma_today", models.DecimalField(blank=True, decimal_places=12, max_digits=30, null=True)),
                        ("target", models.DecimalField(blank=True, decimal_places=12, max_digits=30, null=True)),
                        ("holding_quantity", models.DecimalField(decimal_places=12, default=0, max_digits=36)),
                        ("holding_day", models.DateField(blank=True, null=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        (
                            "instrument",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="bots",
                                to="markets.instrument",
                            ),
                        ),
                        (
                            "user",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="bots",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "trading_bot",
                        "ordering": ["-created_at", "-id"],
                    },
                ),
                migrations.CreateModel(
                    name="BotDecision",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("time", models.DateTimeField(db_index=True)),
                        ("day", models.DateField(help_text="strategy day")),
                        (
                            "action",
                            models.CharField(
                                choices=[
                                    ("arm", "Target set"),
                                    ("enter", "Bought"),
                                    ("exit", "Sold at the open"),
                                    ("skip", "No trade today"),
                                    ("wait", "Waiting"),
                                    ("reject", "Order rejected"),
                                ],
                                max_length=10,
                            ),
                        ),
                        (
                            "price",
                            models.DecimalField(
                                blank=True,
                                decimal_places=12,
                                help_text="last price, or the fill price of an order",
                                max_digits=30,
                                null=True,
                            ),
                        ),
                        ("target", models.DecimalField(blank=True, decimal_places=12, max_digits=30, null=True)),
                        ("k", models.DecimalField(blank=True, decimal_places=4, max_digits=6, null=True)),
                        ("reason", models.CharField(max_length=300)),
                        (
                            "bot",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE, related_name="decisions", to="bots.bot"
                            ),
                        ),
                        (
                            "order",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="bot_decisions",
                                to="trading.order",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "trading_botdecision",
                        "ordering": ["-time", "-id"],
                    },
                ),
                migrations.CreateModel(
                    name="Backtest",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("start", models.DateField()),
                        ("end", models.DateField()),
                        (
                            "k",
                            models.DecimalField(
                                blank=True,
                                decimal_places=4,
                                help_text="null = best K walk-forward",
                                max_digits=6,
                                null=True,
                            ),
                        ),
                        ("lookback", models.PositiveSmallIntegerField()),
                        ("ma_window", models.PositiveSmallIntegerField()),
                        ("fee_bps", models.DecimalField(decimal_places=2, max_digits=8)),
                        ("slippage_bps", models.DecimalField(decimal_places=2, max_digits=8)),
                        ("tax_bps", models.DecimalField(decimal_places=2, default=0, max_digits=8)),
                        ("initial_equity", models.DecimalField(decimal_places=8, max_digits=30)),
                        ("total_return", models.FloatField()),
                        ("cagr", models.FloatField(null=True)),
                        ("max_drawdown", models.FloatField()),
                        ("win_rate", models.FloatField(null=True)),
                        ("number_of_trades", models.PositiveIntegerField()),
                        ("exposure", models.FloatField()),
                        ("sharpe", models.FloatField(null=True)),
                        ("buy_and_hold_return", models.FloatField()),
                        ("result", models.JSONField()),
                        ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                        (
                            "instrument",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="backtests",
                                to="markets.instrument",
                            ),
                        ),
                        (
                            "user",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="backtests",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "trading_backtest",
                        "ordering": ["-created_at", "-id"],
                        "constraints": [
                            models.CheckConstraint(
                                condition=models.Q(("start__lte", models.F("end"))), name="backtest_start_lte_end"
                            )
                        ],
                    },
                ),
                migrations.AddIndex(
                    model_name="bot",
                    index=models.Index(fields=["instrument", "enabled"], name="trading_bot_instrum_55c2d8_idx"),
                ),
                migrations.AddConstraint(
                    model_name="bot",
                    constraint=models.UniqueConstraint(fields=("user", "instrument"), name="bot_user_instrument_uniq"),
                ),
                migrations.AddConstraint(
                    model_name="bot",
                    constraint=models.CheckConstraint(
                        condition=models.Q(("fraction__gt", 0), ("fraction__lte", 1)), name="bot_fraction_in_0_1"
                    ),
                ),
                migrations.AddConstraint(
                    model_name="bot",
                    constraint=models.CheckConstraint(
                        condition=models.Q(("k__gte", 0), ("k__lte", 1)), name="bot_k_in_0_1"
                    ),
                ),
                migrations.AddConstraint(
                    model_name="bot",
                    constraint=models.CheckConstraint(
                        condition=models.Q(("lookback__gte", 1)), name="bot_lookback_positive"
                    ),
                ),
                migrations.AddConstraint(
                    model_name="bot",
                    constraint=models.CheckConstraint(
                        condition=models.Q(("holding_quantity__gte", 0)), name="bot_holding_non_negative"
                    ),
                ),
                migrations.AddIndex(
                    model_name="botdecision",
                    index=models.Index(fields=["bot", "-time"], name="trading_bot_bot_id_62b3c4_idx"),
                ),
            ],
        ),
    ]
