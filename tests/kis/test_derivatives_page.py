"""``/derivatives/`` on the recorded KIS sessions (../shared/data/kis; unlicensed, skips when
absent): the front future, the option chain around the money with the latest execution's
figures, read-only, KST times."""

import json
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from markets.calendars import SEOUL
from markets.models import Tick
from markets.templatetags.markets_format import plain_number

pytestmark = pytest.mark.django_db


def test_page_renders_the_front_future_and_a_chain_around_the_money(client, recorded):
    response = client.get(reverse("derivatives"))
    assert response.status_code == 200
    html = response.content.decode()
    board = response.context["board"]
    assert board["future"].symbol == "101W09" and str(board["day"]) == "2025-07-18"
    last = Tick.objects.filter(instrument__symbol="101W09", kind="trade").order_by("exchange_time", "sequence").last()
    assert board["trade"] == last and board["atm"] == Decimal("430.0")  # 430.65 rounds to 430.0
    assert f'data-field="last">{plain_number(last.price, 2)}<' in html
    assert last.exchange_time.astimezone(SEOUL).strftime("%Y-%m-%d %H:%M:%S KST") in html

    strikes = [row["strike"] for row in board["rows"]]
    assert strikes == sorted(strikes) and strikes[0] >= Decimal("417.5") and strikes[-1] <= Decimal("442.5")
    assert Decimal("430") in strikes and all(s % Decimal("2.5") == 0 for s in strikes)
    call_435 = next(r["call"] for r in board["rows"] if r["strike"] == Decimal("435"))
    tick = (
        Tick.objects.filter(instrument__symbol="201W08435", kind="trade").order_by("exchange_time", "sequence").last()
    )
    assert call_435["last"] == tick.price and call_435["delta"] == Decimal(tick.extra["delta"])
    assert call_435["iv"] == Decimal(tick.extra["hts_ints_vltl"]) and call_435["open_interest"] is not None
    assert 'data-symbol="krx:201W08435"' in html and plain_number(call_435["delta"]) in html
    assert re.search(r'<tr class="atm">\s*', html)
    # the chain mixes sessions: an execution of the 2025-07-14 night is marked as earlier
    call_430 = next(r["call"] for r in board["rows"] if r["strike"] == Decimal("430"))
    assert call_430["tick"].session_date.isoformat() == "2025-07-14" and call_430["earlier"]
    assert not call_435["earlier"] and 'class="earlier last" data-symbol="krx:201W08430"' in html
    # a night execution's greeks are KIS's placeholders (delta 1 or 0, gamma and vega 0): none shown,
    # its implied volatility is; the day execution keeps its greeks
    assert call_430["night"] and not call_435["night"]
    assert Decimal(call_430["tick"].extra["gama"]) == 0 and abs(Decimal(call_430["tick"].extra["delta"])) in (0, 1)
    assert call_430["delta"] is call_430["gamma"] is call_430["vega"] is call_430["theta"] is None
    assert call_430["iv"] == Decimal(call_430["tick"].extra["hts_ints_vltl"])

    assert "Read-only: derivatives are not paper-traded" in html and "모의 거래할 수 없습니다" in html
    assert 'href="/derivatives/"' in html  # the nav link
    live = json.loads(re.search(r'<script id="deriv-live" type="application/json">(.*?)</script>', html).group(1))
    assert live["future"] == "krx:101W09" and "krx:201W08435" in live["options"] and len(live["options"]) <= 49
    assert "<script>" not in html and " style=" not in html  # CSP: static files only
