"""A small Telegram Bot API client on ``requests`` (sendMessage, getUpdates, setWebhook).

Plain requests rather than python-telegram-bot: the project already depends on requests, the
Bot API calls needed are three JSON POSTs, and PTB's Bot and rate limiter are asyncio-only
while deliveries run in sync Celery tasks; the pacing PTB's AIORateLimiter gives (1/s per
chat, ~30/s overall, pause everything on RetryAfter) is ``alerts.pacing.Pacer``.

``base_url`` is the Bot API base (``https://api.telegram.org``; tests and the demo point it at
a local fake). Errors: ``TelegramError`` with ``code`` (Telegram's ``error_code``, or None for a
network error/timeout/bad reply), ``description`` and ``retry_after`` (seconds, on 429).
Pure: no Django.
"""

from dataclasses import dataclass
from typing import Any

import requests


class TelegramError(Exception):
    def __init__(self, code: int | None, description: str, retry_after: float | None = None) -> None:
        super().__init__(f"{code or 'network'}: {description}")
        self.code = code
        self.description = description
        self.retry_after = retry_after

    @property
    def transient(self) -> bool:
        """Worth retrying later: network errors and 5xx (429 is handled by its retry_after)."""
        return self.code is None or self.code >= 500


@dataclass
class TelegramClient:
    base_url: str
    token: str
    timeout: float = 10.0
    session: requests.Session | None = None

    def call(self, method: str, params: dict[str, Any] | None = None, timeout: float | None = None) -> Any:
        """POST ``params`` as JSON to ``<base>/bot<token>/<method>``; returns ``result``."""
        url = f"{self.base_url.rstrip('/')}/bot{self.token}/{method}"
        http = self.session or requests
        try:
            resp = http.post(url, json=params or {}, timeout=timeout or self.timeout)
        except requests.RequestException as exc:
            raise TelegramError(None, f"{type(exc).__name__}: {exc}"[:200]) from exc
        try:
            body = resp.json()
        except ValueError:
            raise TelegramError(resp.status_code if resp.status_code >= 400 else None, "reply is not JSON") from None
        if not isinstance(body, dict):
            raise TelegramError(None, "reply is not a JSON object")
        if body.get("ok"):
            return body.get("result")
        params_ = body.get("parameters") or {}
        retry_after = params_.get("retry_after")
        raise TelegramError(
            int(body.get("error_code") or resp.status_code),
            str(body.get("description", ""))[:200],
            float(retry_after) if retry_after is not None else None,
        )

    def send_message(self, chat_id: int, text: str) -> Any:
        return self.call("sendMessage", {"chat_id": chat_id, "text": text, "disable_web_page_preview": True})

    def get_updates(self, offset: int | None = None, timeout: int = 0, limit: int = 100) -> list[dict]:
        params: dict[str, Any] = {"timeout": timeout, "limit": limit, "allowed_updates": ["message"]}
        if offset is not None:
            params["offset"] = offset
        return self.call("getUpdates", params, timeout=timeout + self.timeout) or []


def start_token(update: dict) -> tuple[int, str, str] | None:
    """``(chat_id, token, username)`` of a ``/start <token>`` message update, else None."""
    message = update.get("message") or {}
    text = message.get("text")
    chat = message.get("chat") or {}
    if not isinstance(text, str) or not isinstance(chat.get("id"), int):
        return None
    parts = text.strip().split()
    if len(parts) != 2 or parts[0].split("@")[0] != "/start":
        return None
    user = message.get("from") or {}
    return chat["id"], parts[1], str(user.get("username") or "")[:64]
