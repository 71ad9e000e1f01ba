import pytest
from django.core.management import call_command
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from tradesite import schedule
from tradesite.celery import app


def test_every_scheduled_job_names_a_registered_celery_task():
    app.loader.import_default_modules()
    assert [job.task for job in schedule.JOBS if job.task not in app.tasks] == []


def test_every_job_has_exactly_one_kind_of_schedule():
    for job in schedule.JOBS:
        assert (job.every is not None) != bool(job.crontab), job.name


@pytest.mark.django_db
def test_setup_periodic_tasks_installs_the_list_and_a_rerun_changes_nothing():
    PeriodicTask.objects.filter(name__in=[job.name for job in schedule.JOBS]).delete()

    call_command("setup_periodic_tasks")
    first = {(t.name, t.task, t.interval_id, t.crontab_id, t.enabled) for t in PeriodicTask.objects.all()}
    call_command("setup_periodic_tasks")
    second = {(t.name, t.task, t.interval_id, t.crontab_id, t.enabled) for t in PeriodicTask.objects.all()}

    assert {name for name, *_ in first} >= {job.name for job in schedule.JOBS}
    assert second == first


@pytest.mark.django_db
def test_setup_periodic_tasks_keeps_an_operators_disabled_flag_and_restores_the_schedule():
    job = next(j for j in schedule.JOBS if j.every is not None)
    call_command("setup_periodic_tasks")
    hourly, _ = IntervalSchedule.objects.get_or_create(every=7, period="hours")
    PeriodicTask.objects.filter(name=job.name).update(enabled=False, interval=hourly)

    created, updated = schedule.install()

    entry = PeriodicTask.objects.get(name=job.name)
    assert (created, updated) == (0, 1)
    assert entry.enabled is False
    assert (entry.interval.every, entry.interval.period) == (job.every, job.period)
