"""Verify the books: cash = sum of ledger entries, reservations = open orders, positions = fills.

manage.py check_ledgers      # exit 0 when everything agrees, 1 with one line per mismatch
"""

import sys

from django.core.management.base import BaseCommand

from trading.selectors import ledger_mismatches


class Command(BaseCommand):
    help = "Check every wallet and position against the ledger, open orders and fills."

    def handle(self, *args, **opts):
        problems = ledger_mismatches()
        for line in problems:
            self.stderr.write(line)
        if problems:
            self.stderr.write(self.style.ERROR(f"{len(problems)} mismatch(es)"))
            sys.exit(1)
        self.stdout.write(self.style.SUCCESS("ledgers reconcile: cash, reservations and positions agree"))
