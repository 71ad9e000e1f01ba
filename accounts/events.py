"""Account events (an order filled or expired, a bot entered or exited, the quiz's daily cap
reached), told to whoever listens: ``ACCOUNTS["ON_ACCOUNT_EVENT"]`` (dotted paths, each called
as ``f(user_id=..., event=..., text=...)``; ``alerts.services.account_event_notify`` sends the
user's opted-in notifications). Kept as a setting so trading, bots and quiz never import the
alerts app; accounts imports no app above it.

The hooks run after the caller's transaction commits (an event that rolled back is never
told) and a failing hook is logged, never raised: a notification must not undo a fill.
"""

import logging

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

ORDER_FILLED = "order_filled"
ORDER_EXPIRED = "order_expired"
BOT_ENTERED = "bot_entered"
BOT_EXITED = "bot_exited"
QUIZ_DAILY_CAP = "quiz_daily_cap"
EVENTS = (ORDER_FILLED, ORDER_EXPIRED, BOT_ENTERED, BOT_EXITED, QUIZ_DAILY_CAP)


def account_event(*, user_id: int, event: str, text: str) -> None:
    """Tell the ``ON_ACCOUNT_EVENT`` hooks about ``event`` (one of ``EVENTS``) of user
    ``user_id`` once the current transaction commits; ``text`` is the one-line notification
    (Korean · English). Raises ``ValueError`` on an unknown event (a programming error)."""
    if event not in EVENTS:
        raise ValueError(f"unknown account event {event!r}")
    hooks = settings.ACCOUNTS.get("ON_ACCOUNT_EVENT", [])
    if not hooks:
        return

    def run() -> None:
        for path in hooks:
            try:
                import_string(path)(user_id=user_id, event=event, text=text)
            except Exception:  # best effort: the event itself is committed
                logger.exception("account event hook %s failed for %s of user %s", path, event, user_id)

    transaction.on_commit(run)
