"""`Site`: what a browser test does on tradesite, as a user would, in a few words.

    site.open("/quiz/")                       # load a page (waits for the document)
    site.login()                              # the login form, as the demo user
    site.wait_for(lambda: site.text("#x"), "the x to show")   # poll until truthy, or fail saying what
    site.click("#button"); site.type("#field", "1.5")
    site.set_value("#id_start", "2025-01-02") # a date or select field, as its widget would set it
    site.shot("quiz")                         # docs/screenshots/quiz.png when SCREENSHOTS=1
    site.allow_console(r"status of 404")      # a SEVERE console entry this test expects

Every SEVERE console entry (a JS exception, a CSP refusal, a failed request) fails the test
unless allowed; `console_errors()` returns them so far.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.remote.webelement import WebElement

    from tests.browser.conftest import DemoServer

T = TypeVar("T")
SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
DEFAULT_TIMEOUT = float(os.environ.get("BROWSER_TIMEOUT", "15"))


class Site:
    def __init__(self, *, driver: WebDriver, server: DemoServer):
        self.driver = driver
        self.server = server
        self.console: list[dict[str, Any]] = []  # every console entry of this test
        self._allowed: list[re.Pattern[str]] = []

    # ---------------------------------------------------------------- navigation

    def url(self, path: str) -> str:
        return self.server.url + path

    def open(self, path: str) -> None:
        """Load ``path`` and wait for the document (scripts then run on their own: wait_for them)."""
        self.driver.get(self.url(path))
        self.wait_for(
            lambda: self.driver.execute_script("return document.readyState") == "complete", "the page to load"
        )
        self.console_drain()

    @property
    def path(self) -> str:
        current = self.driver.current_url
        return current[len(self.server.url) :] if current.startswith(self.server.url) else current

    def login(self, username: str | None = None, password: str | None = None) -> None:
        """Log in through the login form (the demo user by default); lands on the portfolio."""
        self.open("/accounts/login/")
        self.type("#id_username", username or self.server.username)
        self.type("#id_password", password or self.server.password)
        self.click("form[action='/accounts/login/'] button[type=submit]")
        self.wait_for(lambda: not self.path.startswith("/accounts/login/"), "the login to leave the login page")

    def sign_up(self, username: str, password: str = "Corr3ct-horse-battery-42") -> None:
        """Make a new account through the sign-up form (a user of the test's own, so what it
        changes touches no other test); lands on the portfolio, logged in."""
        self.open("/accounts/signup/")
        for node in self.find_all(".auth-panel form input:not([type=hidden])"):
            name = node.get_attribute("name")
            value = {"username": username, "email": f"{username}@example.com"}.get(name, "")
            node.clear()
            node.send_keys(password if "password" in name else value)
        self.click(".auth-panel form button[type=submit]")
        self.wait_for(lambda: self.path == "/portfolio/", "the sign-up to land on the portfolio")

    # ------------------------------------------------------------------ elements

    def find(self, css: str) -> WebElement:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str) -> list[WebElement]:
        from selenium.webdriver.common.by import By

        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def wait_element(self, css: str, *, visible: bool = True, timeout: float = DEFAULT_TIMEOUT) -> WebElement:
        """The first element matching ``css`` (displayed, by default), waiting for it."""

        def ready():
            for node in self.find_all(css):
                if not visible or node.is_displayed():
                    return node
            return None

        return self.wait_for(ready, f"{css} to appear", timeout=timeout)

    def text(self, css: str) -> str:
        """The visible text of the first element matching ``css``, "" when there is none."""
        nodes = self.find_all(css)
        return nodes[0].text.strip() if nodes else ""

    def texts(self, css: str) -> list[str]:
        return [node.text.strip() for node in self.find_all(css)]

    def click(self, css: str) -> None:
        """Click the first displayed element matching ``css``, again if a re-render replaced it."""

        def clicked():
            self.wait_element(css).click()
            return True

        self.wait_for(clicked, f"{css} to be clickable")

    def type(self, css: str, value: str, *, clear: bool = True) -> None:
        node = self.wait_element(css)
        if clear:
            node.clear()
        node.send_keys(value)

    def set_value(self, css: str, value: str) -> None:
        """Set a field's value as its widget would (a date picker, a select) and fire its
        ``input`` and ``change`` events; fails when the field did not take it (a select option
        that does not exist)."""
        node = self.wait_element(css)
        taken = self.js(
            "const [node, value] = arguments; node.value = value;"
            "node.dispatchEvent(new Event('input', {bubbles: true}));"
            "node.dispatchEvent(new Event('change', {bubbles: true})); return node.value;",
            node,
            value,
        )
        assert taken == value, f"{css} did not take {value!r} (it holds {taken!r})"

    def submit(self, form_css: str) -> None:
        """Press the submit button of a form and wait for the next page to load."""
        old = self.find("html")
        self.click(f"{form_css} [type=submit]")
        self.wait_for(lambda: _stale(old), f"{form_css} to submit")
        self.wait_for(
            lambda: self.driver.execute_script("return document.readyState") == "complete", "the page to load"
        )

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def fetch_json(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        """Call the API from the page, as its scripts do (session cookie, CSRF header); returns
        ``{"status": int, "data": parsed JSON or None}``. For setting up state no page offers yet."""
        return self.driver.execute_async_script(
            """
            const [method, path, body, done] = arguments;
            const token = (document.cookie.match(/(?:^|;\\s*)csrftoken=([^;]+)/) || [])[1] || "";
            fetch(path, {method, credentials: "same-origin",
                         headers: {"Accept": "application/json", "Content-Type": "application/json",
                                   "X-CSRFToken": decodeURIComponent(token)},
                         body: body === null ? undefined : JSON.stringify(body)})
              .then(async (r) => done({status: r.status, data: await r.json().catch(() => null)}))
              .catch((e) => done({status: 0, data: String(e)}));
            """,
            method,
            path,
            body,
        )

    def fetch_text(self, path: str) -> dict[str, Any]:
        """GET ``path`` from the page (its cookies); returns ``{"status", "type", "text"}``
        (``type``: the Content-Type header)."""
        return self.driver.execute_async_script(
            """
            const [path, done] = arguments;
            fetch(path, {credentials: "same-origin"})
              .then(async (r) => done({status: r.status, type: r.headers.get("Content-Type"), text: await r.text()}))
              .catch((e) => done({status: 0, type: null, text: String(e)}));
            """,
            path,
        )

    # ------------------------------------------------------------------- waiting

    def wait_for(
        self, condition: Callable[[], T], what: str, *, timeout: float = DEFAULT_TIMEOUT, interval: float = 0.1
    ) -> T:
        """Poll ``condition`` until it returns something truthy and return that; fail after
        ``timeout`` seconds saying what was awaited (and the last error the condition raised)."""
        from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while True:
            try:
                value = condition()
                if value:
                    return value
            except (StaleElementReferenceException, WebDriverException, LookupError, ValueError) as exc:
                last_error = exc  # the page is re-rendering: try again
            if time.monotonic() > deadline:
                detail = f" (last error: {last_error!r})" if last_error else ""
                raise AssertionError(f"timed out after {timeout:g}s waiting for {what} on {self.path}{detail}")
            time.sleep(interval)

    # ------------------------------------------------------------------- console

    def allow_console(self, pattern: str) -> None:
        """Let SEVERE console entries matching ``pattern`` (a regex) pass for this test."""
        self._allowed.append(re.compile(pattern))

    def console_drain(self) -> list[dict[str, Any]]:
        """Move the browser's new console entries into ``self.console``; returns them."""
        entries = self.driver.get_log("browser")
        self.console.extend(entries)
        return entries

    def console_errors(self) -> list[str]:
        """SEVERE console messages so far that no `allow_console` pattern matches."""
        self.console_drain()
        return [
            e["message"]
            for e in self.console
            if e.get("level") == "SEVERE" and not any(p.search(e["message"]) for p in self._allowed)
        ]

    def assert_console_clean(self) -> None:
        errors = self.console_errors()
        assert not errors, "SEVERE browser console entries:\n" + "\n".join(errors)

    # --------------------------------------------------------------- screenshots

    def shot(self, name: str, *, scroll_to: str | None = None) -> Path | None:
        """With SCREENSHOTS=1, save the viewport as docs/screenshots/<name>.png (1280x800, about
        40-160 KB), scrolled to the top or to show ``scroll_to`` (a CSS selector); otherwise nothing."""
        if os.environ.get("SCREENSHOTS", "") not in ("1", "true", "yes"):
            return None
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOT_DIR / f"{name}.png"
        self.js(
            "const node = arguments[0] && document.querySelector(arguments[0]);"
            "if (node) node.scrollIntoView({block: 'center'}); else window.scrollTo(0, 0);"
            "if (document.activeElement && document.activeElement.blur) document.activeElement.blur();",
            scroll_to,
        )
        png = self.driver.get_screenshot_as_png()
        path.write_bytes(png)
        return path


def _stale(node: WebElement) -> bool:
    """True once ``node`` has left the document (the page it was on was replaced)."""
    from selenium.common.exceptions import StaleElementReferenceException

    try:
        node.is_enabled()
    except StaleElementReferenceException:
        return True
    return False
