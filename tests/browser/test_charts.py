"""The chart pages fed by forms in a real browser: the prediction backtest form and its chart,
the taker-volume page (chart, window switch, the CSV link and its download)."""

import csv
import io
import re
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit


def test_the_prediction_backtest_form_runs_one_and_lands_on_its_chart(site):
    site.sign_up("browser-predictions")
    site.allow_console(r"/predictions/backtests/ - Failed to load resource: the server responded with a status of 400")
    site.open("/predictions/backtests/")
    model = site.find("#id_model").get_attribute("value")
    assert model, "no predictor to choose"

    site.set_value("#id_start", "2025-06-17")
    site.set_value("#id_end", "2025-01-02")  # before the start: refused on end
    site.submit("#prediction-backtest-form")
    assert site.path == "/predictions/backtests/"
    assert "end must not be before start" in site.wait_element("#id_end_error").text
    assert not site.find_all("#prediction-backtest-history")

    site.set_value("#id_start", "2025-01-02")
    site.set_value("#id_end", "2025-06-17")
    site.type("#id_top_n", "5")
    site.shot("prediction-backtest-form")
    site.submit("#prediction-backtest-form")
    site.wait_for(lambda: re.fullmatch(r"/predictions/backtests/\d+/", site.path), "the backtest's chart page")
    site.wait_for(lambda: site.find_all(".chart canvas"), "the backtest chart to draw")
    assert model in site.text("h1")

    site.open("/predictions/backtests/")
    rows = site.texts("#prediction-backtest-history tbody tr")
    assert len(rows) == 1 and rows[0].startswith(model) and "2025-01-02 – 2025-06-17" in rows[0], rows
    assert "5 / 5" in rows[0]


def test_taker_volume_draws_switches_window_and_its_csv_link_downloads_the_same_selection(site):
    site.open("/taker-volume/")
    site.wait_for(lambda: site.find_all("#tv-chart canvas"), "the taker-volume chart to draw")
    assert site.find_all("#tv-rows tbody tr")
    minutes = _csv_query(site)
    assert (minutes["exchange"], minutes["window"], minutes["format"]) == ("binance", "min", "csv"), minutes
    site.shot("taker-volume")

    # the same span by the hour, typed as KST wall times (the CSV link's from / to are UTC)
    start, end = (datetime.fromisoformat(minutes[k].replace("Z", "+00:00")) for k in ("from", "to"))
    site.set_value("#id_window", "hour")
    site.set_value("#id_from", (start + timedelta(hours=9)).strftime("%Y-%m-%dT%H:%M"))
    site.set_value("#id_to", (end + timedelta(hours=9)).strftime("%Y-%m-%dT%H:%M"))
    site.submit("#tv-form")
    assert "window=hour" in site.path
    site.wait_for(lambda: site.find_all("#tv-chart canvas"), "the chart to draw again by the hour")
    assert site.text("#tv-chart-heading").startswith("hour · ")
    hours = _csv_query(site)
    assert (hours["exchange"], hours["window"], hours["from"], hours["to"]) == (
        "binance",
        "hour",
        minutes["from"],
        minutes["to"],
    ), hours
    shown = int(re.match(r"(\d+) rows", site.text("#tv-totals")).group(1))
    assert 1 <= shown <= 7 and len(site.find_all("#tv-rows tbody tr")) == shown  # 6 hours of minutes, by the hour

    download = site.fetch_text(site.find("#tv-csv").get_attribute("href"))
    assert download["status"] == 200 and download["type"].startswith("text/csv"), download
    table = list(csv.reader(io.StringIO(download["text"])))
    header, body = table[0], table[1:]
    assert "taker_buy_volume" in header and "taker_sell_volume" in header, header
    assert not any(cell.replace(".", "").isdigit() for cell in header)  # a header, not a row of numbers
    assert len(body) == shown and all(len(row) == len(header) for row in body)

    site.type("#id_symbol", "NOPE")  # no such pair: the field says so, no chart
    site.allow_console(r"/taker-volume/\?\S* - Failed to load resource: the server responded with a status of 400")
    site.submit("#tv-form")
    assert site.wait_element("#id_symbol_error").text.strip()
    assert not site.find_all("#tv-chart") and not site.find_all("#tv-csv")


def _csv_query(site) -> dict[str, str]:
    href = site.find("#tv-csv").get_attribute("href")
    parts = urlsplit(href)
    assert parts.path == "/api/v1/taker-volume/", href
    return {k: v[0] for k, v in parse_qs(parts.query).items()}
