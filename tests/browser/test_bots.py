"""The bot and backtest pages in a real browser: the new-bot form (a bad field, then a good one),
a bot's page with enable / disable, the breakout backtest form and its chart."""

import re

from tests.browser.test_portfolio import upbit_btc

BAD_REQUEST = r"{path} - Failed to load resource: the server responded with a status of 400"


def test_the_new_bot_form_refuses_a_bad_k_then_creates_the_bot_and_it_can_be_disabled_and_enabled(site):
    site.sign_up("browser-bots")  # a user of its own: the bot trades nobody else's cash
    site.allow_console(BAD_REQUEST.format(path="/bots/new/"))  # the refused form comes back 400
    btc = upbit_btc(site)
    site.open("/bots/new/")
    site.shot("bot-new")

    # the kind's fieldset: breakout shown, predictions hidden, and back (bot_form.js)
    breakout, predictions = ".bf-set[data-kind=breakout]", ".bf-set[data-kind=predictions]"
    assert site.find(breakout).is_displayed() and not site.find(predictions).is_displayed()
    site.set_value("#id_kind", "predictions")
    assert site.find(predictions).is_displayed() and not site.find(breakout).is_displayed()
    site.set_value("#id_kind", "breakout")
    assert site.find(breakout).is_displayed()

    # a k above 1: the page comes back with the message on k and no bot is made
    site.set_value("#id_instrument", str(btc["id"]))
    site.type("#id_name", "browser-btc")
    site.type("#id_k", "1.5")
    site.submit("#bot-form")
    assert site.path == "/bots/new/"
    error = site.wait_element("#id_k_error").text
    assert "at most 1" in error, error  # the page is in the browser's language (English here)
    assert "bf-invalid" in site.find("#id_k").find_element("xpath", "..").get_attribute("class").split()
    assert site.find("#id_instrument").get_attribute("value") == str(btc["id"])  # what was typed is kept
    assert _bots(site) == []

    # a good k: the bot's page
    site.type("#id_k", "0.4")
    site.submit("#bot-form")
    match = site.wait_for(lambda: re.fullmatch(r"/bots/(\d+)/", site.path), "the new bot's page")
    bot_id = int(match.group(1))
    made = _bots(site)
    assert [b["id"] for b in made] == [bot_id], made
    assert made[0]["enabled"] is True and made[0]["instrument"] == btc["id"]
    assert "browser-btc" in site.text("#bot-heading")
    assert site.text("#bot-enabled") == "enabled"
    for table in ("#bot-decisions", "#bot-orders", "#bot-fills"):
        assert site.find_all(f"{table} tbody tr"), table
    site.shot("bot-detail")

    site.submit(".bf-actions form[action$='/disable/']")
    assert site.path == f"/bots/{bot_id}/"
    assert site.text("#bot-enabled") == "disabled"
    assert _bots(site)[0]["enabled"] is False
    assert site.find_all(".bf-actions form[action$='/enable/']")

    site.submit(".bf-actions form[action$='/enable/']")
    assert site.text("#bot-enabled") == "enabled"
    assert _bots(site)[0]["enabled"] is True

    site.open("/bots/")
    assert any("browser-btc" in row for row in site.texts("table tbody tr"))
    site.shot("bots")
    site.submit(f"form[action='/bots/{bot_id}/disable/']")  # leave it off: the demo runs on
    assert _bots(site)[0]["enabled"] is False


def test_a_breakout_backtest_runs_from_the_form_and_its_chart_shows_the_history_figures(site):
    site.sign_up("browser-backtests")
    site.allow_console(BAD_REQUEST.format(path="/backtests/"))
    site.open("/backtests/")
    site.type("#id_k", "2")  # out of 0..1: refused on k
    site.submit("#backtest-form")
    assert site.path == "/backtests/"
    assert "from 0 to 1" in site.wait_element("#id_k_error").text
    assert not site.find_all("#backtest-history")

    site.type("#id_k", "auto")
    site.set_value("#id_start", "2025-01-01")
    site.set_value("#id_end", "2025-09-01")
    site.submit("#backtest-form")
    match = site.wait_for(lambda: re.fullmatch(r"/backtests/(\d+)/chart/", site.path), "the backtest's chart page")
    backtest_id = match.group(1)
    site.wait_for(lambda: site.find_all("#bt-chart canvas"), "the equity chart to draw")
    assert site.find("#bt-chart-message").get_attribute("hidden") is not None  # no "did not load" message
    figures = {row[0]: row[1:] for row in _table(site, "table.bt-figures tbody tr")}
    assert "Total return" in figures, figures
    site.shot("backtest-breakout-chart")

    api = site.fetch_json("GET", f"/api/v1/backtests/{backtest_id}/")
    assert api["status"] == 200, api
    result = api["data"]
    assert result["chart_url"] == f"/backtests/{backtest_id}/chart/"
    assert figures["Total return"][0] == _percent(result["total_return"])
    assert figures["Maximum drawdown"][0] == _percent(result["max_drawdown"])
    assert figures["Total return"][1] == _percent(result["buy_and_hold_return"])

    site.open("/backtests/")
    site.shot("backtests-breakout")
    header = [th.get_attribute("textContent").strip() for th in site.find_all("#backtest-history thead th")]
    row = next(r for r in _table(site, "#backtest-history tbody tr") if r[0].startswith(f"#{backtest_id} "))
    column = {name: row[i] for i, name in enumerate(header)}
    assert column["Return"] == figures["Total return"][0]
    assert column["MDD · Max drawdown"] == figures["Maximum drawdown"][0]
    assert column["CAGR"] == figures["CAGR"][0]
    assert column["Buy-and-hold"] == figures["Total return"][1]
    assert all(value.endswith(" %") for value in (column["Return"], column["MDD · Max drawdown"]))
    assert column["Period"].startswith("2025-01-01 – 2025-09-01")


def _bots(site) -> list[dict]:
    listed = site.fetch_json("GET", "/api/v1/bots/")
    assert listed["status"] == 200, listed
    data = listed["data"]
    return data["results"] if isinstance(data, dict) else data


def _table(site, rows_css: str) -> list[list[str]]:
    return site.js(
        "return Array.from(document.querySelectorAll(arguments[0]))"
        ".map((tr) => Array.from(tr.children).map((cell) => cell.textContent.trim()))",
        rows_css,
    )


def _percent(fraction) -> str:
    """A fraction as the pages write it: 0.1234 -> "12.34 %"."""
    from decimal import Decimal

    return f"{Decimal(str(fraction)) * 100:,.2f} %"
