"""Branded 404 and 500 pages and the favicon (templates/404.html, templates/500.html,
tradesite/static/tradesite/favicon.svg); /api/ paths keep the API error shape."""

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.test import Client, RequestFactory

from core.errors import handler500


def _no_inline_code(html: str) -> None:
    assert "style=" not in html
    assert "<script" not in html


@pytest.mark.django_db
def test_an_unknown_page_is_the_branded_404_in_korean_and_english():
    assert settings.DEBUG is False
    response = Client().get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "Page not found" in html
    korean = Client().get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "페이지를 찾을 수 없습니다" in korean
    assert 'class="site-header"' in html  # extends base.html
    assert 'rel="icon"' in html
    _no_inline_code(html)
    assert "Content-Security-Policy" in response


@pytest.mark.django_db
def test_an_unknown_api_url_keeps_the_api_error_shape():
    response = Client().get("/api/v1/no-such-thing/")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.django_db
def test_an_uncaught_exception_on_a_page_is_the_branded_500(monkeypatch):
    from markets import selectors

    def boom(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(selectors, "instrument_top", boom)
    response = Client(raise_request_exception=False).get("/")

    assert response.status_code == 500
    html = response.content.decode()
    assert "Server error" in html
    korean = Client(raise_request_exception=False).get("/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "서버 오류" in korean
    assert "boom" not in html
    _no_inline_code(html)


def test_the_500_page_renders_without_the_database():
    # no django_db mark: any query here fails the test
    response = handler500(RequestFactory().get("/portfolio/"))

    assert response.status_code == 500
    assert "Server error" in response.content.decode()


def test_the_500_on_an_api_path_keeps_the_api_error_shape():
    response = handler500(RequestFactory().get("/api/v1/tickers/"))

    assert response.status_code == 500
    assert response["Content-Type"].startswith("application/json")


@pytest.mark.django_db
def test_favicon_ico_redirects_to_the_svg_icon_which_is_served():
    response = Client().get("/favicon.ico")

    assert response.status_code == 301
    assert response["Location"] == "/static/tradesite/favicon.svg"
    served = Client().get(response["Location"])
    assert served.status_code == 200
    assert served["Content-Type"].startswith("image/svg+xml")
    path = finders.find("tradesite/favicon.svg")
    assert path is not None
    with open(path, encoding="utf-8") as icon:
        assert icon.read().startswith("<svg")


@pytest.mark.django_db
def test_every_page_links_the_favicon():
    html = Client().get("/accounts/login/").content.decode()

    assert '<link rel="icon" href="/static/tradesite/favicon.svg" type="image/svg+xml">' in html
