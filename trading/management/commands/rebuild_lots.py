"""``manage.py rebuild_lots [--user NAME]``: rebuild the lots from the fills (first-in first-out),
for accounts that traded before lots existed. Idempotent: the lots are written anew each run."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from trading import services


class Command(BaseCommand):
    help = "Rebuild every lot from the fills, oldest first (FIFO closes, realized P&L per lot)."

    def add_arguments(self, parser):
        parser.add_argument("--user", help="only this username")

    def handle(self, *args, user=None, **options):
        owner = None
        if user:
            owner = get_user_model().objects.filter(username=user).first()
            if owner is None:
                raise CommandError(f"no user {user!r}")
        users = get_user_model().objects.filter(orders__fills__isnull=False).distinct()
        total = 1 if owner else users.count()
        with tqdm(total=total, desc="users", unit="user", disable=options["verbosity"] == 0) as bar:
            written = services.lots_rebuild(user=owner, progress=bar)
        self.stdout.write(f"{written} lots written")
