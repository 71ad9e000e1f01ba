"""The bots' Celery tasks moved from ``trading.tasks`` to ``bots.tasks``: existing beat entries
(written by ``trading`` 0004 and 0005, or by ``setup_periodic_tasks``) call the new names."""

from django.db import migrations

RENAMED = {
    "trading.tasks.bots_check": "bots.tasks.bots_check",
    "trading.tasks.bots_refresh_candles": "bots.tasks.bots_refresh_candles",
}


def rename(apps, schema_editor, names=RENAMED):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for old, new in names.items():
        PeriodicTask.objects.filter(task=old).update(task=new)


def rename_back(apps, schema_editor):
    rename(apps, schema_editor, {new: old for old, new in RENAMED.items()})


class Migration(migrations.Migration):
    dependencies = [
        ("bots", "0001_initial"),
        ("trading", "0005_refresh_candles_beat"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(rename, rename_back)]
