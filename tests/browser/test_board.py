"""The live board and its chart in a real browser, over the demo's WebSocket feed."""

INTERVALS_TIMEOUT = 20


def test_board_fills_from_the_websocket_and_a_price_cell_changes(site):
    site.open("/")

    site.wait_for(lambda: site.text("#conn-status .conn-label") == "Live", "the ticker stream to be Live")
    # as many rows as the API's board (the demo's clock replays 5 KRW coins; a live feed, 20)
    listed = site.fetch_json("GET", "/api/v1/tickers/?top=20")["data"]
    assert len(listed) >= 4, listed
    site.wait_for(lambda: len(_prices(site)) >= min(10, len(listed)), "the board's rows")
    first = _prices(site)

    def a_price_changed():
        now = _prices(site)
        return [key for key, price in now.items() if key in first and price != first[key]]

    changed = site.wait_for(a_price_changed, "a board price to change with the feed", timeout=30)
    assert changed  # the replay moved a price and the board redrew it without a reload
    site.wait_for(lambda: _chart_outcome(site), "the top row's chart")
    site.shot("board")
    assert site.text("#board-updated").endswith("KST")
    # the heading counts the rows shown (never "Top 20" over fewer); a missing 24 h value is "—"
    # with the reason in its tooltip and the footnote shown
    rows = len(_prices(site))
    heading = site.text("#board-heading")
    assert f"Top {rows} " in heading or f"{rows} KRW coin" in heading, (heading, rows)
    blanks = site.js(
        'return Array.from(document.querySelectorAll("#board-body td.col-value"))'
        '.filter((td) => td.textContent === "—").map((td) => td.title)'
    )
    if blanks:
        assert all("no 24h traded value" in title.lower() for title in blanks), blanks
        assert site.find("#board-value-note").is_displayed()


def test_clicking_a_row_charts_it_and_every_interval_shows_candles_or_says_it_has_none(site):
    site.open("/")
    site.wait_for(lambda: len(_prices(site)) >= 2, "board rows")
    key = list(_prices(site))[1]
    symbol = key.split(":", 1)[1]
    site.click(f"#board-body tr[data-key='{key}']")

    site.wait_for(lambda: symbol in site.text("#chart-sub") or symbol in site.text("#chart-name"), f"{symbol} charted")
    site.wait_for(
        lambda: site.js('return document.querySelector("#board-body tr.selected").dataset.key') == key,
        "the clicked row to be marked selected",
    )
    site.wait_for(lambda: _chart_outcome(site), "the first chart")
    # the chart offers only the intervals with candles (the API's "intervals"); the others are hidden
    intervals = [
        b.get_attribute("data-interval") for b in site.find_all(".intervals [data-interval]") if b.is_displayed()
    ]
    assert len(intervals) >= 2
    outcomes = {}
    for interval in intervals:
        site.click(f".intervals [data-interval='{interval}']")
        assert site.find(f".intervals [data-interval='{interval}']").get_attribute("aria-pressed") == "true"
        outcomes[interval] = site.wait_for(
            lambda: _chart_outcome(site), f"the {interval} chart", timeout=INTERVALS_TIMEOUT
        )
        if interval == "15m":
            site.shot("chart")
    instrument = site.wait_for(lambda: _hash_param(site, "instrument"), "the instrument id in the URL")
    for interval, outcome in outcomes.items():
        stored = site.fetch_json("GET", f"/api/v1/instruments/{instrument}/candles/?interval={interval}&limit=1")
        assert stored["status"] == 200, stored
        has_candles = bool(stored["data"]["results"])
        # the page tells the truth about the API: candles drawn exactly when it has some
        assert (outcome == "candles") == has_candles, (
            f"{interval}: page shows {outcome!r}, API has candles: {has_candles}"
        )
        assert outcome == "candles" or "no candles" in outcome.lower(), f"{interval}: {outcome}"
    assert "candles" in outcomes.values(), f"no interval drew candles: {outcomes}"


def test_searching_a_krx_stock_by_its_korean_name_charts_its_daily_candles(site):
    site.open("/")
    site.wait_for(lambda: _prices(site), "board rows")
    site.type("#search-input", "삼성전자")
    item = site.wait_for(
        lambda: next((li for li in site.find_all("#search-results .search-item") if "005930" in li.text), None),
        "삼성전자 (005930) in the search results",
    )
    item.click()

    site.wait_for(lambda: "005930" in site.text("#chart-sub"), "삼성전자 charted")
    assert site.text("#chart-name") == "삼성전자"
    site.click(".intervals [data-interval='1d']")
    assert site.wait_for(lambda: _chart_outcome(site), "the 1d chart") == "candles"


def _hash_param(site, name: str) -> str | None:
    from urllib.parse import parse_qs, urlsplit

    return (parse_qs(urlsplit(site.driver.current_url).fragment).get(name) or [None])[0]


def _prices(site) -> dict[str, str]:
    """The board as shown, in one read (it re-renders on every batch): {"upbit:BTC/KRW": "91,300,000", ...}."""
    return site.js(
        "return Object.fromEntries(Array.from(document.querySelectorAll('#board-body tr.board-row'))"
        ".map((tr) => [tr.dataset.key, tr.querySelector('td.price').textContent]))"
    )


def _chart_outcome(site) -> str | None:
    """ "candles" when the chart drew (a canvas, no message), the message when it shows one, None while loading."""
    message = site.find("#chart-message")
    if message.is_displayed():
        text = message.text.strip()
        return None if text in ("", "Loading…") else text
    canvases = site.find_all("#chart canvas")
    return "candles" if canvases else None
