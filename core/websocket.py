"""Safe decoding of client WebSocket frames for the JSON consumers.

``SafeJsonReceiveMixin.receive`` replaces ``AsyncJsonWebsocketConsumer.receive`` (which closed the
socket with 1011 on a binary or non-JSON frame): a frame that is binary, not JSON, nested deeper
than ``MAX_JSON_DEPTH``, or holds a string with a NUL or a lone surrogate (neither can be stored
or looked up in the database) is answered with ``{"type": "error", "message": str}`` and the
socket stays open; anything else goes to ``receive_json(content)``.
"""

import json

from core.parsers import MAX_JSON_DEPTH, json_depth_exceeds

MAX_FRAME_CHARS = 64 * 1024


def _bad_string(value: str) -> bool:
    return "\x00" in value or any("\ud800" <= ch <= "\udfff" for ch in value)


def frame_error(content) -> str | None:
    """The reason ``content`` (decoded JSON) is refused, or ``None``."""
    stack = [content]
    while stack:
        item = stack.pop()
        if isinstance(item, str) and _bad_string(item):
            return "Strings must not contain NUL characters or lone surrogates."
        if isinstance(item, dict):
            for key, value in item.items():
                if _bad_string(key):
                    return "Strings must not contain NUL characters or lone surrogates."
                stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
    return None


def decode_frame(text_data: str | None, bytes_data: bytes | None):
    """``(content, None)`` for an acceptable JSON text frame, else ``(None, error message)``."""
    if text_data is None:
        return None, "Messages must be JSON text frames, not binary."
    if len(text_data) > MAX_FRAME_CHARS:
        return None, f"Messages must be at most {MAX_FRAME_CHARS} characters."
    if json_depth_exceeds(text_data):
        return None, f"Messages must not nest deeper than {MAX_JSON_DEPTH} levels."
    try:
        content = json.loads(text_data)
    except (ValueError, RecursionError):
        return None, "Messages must be JSON objects."
    error = frame_error(content)
    return (None, error) if error else (content, None)


class SafeJsonReceiveMixin:
    """Put before ``AsyncJsonWebsocketConsumer`` in the bases."""

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        content, error = decode_frame(text_data, bytes_data)
        if error:
            await self.send_json({"type": "error", "message": error})
            return
        await self.receive_json(content, **kwargs)
