"""The API's JSON parser: DRF's, with the nesting depth bounded before parsing.

A body nested deeper than ``MAX_JSON_DEPTH`` arrays/objects (``[[[[...]]]]`` 50,000 deep made
``json.loads`` raise ``RecursionError``: a 500) is a 400 ``parse_error`` without being parsed;
the depth is counted on the raw text with the strings removed, stopping at the first bracket over
the limit, so the check costs at most one pass over the body.
"""

import codecs
import io
import json
import re

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_JSON_DEPTH = 64
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def json_depth_exceeds(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when ``text`` nests arrays/objects deeper than ``limit`` (strings ignored)."""
    depth = 0
    for match in _BRACKET.finditer(_STRING.sub("", text)):
        if match.group() in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


class DepthLimitedJSONParser(JSONParser):
    """``application/json`` with at most ``MAX_JSON_DEPTH`` levels of nesting (400 beyond)."""

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        raw = stream.read() if stream is not None else b""
        try:
            text = codecs.decode(raw, encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        if json_depth_exceeds(text):
            raise ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels")
        try:
            return super().parse(io.BytesIO(raw), media_type, parser_context)
        except (RecursionError, json.JSONDecodeError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
