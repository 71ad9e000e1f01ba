"""Register the evening prediction job with django-celery-beat (idempotent).

18:30 Asia/Seoul, Monday to Friday: after the KRX close (15:30) and the after-hours single-price
session (to 18:00), when the day's candles are final. Holidays are skipped by the service
(``predictions.services.daily_predictions_run`` checks the XKRX calendar).
"""

from django.db import migrations
from django.utils import timezone

NAME = "predictions: daily KRX predictions"
TASK = "predictions.daily_predictions"
SCHEDULE = {
    "minute": "30",
    "hour": "18",
    "day_of_week": "1-5",
    "day_of_month": "*",
    "month_of_year": "*",
    "timezone": "Asia/Seoul",
}


def _beat_changed(apps):
    # beat notices changes through this row; the model signals that keep it do not run in migrations
    apps.get_model("django_celery_beat", "PeriodicTasks").objects.update_or_create(
        ident=1, defaults={"last_update": timezone.now()}
    )


def register(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = CrontabSchedule.objects.get_or_create(**SCHEDULE)
    PeriodicTask.objects.update_or_create(
        name=NAME, defaults={"task": TASK, "crontab": crontab, "interval": None, "enabled": True}
    )
    _beat_changed(apps)


def unregister(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()
    _beat_changed(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("predictions", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(register, unregister)]
