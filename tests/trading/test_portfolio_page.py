"""The trading page (/portfolio/): the amounts toggle (만 units / exact won), the ticket's
25 / 50 / 100 % buttons and the sizing rules the page carries (the server's own tables)."""

import json
import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse

from trading import rules

pytestmark = pytest.mark.django_db


def page_rules(html: str) -> dict:
    return json.loads(html.split('id="pf-rules" type="application/json">')[1].split("</script>")[0])


def test_the_page_needs_a_login(client):
    response = client.get(reverse("portfolio-page"))

    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_the_page_has_the_amounts_toggle_and_the_fraction_buttons(client, user):
    client.force_login(user)
    html = client.get(reverse("portfolio-page")).content.decode()

    toggle = html.split('id="pf-units"')[1].split("</div>")[0]
    assert 'data-units="man"' in toggle and 'data-units="exact"' in toggle
    buttons = html.split('id="pf-fractions"')[1].split("</div>")[0]
    assert [int(p) for p in re.findall(r'data-percent="(\d+)"', buttons)] == [25, 50, 100]
    assert "<script>" not in html  # no inline script (CSP): the rules come in a json_script


def test_the_sizing_rules_are_the_servers_fees_slippage_ticks_and_lots(client, user):
    client.force_login(user)
    data = page_rules(client.get(reverse("portfolio-page")).content.decode())

    assert {k: Decimal(v) for k, v in data["fee_bps"].items()} == settings.TRADING["FEE_BPS"]
    assert Decimal(data["slippage_bps"]) == settings.TRADING["SLIPPAGE_BPS"]
    for key, table in (("krx", rules.KRX_TICKS), ("upbit:KRW", rules.UPBIT_KRW_TICKS)):
        assert [(None if u is None else Decimal(u), Decimal(t)) for u, t in data["ticks"][key]] == table
    assert (Decimal(data["coin_lot"]), Decimal(data["share_lot"])) == (rules.COIN_LOT, rules.SHARE_LOT)
