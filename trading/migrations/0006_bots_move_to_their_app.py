"""The breakout bot's models (Bot, BotDecision, Backtest) moved to the ``bots`` app.

State only: the tables keep their names (``trading_bot``, ``trading_botdecision``,
``trading_backtest``, set as ``db_table`` in ``bots.models``) and their rows; ``bots``
0001 takes the models over in Django's state and moves their content types.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("trading", "0005_refresh_candles_beat"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="BotDecision"),
                migrations.DeleteModel(name="Backtest"),
                migrations.DeleteModel(name="Bot"),
            ],
            database_operations=[],
        ),
    ]
