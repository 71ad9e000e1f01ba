"""Register the ETL's periodic tasks with django-celery-beat (DatabaseScheduler).

* "etl: taker volume live" runs ``etl.tasks.taker_volume_live_all`` every minute: one live run
  per configured pair (``ETL["LIVE_PAIRS"]``);
* "etl: staged trades purge" runs ``etl.tasks.staged_trades_purge`` every hour.

Idempotent (get_or_create by name): an operator's later edits in the admin (interval, enabled)
are kept when migrations run again.
"""

from django.db import migrations

TASKS = [
    ("etl: taker volume live", "etl.tasks.taker_volume_live_all", 1, "minutes"),
    ("etl: staged trades purge", "etl.tasks.staged_trades_purge", 1, "hours"),
]


def register(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    for name, task, every, period in TASKS:
        interval, _ = IntervalSchedule.objects.get_or_create(every=every, period=period)
        PeriodicTask.objects.get_or_create(name=name, defaults={"task": task, "interval": interval, "enabled": True})
    # tell a running beat to reload its schedule (what PeriodicTasks.update_changed() does)
    from django.utils import timezone

    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def unregister(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[name for name, *_ in TASKS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("etl", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(register, unregister)]
