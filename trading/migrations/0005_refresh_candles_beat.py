"""Beat entry: refresh the bots' daily candles from their exchanges every 5 minutes."""

from django.db import migrations

NAME = "trading: refresh the bots' daily candles"


def register(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    interval, _ = IntervalSchedule.objects.get_or_create(every=5, period="minutes")
    PeriodicTask.objects.update_or_create(
        name=NAME, defaults={"task": "trading.tasks.bots_refresh_candles", "interval": interval, "crontab": None}
    )


def unregister(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("trading", "0004_bot_beat_schedule")]

    operations = [migrations.RunPython(register, unregister)]
