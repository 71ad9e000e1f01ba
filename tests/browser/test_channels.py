"""The notification channels page (/notifications/channels/) in a real browser: its script runs
under the site's CSP (no inline code), links Telegram and adds and verifies an email address."""

import re

TELEGRAM_LINK = re.compile(r"^https://t\.me/(\w+)\?start=([\w-]+)$")


def test_linking_telegram_shows_the_one_time_link_and_its_code(logged_in_site):
    site = logged_in_site
    site.open("/notifications/channels/")
    site.wait_for(lambda: "Loading" not in site.text("#ch-list"), "the channel list to load")

    site.click("#ch-tg-form button[type=submit]")
    link = site.wait_element("#ch-tg-link")
    match = TELEGRAM_LINK.match(link.get_attribute("href"))
    assert match, link.get_attribute("href")
    assert link.text == link.get_attribute("href")
    token = site.text("#ch-tg-token")
    assert token and match.group(2) == token  # the code shown is the link's start token
    assert site.text("#ch-tg-result").endswith("KST)")  # valid until, in Asia/Seoul with its zone

    # the page and the API agree: one Telegram channel, waiting for /start
    channels = site.fetch_json("GET", "/api/v1/notification-channels/")
    assert channels["status"] == 200, channels
    rows = channels["data"] if isinstance(channels["data"], list) else channels["data"]["results"]
    assert [c["kind"] for c in rows if c["kind"] == "telegram"] == ["telegram"]
    site.wait_for(
        lambda: "waiting for /start" in site.text("#ch-list li[data-kind='telegram']"), "the waiting Telegram row"
    )


def test_adding_an_email_opens_the_code_form_and_the_mailed_code_verifies_it(logged_in_site):
    site = logged_in_site
    address = "channels-browser@example.com"
    site.open("/notifications/channels/")
    site.wait_for(lambda: "Loading" not in site.text("#ch-list"), "the channel list to load")
    assert not site.find("#ch-verify-form").is_displayed()

    site.type("#ch-email-form input[name=address]", address)
    site.js("document.querySelector('#ch-email-form select[name=language]').value = 'en'")
    site.click("#ch-email-form button[type=submit]")
    site.wait_element("#ch-verify-form input[name=code]")  # the code form appears
    assert "code was sent" in site.text("#ch-email-result")
    row = "#ch-list li[data-kind='email']"
    site.wait_for(lambda: address in site.text(row) and "not verified" in site.text(row), "the unverified row")

    # a wrong code: the API's 400 names the field, the form stays open
    site.allow_console(r"/verify/ - Failed to load resource: the server responded with a status of 400")
    site.type("#ch-verify-form input[name=code]", "000000" if _mailed_code(site, address) != "000000" else "111111")
    site.click("#ch-verify-form button[type=submit]")
    site.wait_for(lambda: "code" in site.text("#ch-email-result.ch-error"), "the wrong-code error")
    assert site.find("#ch-verify-form").is_displayed()

    # the code the console email backend printed in the server's log
    site.type("#ch-verify-form input[name=code]", _mailed_code(site, address))
    site.click("#ch-verify-form button[type=submit]")
    site.wait_for(lambda: "Verified" in site.text("#ch-email-result.ch-ok"), "the verification")
    site.wait_for(lambda: "active" in site.text(row), "the email row to be active")
    assert not site.find("#ch-verify-form").is_displayed()


def _mailed_code(site, address: str) -> str:
    """The last code mailed to ``address``: the demo's console email backend writes to the log."""

    def code():
        log = site.server.log.read_text(errors="replace")
        found = re.findall(rf"To: {re.escape(address)}.*?Your code is (\d{{6}})\.", log, re.S)
        return found[-1] if found else None

    return site.wait_for(code, f"the code mailed to {address} in the server log")
