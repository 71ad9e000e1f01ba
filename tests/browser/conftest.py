"""The browser suite's fixtures: a live demo server (ASGI, WebSockets, the replay feed) on a fresh
SQLite database, headless Chromium through selenium, and the `site` page helper.

The suite runs when Debian's Chromium and chromedriver are installed (``/usr/bin/chromium``,
``/usr/bin/chromedriver``; override with ``CHROMIUM``, ``CHROMEDRIVER``), selenium is importable and
the chart library is in ``node_modules`` (``npm ci``); otherwise every test here is skipped with
the reason (also with ``BROWSER_TESTS=0``). Nothing downloads a browser: selenium is given both paths, so Selenium Manager never runs.

- ``demo_server`` (session): ``migrate``, ``load_demo_data``, ``create_demo_users`` on a temporary
  database, then ``manage.py serve`` (daphne, the demo's replay feeds and inline jobs) on a free port
  of ``BROWSER_TEST_PORTS`` (default 19100-19199); stopped by its pid at teardown.
- ``browser`` (session): one headless Chromium, 1280x800, its console log collected.
- ``site`` (per test): a `Site` on a clean browser (no cookies, no local storage); after the test it fails on any
  SEVERE console entry (a JS error, a CSP refusal, a failed request) the test did not allow.
- ``logged_in_site``: the same, logged in as the demo user through the login form.

``SCREENSHOTS=1`` saves each page's `Site.shot` into ``docs/screenshots/`` (PNG, 1280x800).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.browser.pages import Site

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
CHART_LIBRARY = REPO / "node_modules" / "lightweight-charts" / "dist" / "lightweight-charts.standalone.production.js"
SERVER_START_SECONDS = 90


def _missing() -> str | None:
    """Why the suite cannot run here, or None."""
    if os.environ.get("BROWSER_TESTS", "") == "0":
        return "BROWSER_TESTS=0"
    for path, what in ((CHROMIUM, "Chromium"), (CHROMEDRIVER, "chromedriver")):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            return f"{what} not found at {path} (apt-get install chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -r requirements-dev.txt)"
    if not CHART_LIBRARY.is_file():
        return f"the chart library is missing ({CHART_LIBRARY.relative_to(REPO)}: run npm ci)"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _missing()
    if reason is None:
        return
    here = Path(__file__).parent
    skip = pytest.mark.skip(reason=f"browser suite skipped: {reason}")
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(skip)


def _free_port() -> int:
    first, _, last = os.environ.get("BROWSER_TEST_PORTS", "19100-19199").partition("-")
    for port in range(int(first), int(last or first) + 1):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in BROWSER_TEST_PORTS={first}-{last}")


@dataclass(frozen=True)
class DemoServer:
    url: str  # "http://127.0.0.1:19100" (no trailing slash)
    database: Path  # the server's SQLite file, for reading what a test needs to know (the quiz answer)
    username: str
    password: str
    log: Path


def _run(args: list[str], env: dict[str, str], log) -> str:
    """Run one manage.py command for the server's database; returns its stdout, raises with the log."""
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )
    log.write(f"$ manage.py {' '.join(args)}\n{done.stdout}{done.stderr}\n")
    if done.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done.stdout


@pytest.fixture(scope="session")
def demo_server():
    """The demo as `make demo` starts it, on a temporary SQLite database and a free port."""
    work = Path(tempfile.mkdtemp(prefix="tradesite-browser-"))
    port = _free_port()
    # the demo's embedded default (SQLite, in-memory channel layer, eager Celery), also in CI's PostgreSQL run
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")}
    env |= {
        "SQLITE_PATH": str(work / "db.sqlite3"),
        "TRADESITE_VAR_DIR": str(work / "var"),
        "DEBUG": "0",
        "SECRET_KEY": f"browser-suite-{os.getpid()}-{time.time_ns()}",
        "PYTHONUNBUFFERED": "1",
    }
    log_path = work / "server.log"
    process = None
    with log_path.open("a") as log:
        _run(["migrate", "--noinput", "--verbosity", "0"], env, log)
        _run(["load_demo_data", "--verbosity", "0"], env, log)
        users = _run(["create_demo_users"], env, log)
        match = re.search(r"^\s*demo\s+password:\s*(\S+)", users, re.MULTILINE)
        assert match, f"create_demo_users printed no demo password:\n{users}"
        password = match.group(1)
    try:
        with log_path.open("a") as log:
            process = subprocess.Popen(
                [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port)],
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: teardown stops it and only it
            )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + SERVER_START_SECONDS
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"manage.py serve exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"manage.py serve did not answer /healthz in {SERVER_START_SECONDS}s")
            time.sleep(0.3)
        yield DemoServer(url=url, database=work / "db.sqlite3", username="demo", password=password, log=log_path)
    finally:
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # the group we started (start_new_session), by its pid
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        if os.environ.get("BROWSER_KEEP_LOG"):
            print(f"browser suite: server log kept in {log_path}")
        else:
            shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the session (Debian's binary and driver; nothing downloaded)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root in a container
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,800",
        "--lang=ko-KR,ko,en-US,en",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    # the viewport itself 1280x800 (--window-size counts the window), so pages and screenshots are that size
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride", {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False}
    )
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def site(demo_server, browser):
    """A `Site` on a clean browser (no cookies, no local storage: the portfolio keeps its amounts
    toggle there); fails the test on SEVERE console entries it did not allow."""
    browser.execute_cdp_cmd("Network.clearBrowserCookies", {})
    browser.execute_cdp_cmd(
        "Storage.clearDataForOrigin", {"origin": demo_server.url, "storageTypes": "local_storage,session_storage"}
    )
    page = Site(driver=browser, server=demo_server)
    page.console_drain()  # whatever the previous test left
    yield page
    try:
        page.console_drain()
    finally:
        browser.get("about:blank")  # closes the page, its sockets and timers, before the next test
    page.assert_console_clean()


@pytest.fixture
def logged_in_site(site):
    site.login()
    return site
