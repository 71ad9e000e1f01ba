"""The other pages in a real browser: login and sign-up, glossary search, predictions, API docs, 404."""

import re


def test_login_with_a_wrong_password_says_so_and_the_right_one_opens_the_portfolio(site):
    site.open("/accounts/login/")
    site.shot("login")
    site.type("#id_username", site.server.username)
    site.type("#id_password", "not-the-password")
    site.click("form[action='/accounts/login/'] button[type=submit]")
    assert "didn't match" in site.wait_element(".auth-panel .note").text  # headless Chromium asks for English
    assert site.path.startswith("/accounts/login/")

    site.login()
    assert site.path == "/portfolio/"
    assert site.text(".nav-user") == site.server.username

    # logging out from the portfolio: a request the page had in flight may come back 401 as it unloads
    site.allow_console(r"/api/v1/\S+ - Failed to load resource: the server responded with a status of 401")
    site.click("form.nav-form button[type=submit]")
    site.wait_for(lambda: site.path.split("#")[0] == "/", "the log-out to land on the board")
    site.wait_for(lambda: site.find_all("nav a[href='/accounts/login/']"), "the Log in link")
    assert not site.find_all(".nav-user")


def test_sign_up_creates_an_account_with_starting_cash_and_logs_in(site):
    site.open("/accounts/signup/")
    site.shot("signup")
    fields = [f.get_attribute("name") for f in site.find_all(".auth-panel form input:not([type=hidden])")]
    assert "username" in fields, fields
    values = {"username": "browser-user", "email": "browser-user@example.com"}
    for name in fields:
        value = values.get(name, "Corr3ct-horse-battery-42" if "password" in name else "")
        site.type(f".auth-panel form input[name='{name}']", value)
    site.click(".auth-panel form button[type=submit]")

    site.wait_for(lambda: site.path == "/portfolio/", "the sign-up to land on the portfolio")
    assert site.text(".nav-user") == "browser-user"
    site.wait_for(lambda: "KRW" in site.text("#pf-summary") and "USDT" in site.text("#pf-summary"), "both wallets")


def test_glossary_search_finds_terms_in_korean_and_english(site):
    site.open("/glossary/")
    total = len(site.find_all(".glossary-term"))
    assert total >= 20
    site.shot("glossary")

    site.type("#glossary-q", "slippage")
    site.click(".glossary-search button[type=submit]")
    site.wait_for(lambda: "q=slippage" in site.path, "the search to run")
    found = site.texts(".glossary-term h2")
    assert 1 <= len(found) < total
    assert any("slippage" in t.lower() for t in found), found
    assert site.text("#glossary-count").startswith(f"{len(found)} term")

    site.type("#glossary-q", "호가")
    site.click(".glossary-search button[type=submit]")
    site.wait_for(lambda: "q=" in site.path and "slippage" not in site.path, "the Korean search to run")
    assert any("호가" in t for t in site.texts(".glossary-term h2, .glossary-term dd"))

    site.type("#glossary-q", "zzzz-no-such-term")
    site.click(".glossary-search button[type=submit]")
    site.wait_for(lambda: "No term matches" in site.text(".glossary-list"), "the no-match message")


def test_discover_lists_the_model_picks_with_links_to_the_ticket(site):
    site.open("/predictions/")
    site.shot("discover")
    rows = site.find_all("table.board tbody tr")
    assert rows, "no picks on the discover page"
    trade_links = [a.get_attribute("href") for a in site.find_all("table.board tbody a[href*='/portfolio/']")]
    assert trade_links and all("instrument=" in href for href in trade_links)


def test_prediction_backtests_list_needs_login_and_shows_a_run_with_its_chart(site):
    site.open("/predictions/backtests/")
    assert site.path.startswith("/accounts/login/")  # the list is the user's own

    site.login()
    predictors = site.fetch_json("GET", "/api/v1/predictors/")
    assert predictors["status"] == 200, predictors
    model = predictors["data"]["results"][0]["name"]
    made = site.fetch_json(
        "POST",
        "/api/v1/prediction-backtests/",
        {"model": model, "start": "2025-01-02", "end": "2025-06-17", "top_n": 5},
    )
    assert made["status"] == 201, made

    site.open("/predictions/backtests/")
    site.shot("backtests")
    link = site.wait_element("table.board tbody a[href*='/predictions/backtests/']")
    assert link.text == model
    link.click()
    site.wait_for(lambda: re.search(r"/predictions/backtests/\d+/$", site.path), "the backtest's chart page")
    site.wait_for(lambda: site.find_all("canvas") or site.find_all("svg"), "the backtest chart")
    site.shot("backtest-chart")


def test_the_api_docs_render_under_the_content_security_policy(site):
    site.open("/api/docs/")
    site.wait_for(lambda: len(site.find_all(".swagger-ui .opblock")) >= 10, "the API operations")
    assert "tradesite" in site.text(".swagger-ui .info .title").lower()


def test_an_unknown_page_is_the_branded_404(site):
    site.allow_console(r"/no-such-page/ - Failed to load resource: the server responded with a status of 404")
    site.open("/no-such-page/")
    assert "Page not found" in site.text("main")
    assert site.find_all("header.site-header a.brand")
    site.shot("404")


def test_the_browsable_api_renders_under_the_content_security_policy_and_logs_in_and_out(site):
    site.open("/api/v1/")
    assert site.text(".page-header h1") == "Api Root"
    assert "/api/v1/tickers/" in site.text(".response-info pre")
    # its stylesheets applied (Bootstrap's navbar, the moved styles) and its scripts ran (prettify)
    assert site.js("return getComputedStyle(document.querySelector('.navbar')).minHeight") == "50px"
    site.wait_for(lambda: site.find_all(".response-info pre span.str"), "prettify to colour the response")
    site.shot("api-root")

    site.open("/api/v1/tickers/")
    assert site.find_all(".response-info pre") and site.find_all("form.button-form, .btn")
    site.click(".navbar a[href^='/api-auth/login/']")
    assert site.path.startswith("/api-auth/login/")
    site.type("#id_username", site.server.username)
    site.type("#id_password", site.server.password)
    site.submit(".drf-login-well form")
    assert site.path == "/api/v1/tickers/", site.path
    assert site.text(".navbar .dropdown-toggle") == site.server.username

    site.open("/api/v1/orders/")  # the POST form and the filters button with its modal
    assert site.find_all("#post-object-form form")
    assert site.js("return getComputedStyle(document.querySelector('.drf-float-right')).cssFloat") == "right"
    site.shot("api-orders")

    site.open("/api/v1/tickers/")
    site.click(".navbar .dropdown-toggle")
    site.submit("#logoutForm")  # the menu's log out: a form's button, no inline handler
    site.wait_for(lambda: site.find_all(".navbar a[href^='/api-auth/login/']"), "the Log in link after log-out")


def test_the_header_switch_changes_the_language_and_it_sticks(site):
    # headless Chromium asks for English whatever --lang says: English first, then Korean and back
    site.open("/glossary/")
    assert site.find("html").get_attribute("lang") == "en"
    assert site.text(".lang-switch button.current") == "English"
    site.click(".lang-switch button[value=ko]")
    site.wait_for(lambda: site.find("html").get_attribute("lang") == "ko", "the page in Korean")
    assert site.path.startswith("/glossary/")
    assert "초보자 용어 사전" in site.text("h1")
    site.open("/")  # the choice is kept (the django_language cookie)
    assert site.find("html").get_attribute("lang") == "ko" and site.text(".lang-switch button.current") == "한국어"
    assert site.text("nav a[href='/']") == "시세판"
    site.click(".lang-switch button[value=en]")
    site.wait_for(lambda: site.find("html").get_attribute("lang") == "en", "the page in English again")
