"""Celery app. With ``REDIS_URL`` unset, tasks run eagerly in the calling process."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradesite.settings")

app = Celery("tradesite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
