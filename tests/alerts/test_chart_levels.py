"""The board's chart (headless Chromium): a click on the price axis sets a crossing alert at that
price, and the instrument's active alerts are drawn as price lines. Skips without Chromium
(the chart library comes from ``npm ci``: node_modules/lightweight-charts)."""

import shutil
import time

import pytest
from django.conf import settings as django_settings

from alerts.models import Alert
from markets.models import Candle
from tests.bots.test_bot import btc as bot_btc  # noqa: F401  (a fixture: real BTC/KRW daily candles)

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="needs chromium and chromedriver"),
]


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    yield driver
    driver.quit()


def _login(browser, live_server, client, user):
    client.force_login(user)
    browser.get(live_server.url + "/healthz")
    browser.add_cookie({"name": django_settings.SESSION_COOKIE_NAME, "value": client.cookies["sessionid"].value})


def _wait(check, timeout=20.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_a_click_on_the_price_axis_sets_an_alert_drawn_as_a_line(browser, live_server, client, user, bot_btc):  # noqa: F811
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    _login(browser, live_server, client, user)
    browser.get(f"{live_server.url}/#instrument={bot_btc.pk}&interval=1d")
    _wait(lambda: browser.execute_script("return !!(window.tradesiteChart && window.tradesiteChart.selected())"))
    _wait(lambda: browser.execute_script("return window.tradesiteChart.series.data().length > 0"))
    axis_x = browser.execute_script("return window.tradesiteChart.chart.timeScale().width() + 20")
    chart = browser.find_element(By.ID, "chart")
    height = chart.size["height"]
    y = int(height * 0.3)
    expected = browser.execute_script(f"return window.tradesiteChart.series.coordinateToPrice({y})")
    ActionChains(browser).move_to_element_with_offset(
        chart, axis_x - chart.size["width"] // 2, y - height // 2
    ).click().perform()
    _wait(lambda: browser.switch_to.alert).accept()
    alert = _wait(lambda: Alert.objects.filter(user=user, instrument=bot_btc).first())
    assert alert.condition == "crossing" and alert.state == "active"
    assert abs(float(alert.level) - expected) / expected < 0.01  # the price under the click
    lows = Candle.objects.filter(instrument=bot_btc).order_by("low").values_list("low", flat=True).first()
    assert float(alert.level) > float(lows) * 0.5
    # a click inside the pane sets nothing
    ActionChains(browser).move_to_element_with_offset(chart, 0, 0).click().perform()
    time.sleep(0.5)
    assert Alert.objects.filter(user=user).count() == 1
    # the level is drawn: reload, and the script's price lines include it
    browser.refresh()
    _wait(
        lambda: browser.execute_script("return window.tradesiteChart && window.tradesiteChart.series.data().length > 0")
    )
    lines = _wait(
        lambda: browser.execute_script(
            "return window.tradesiteChart.alertLevels && window.tradesiteChart.alertLevels()"
        )
    )
    assert [float(alert.level)] == lines
