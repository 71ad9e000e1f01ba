"""Create (or reset) the demo user and the demo admin with fresh random passwords, and print them.

For the local demo only: passwords are generated on each run, never stored in the code.
"""

import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.services import user_created_hooks_run

DEMO_USERS = [
    {"username": "demo", "email": "demo@tradesite.local", "is_staff": False, "is_superuser": False},
    {"username": "admin", "email": "admin@tradesite.local", "is_staff": True, "is_superuser": True},
]


class Command(BaseCommand):
    help = "Create or reset the demo user and admin; prints their credentials (demo only)."

    @transaction.atomic
    def handle(self, *args, **opts):
        User = get_user_model()
        lines = []
        for spec in DEMO_USERS:
            password = secrets.token_urlsafe(12)
            user, _ = User.objects.get_or_create(username=spec["username"], defaults={"email": spec["email"]})
            user.email, user.is_staff, user.is_superuser = spec["email"], spec["is_staff"], spec["is_superuser"]
            user.set_password(password)
            user.save()
            user_created_hooks_run(user=user)  # the wallets, as for a signed-up user
            lines.append(
                f"  {spec['username']:<6} password: {password}" + ("   (admin: /admin/)" if spec["is_staff"] else "")
            )
        self.stdout.write("demo credentials (reset on every `make demo`):\n" + "\n".join(lines))
