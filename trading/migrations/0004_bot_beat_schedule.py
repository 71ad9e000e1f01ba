"""Register the breakout bots' periodic check with django-celery-beat (idempotent).

Every 15 seconds rather than a crontab per day boundary: one schedule serves Bithumb's 00:00
KST, Upbit's 09:00 KST and KRX session opens alike, and a check missed while the beat was down
is made up at the next run (the check does nothing on a day already rolled).
"""

from django.db import migrations

NAME = "trading: breakout bots (day roll, entries)"
TASK = "trading.tasks.bots_check"


def register(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    interval, _ = IntervalSchedule.objects.get_or_create(every=15, period="seconds")
    PeriodicTask.objects.update_or_create(name=NAME, defaults={"task": TASK, "interval": interval, "crontab": None})


def unregister(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("trading", "0003_bot_backtest"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(register, unregister)]
