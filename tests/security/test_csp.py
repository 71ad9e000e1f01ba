"""Issue 12: a Content-Security-Policy without inline scripts or styles on every page, and the
pages carry no inline ``<script>`` code, ``<style>`` block or ``style=""`` attribute."""

import re

import pytest
from django.conf import settings
from django.test import Client

from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)


@pytest.fixture
def logged_in():
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def _policy(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.strip() for part in header.split(";") if part.strip()}


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/portfolio/",
        "/quiz/",
        "/glossary/",
        "/accounts/login/",
        "/accounts/signup/",
        "/predictions/",
        "/notifications/channels/",
        "/alerts/",
        "/admin/",
        "/api/docs/",
    ],
)
def test_pages_render_with_a_policy_that_forbids_inline_code(logged_in, path):
    response = logged_in.get(path, follow=True)

    assert response.status_code == 200
    policy = _policy(response)
    assert policy["script-src"] == "script-src 'self'"
    # 'self' and the hash of lightweight-charts' attribution-logo style, nothing else
    assert policy["style-src"] == f"style-src 'self' {settings.LIGHTWEIGHT_CHARTS_LOGO_STYLE}"
    assert policy["object-src"] == "object-src 'none'"
    assert "unsafe-inline" not in response["Content-Security-Policy"]


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/portfolio/",
        "/quiz/",
        "/glossary/",
        "/accounts/login/",
        "/accounts/signup/",
        "/predictions/",
        "/notifications/channels/",
        "/alerts/",
        "/api/docs/",
    ],
)
def test_site_pages_have_no_inline_scripts_or_styles(logged_in, path):
    html = logged_in.get(path, follow=True).content.decode()

    assert not INLINE_SCRIPT.search(html), INLINE_SCRIPT.search(html)
    assert "<style" not in html
    assert " style=" not in html


def test_the_quiz_page_loads_its_script_and_stylesheet_from_static(logged_in):
    html = logged_in.get("/quiz/").content.decode()

    assert 'src="/static/quiz/quiz.js"' in html
    assert 'href="/static/quiz/quiz.css"' in html
    assert logged_in.get("/static/quiz/quiz.js").status_code == 200


def test_the_api_keeps_the_policy_header_and_its_other_security_headers(logged_in):
    response = logged_in.get("/api/v1/instruments/")

    assert "Content-Security-Policy" in response
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"


INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)


@pytest.mark.parametrize(
    "path", ["/api/v1/", "/api/v1/tickers/", "/api/v1/orders/", "/api/v1/bots/", "/api-auth/login/"]
)
def test_the_browsable_api_pages_have_no_inline_code_styles_or_handlers(logged_in, path):
    """DRF's own templates carry a pygments <style>, style= attributes and an onclick log-out;
    templates/rest_framework/ overrides them with static files."""
    response = logged_in.get(path, HTTP_ACCEPT="text/html")

    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert not INLINE_SCRIPT.search(html), INLINE_SCRIPT.search(html)
    assert not INLINE_HANDLER.search(html), INLINE_HANDLER.search(html)
    assert "<style" not in html and " style=" not in html
    assert 'href="/static/tradesite/drf.css"' in html


def test_the_browsable_apis_code_style_is_the_static_file_drf_would_have_inlined(logged_in):
    from rest_framework.compat import pygments_css
    from rest_framework.renderers import BrowsableAPIRenderer

    html = logged_in.get("/api/v1/", HTTP_ACCEPT="text/html").content.decode()
    inline = pygments_css(BrowsableAPIRenderer.code_style)
    if inline is None:
        assert "drf_code.css" not in html  # no pygments or markdown: DRF has no code style either
        return
    assert 'href="/static/tradesite/drf_code.css"' in html
    stored = (settings.BASE_DIR / "tradesite" / "static" / "tradesite" / "drf_code.css").read_text()
    assert inline.strip() in stored  # regenerate the file when pygments' "emacs" style changes
