"""``manage.py telegram_poll [--once] [--timeout S]``: read the bot's updates by getUpdates
(for deployments without a public webhook URL) and handle them as the webhook does
(``/start <token>`` links a chat). ``--once``: one getUpdates call, then confirm the handled
updates (offset) and exit; without it, long-poll until interrupted. Telegram refuses getUpdates
(409) while a webhook is set."""

import time

from django.core.management.base import BaseCommand, CommandError

from alerts import delivery
from alerts.telegram import TelegramError


class Command(BaseCommand):
    help = "Handle the Telegram bot's updates by getUpdates (/start <token> links a chat)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="one getUpdates call, then exit")
        parser.add_argument(
            "--timeout", type=int, default=None, help="long-poll seconds (default 0 with --once, else 30)"
        )

    def handle(self, *args, once=False, timeout=None, **options):
        client = delivery.telegram_client()
        timeout = (0 if once else 30) if timeout is None else timeout
        offset = None
        counts: dict[str, int] = {}
        while True:
            try:
                updates = client.get_updates(offset=offset, timeout=timeout)
            except TelegramError as exc:
                if once:
                    raise CommandError(f"getUpdates failed: {exc}") from exc
                self.stderr.write(f"getUpdates failed: {exc}; retrying in 5 s")
                time.sleep(5)
                continue
            for update in updates:
                result = delivery.telegram_handle_update(update, client=client)
                counts[result] = counts.get(result, 0) + 1
                if isinstance(update.get("update_id"), int):
                    offset = max(offset or 0, update["update_id"] + 1)
            if once:
                if offset is not None:  # confirm: Telegram forgets updates below offset
                    try:
                        client.get_updates(offset=offset, timeout=0, limit=1)
                    except TelegramError as exc:
                        self.stderr.write(f"confirming updates failed: {exc}")
                summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"
                self.stdout.write(f"{len(updates)} updates: {summary}")
                return
