"""Install every periodic job of ``tradesite.schedule`` into django-celery-beat (idempotent)."""

from django.core.management.base import BaseCommand

from tradesite import schedule


class Command(BaseCommand):
    help = "Create or update the beat entries listed in tradesite/schedule.py (keeps each entry's enabled flag)."

    def handle(self, *args, **options):
        created, updated = schedule.install()
        self.stdout.write(f"periodic tasks: {len(schedule.JOBS)} in the schedule, {created} created, {updated} updated")
