"""Register trading's periodic jobs with django-celery-beat (idempotent)."""

from django.db import migrations

TASKS = [
    # (name, task, schedule)
    ("trading: expire DAY orders", "trading.tasks.expire_day_orders", {"every": 1, "period": "minutes"}),
    (
        "trading: daily equity snapshot",
        "trading.tasks.snapshot_equity",
        {"minute": "59", "hour": "23", "timezone": "Asia/Seoul"},
    ),
]


def register(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    for name, task, schedule in TASKS:
        if "every" in schedule:
            interval, _ = IntervalSchedule.objects.get_or_create(**schedule)
            PeriodicTask.objects.update_or_create(
                name=name, defaults={"task": task, "interval": interval, "crontab": None}
            )
        else:
            crontab, _ = CrontabSchedule.objects.get_or_create(
                minute=schedule["minute"],
                hour=schedule["hour"],
                day_of_week="*",
                day_of_month="*",
                month_of_year="*",
                timezone=schedule["timezone"],
            )
            PeriodicTask.objects.update_or_create(
                name=name, defaults={"task": task, "crontab": crontab, "interval": None}
            )


def unregister(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        name__in=[name for name, _, _ in TASKS]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("trading", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(register, unregister)]
