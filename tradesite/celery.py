"""Celery app. With ``REDIS_URL`` unset, tasks run eagerly in the calling process."""

import os

from celery import Celery

from tradesite import schedule

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradesite.settings")

app = Celery("tradesite")
app.config_from_object("django.conf:settings", namespace="CELERY")
# per-task soft and hard time limits from the one schedule list
app.conf.task_annotations = schedule.task_annotations()
app.autodiscover_tasks()
