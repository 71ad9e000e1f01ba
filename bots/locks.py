"""The bot's row lock: taken first, before the books' locks (``trading.locks``: wallet,
positions, orders), as ``FOR NO KEY UPDATE OF bots_bot`` only — the instrument and user that a
check reads are joined but not locked, so a bot check never holds a row a fill needs."""

from django.db.models import QuerySet

from bots.models import Bot


def bot_qs_select_for_update(*, pk: int) -> QuerySet[Bot]:
    return Bot.objects.select_for_update(of=("self",), no_key=True).filter(pk=pk)
