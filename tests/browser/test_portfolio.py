"""The order ticket in a real browser: a market buy fills, a far limit order rests and is canceled."""

import json
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import pytest

QUANTITY = "0.001"


@pytest.fixture
def btc_ticket(logged_in_site):
    """The portfolio page with Upbit's BTC/KRW on the ticket and its live price shown."""
    site = logged_in_site
    btc = upbit_btc(site)
    site.open(f"/portfolio/?instrument={btc['id']}")
    site.wait_for(lambda: site.text("#pf-inst-name") not in ("", "No instrument selected"), "BTC on the ticket")
    site.wait_for(lambda: site.text("#pf-inst-price").endswith("KRW"), "BTC's live price on the ticket", timeout=30)
    site.wait_for(lambda: _stat(site, "KRW", "Cash") is not None, "the KRW wallet")
    site.wait_for(lambda: site.text("#pf-conn .conn-label") == "Live", "the account stream (/ws/account/) to be Live")
    site.wait_for(lambda: "Loading" not in site.text("#pf-fills"), "the fills table")
    return site


def test_a_market_buy_fills_and_the_fill_shows_and_cash_decreases(btc_ticket):
    site = btc_ticket
    cash_before = _stat(site, "KRW", "Cash")
    fills_before = len(_rows(site, "#pf-fills"))
    site.shot("portfolio")

    site.type("#pf-quantity", QUANTITY)
    site.wait_for(lambda: site.text("#pf-estimate"), "the cost estimate")
    site.click("#pf-submit")

    result = site.wait_for(lambda: site.text("#pf-form-result"), "the order result")
    assert result.startswith("Placed: Buy 0.001 BTC/KRW filled @"), result
    site.wait_for(lambda: len(_rows(site, "#pf-fills")) == fills_before + 1, "the new fill in Recent fills")
    newest = _rows(site, "#pf-fills")[0]
    assert "BTC/KRW" in newest and "Buy" in newest, newest
    cash_after = site.wait_for(lambda: (c := _stat(site, "KRW", "Cash")) < cash_before and c, "cash to decrease")
    price = Decimal(result.split("@", 1)[1].split()[0].replace(",", ""))
    spent = cash_before - cash_after
    assert spent >= price * Decimal(QUANTITY)  # the cost at the fill price, plus the fee
    assert spent < price * Decimal(QUANTITY) * Decimal("1.01")
    assert not site.find("#pf-form-error").is_displayed()


def test_a_limit_order_far_below_the_market_rests_then_cancel_returns_the_reserved_cash(btc_ticket):
    site = btc_ticket
    last = Decimal(site.text("#pf-inst-price").split()[0].replace(",", ""))
    limit = (last / 2 // 100_000) * 100_000  # half the market, on every BTC/KRW tick size
    reserved_before = _stat(site, "KRW", "Reserved")
    site.wait_for(lambda: "Loading" not in site.text("#pf-open-orders"), "the open orders table")
    open_before = len(_rows(site, "#pf-open-orders"))

    site.click("label:has(input[name=type][value=limit])")
    site.type("#pf-quantity", QUANTITY)
    # one atomic write: a tick between a clear and the keys must not leave the last price in front
    site.set_value("#pf-limit-price", f"{limit:.0f}")
    assert site.find("#pf-limit-price").get_attribute("value") == f"{limit:.0f}"
    assert site.text("#pf-submit").endswith("· limit")
    site.click("#pf-submit")

    result = site.wait_for(lambda: site.text("#pf-form-result"), "the order result")
    assert result.startswith("Placed: Buy 0.001 BTC/KRW open at"), result
    site.wait_for(lambda: len(_rows(site, "#pf-open-orders")) == open_before + 1, "the order in Open orders")
    order_id = site.find("#pf-open-orders tr[data-order-id]").get_attribute("data-order-id")
    reserved = site.wait_for(
        lambda: (r := _stat(site, "KRW", "Reserved")) > reserved_before and r, "cash to be reserved"
    )
    assert reserved - reserved_before >= limit * Decimal(QUANTITY)
    site.shot("portfolio-open-order", scroll_to="#pf-open-orders")

    site.click(f"#pf-open-orders button.pf-cancel[data-order-id='{order_id}']")
    site.wait_for(
        lambda: not site.find_all(f"#pf-open-orders tr[data-order-id='{order_id}']"), "the order to leave Open orders"
    )
    site.wait_for(lambda: _stat(site, "KRW", "Reserved") == reserved_before, "the reserved cash to return")
    site.wait_for(lambda: "Canceled" in " ".join(_rows(site, "#pf-orders")), "the order canceled in Recent orders")


def test_the_amounts_toggle_shows_every_won_of_the_apis_cash_and_is_kept_on_reload(btc_ticket):
    site = btc_ticket
    cash = _api_cash(site, "KRW")
    rounded = _stat_text(site, "KRW", "Cash")
    assert "만" in rounded or "억" in rounded, rounded  # 만 units by default

    site.click("#pf-units [data-units=exact]")
    assert site.find("#pf-units [data-units=exact]").get_attribute("aria-pressed") == "true"
    exact = site.wait_for(lambda: (t := _stat_text(site, "KRW", "Cash")).endswith("원") and t, "the exact cash")
    assert Decimal(exact.removesuffix("원").replace(",", "")) == cash, (exact, cash)
    site.shot("portfolio-exact")

    site.open(site.path)  # kept in localStorage
    site.wait_for(lambda: _stat_text(site, "KRW", "Cash").endswith("원"), "the exact cash after a reload")
    site.click("#pf-units [data-units=man]")
    site.wait_for(lambda: _stat_text(site, "KRW", "Cash") == rounded, "the 만 units back")


def test_the_50_percent_button_fills_half_the_available_cash_rounded_down_to_the_step(btc_ticket):
    site = btc_ticket
    rules = json.loads(site.js("return document.getElementById('pf-rules').textContent"))
    btc = upbit_btc(site)
    step = Decimal(str(btc.get("lot_size") or rules["coin_lot"]))
    totals = _api_totals(site, "KRW")
    available = Decimal(totals["cash"]) - Decimal(totals["reserved"])

    for _ in range(5):  # the replay moves the price: retry when it moved during the click
        before = site.text("#pf-inst-price")
        site.click("#pf-fractions [data-percent='50']")
        quantity = site.wait_for(lambda: site.find("#pf-quantity").get_attribute("value"), "the quantity")
        if site.text("#pf-inst-price") == before:
            break
    last = Decimal(before.split()[0].replace(",", ""))

    price = last * (1 + Decimal(rules["slippage_bps"]) / 10_000)
    if Decimal(str(btc.get("tick_size") or 0)):
        tick = Decimal(str(btc["tick_size"]))
    else:
        table = rules["ticks"]["upbit:KRW"]
        tick = next(Decimal(str(t)) for upper, t in table if upper is None or price < Decimal(str(upper)))
    price = (price / tick).to_integral_value(rounding=ROUND_CEILING) * tick
    unit = price * (1 + Decimal(rules["fee_bps"]["upbit"]) / 10_000)
    budget = available / 2 - 2  # the page keeps 2 won for rounding, as the bots do
    expected = (budget / unit / step).to_integral_value(rounding=ROUND_FLOOR) * step
    assert Decimal(quantity) == expected, (quantity, expected, last, available)
    assert Decimal(quantity) % step == 0 and Decimal(quantity) * unit <= available / 2
    site.wait_for(lambda: site.text("#pf-estimate"), "the cost estimate of the half")


def _api_totals(site, currency: str) -> dict:
    portfolio = site.fetch_json("GET", "/api/v1/portfolio/")
    assert portfolio["status"] == 200, portfolio
    return next(t for t in portfolio["data"]["totals"] if t["currency"] == currency)


def _api_cash(site, currency: str) -> Decimal:
    return Decimal(_api_totals(site, currency)["cash"])


def _stat_text(site, currency: str, label: str) -> str:
    """An account figure of the summary as shown ("1,000만" or "10,000,000원")."""
    return site.js(
        """
        const [currency, label] = arguments;
        for (const card of document.querySelectorAll('#pf-summary .pf-card')) {
          if (card.querySelector('h3').textContent !== currency) continue;
          for (const stat of card.querySelectorAll('.pf-stat')) {
            if (stat.querySelector('dt').textContent === label) return stat.querySelector('dd').textContent;
          }
        }
        return "";
        """,
        currency,
        label,
    ).strip()


def upbit_btc(site) -> dict:
    """Upbit's BTC/KRW as the instruments API gives it."""
    found = site.fetch_json("GET", "/api/v1/instruments/?exchange=upbit&search=BTC/KRW&limit=5")
    assert found["status"] == 200, found
    return next(row for row in found["data"]["results"] if row["symbol"] == "BTC/KRW")


def _rows(site, tbody: str) -> list[str]:
    """The rows of a table body as text, without its "No ... yet." placeholder."""
    return site.js(
        "return Array.from(document.querySelectorAll(arguments[0] + ' tr:not(.board-empty)')).map((tr) => tr.innerText)",
        tbody,
    )


def _stat(site, currency: str, label: str) -> Decimal | None:
    """An account figure of the summary, exactly (its tooltip: "₩9,876,543.21"), or None before it shows."""
    title = site.js(
        """
        const [currency, label] = arguments;
        for (const card of document.querySelectorAll('#pf-summary .pf-card')) {
          if (card.querySelector('h3').textContent !== currency) continue;
          for (const stat of card.querySelectorAll('.pf-stat')) {
            if (stat.querySelector('dt').textContent === label) return stat.querySelector('dd').title;
          }
        }
        return null;
        """,
        currency,
        label,
    )
    if not title:
        return None
    return Decimal(title.replace("₩", "").replace("−", "-").replace(",", "").split()[0])


def test_a_krx_ticket_warns_when_the_clock_is_outside_the_session(logged_in_site):
    """The ticket agrees with GET /api/v1/sessions/krx/ (the demo clock's KRX session): closed ->
    the server's message on the ticket and a market order's button disabled with the reason."""
    site = logged_in_site
    found = site.fetch_json("GET", "/api/v1/instruments/?exchange=krx&search=005930&limit=5")
    samsung = next(row for row in found["data"]["results"] if row["symbol"] == "005930")
    site.open(f"/portfolio/?instrument={samsung['id']}")
    site.wait_for(lambda: "005930" in site.text("#pf-inst-sub") + site.text("#pf-inst-name"), "005930 on the ticket")

    def agrees():
        state = site.fetch_json("GET", "/api/v1/sessions/krx/")["data"]
        shown = site.find("#pf-session").is_displayed()
        submit = site.find("#pf-submit")
        if state["message"]:
            ok = shown and state["message"] in site.text("#pf-session") and submit.get_attribute("disabled") is not None
            return ok and state["message"] in submit.get_attribute("title") and "closed"
        return not shown and "open"

    # the ticket polls every 15 s; the clock moves 60x, so allow a poll or two
    assert site.wait_for(agrees, "the ticket to show the KRX session the server reports", timeout=40)
