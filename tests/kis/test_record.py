"""``Record``: the read-only mapping a data frame's records are, over a two-record frame built
from a made-up three-column spec (wire syntax only; no market data)."""

import json

import pytest

from markets.sources.kis.frames import EXTRA_VERSIONS, TAIL, FrameParser, Record


@pytest.fixture
def parser():
    return FrameParser({"H0TEST00": ["code", "hour", "price"]}, clock=lambda: 0.0)


def test_every_record_is_a_mapping(parser):
    frame = parser.parse("0|H0TEST00|002|A^090000^1.5^B^090001^2.5")
    assert frame.kind == "data" and len(frame.records) == 2
    first, second = frame.records
    assert isinstance(first, Record)
    assert first == {"code": "A", "hour": "090000", "price": "1.5"}
    assert dict(second) == {"code": "B", "hour": "090001", "price": "2.5"}
    assert list(second) == ["code", "hour", "price"] and len(second) == 3
    assert second["price"] == "2.5" and second.get("missing", "-") == "-" and "hour" in second
    assert "missing" not in second and TAIL not in second
    with pytest.raises(KeyError):
        second["missing"]
    assert json.loads(json.dumps(second.copy())) == dict(second)
    assert first | {"price": "9"} == {"code": "A", "hour": "090000", "price": "9"}
    assert "Record({'code': 'A'" in repr(first)


def test_tail_layout_keeps_the_rest(parser, monkeypatch):
    monkeypatch.setitem(EXTRA_VERSIONS, "H0TEST00", [(5, lambda cols: tuple(cols[:2]), True, "test")])
    tailed = FrameParser({"H0TEST00": ["code", "hour", "price"]}, clock=lambda: 0.0)
    frame = tailed.parse("0|H0TEST00|001|A^090000^x^y^z")
    (rec,) = frame.records
    assert frame.version == 5
    assert rec == {"code": "A", "hour": "090000", TAIL: "x^y^z"}
    assert list(rec) == ["code", "hour", TAIL] and len(rec) == 3 and TAIL in rec


def test_bad_counts_quarantined(parser):
    for raw in ("0|H0TEST00|000|A^1^2", "0|H0TEST00|x|A^1^2", "0|H0TEST00", "0|H0TEST00|002|A^1^2"):
        assert parser.parse(raw).kind == "quarantine"
    assert parser.stats["quarantined"] == 4 and parser.stats["records"] == 0
