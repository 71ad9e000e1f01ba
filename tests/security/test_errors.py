"""Issue 12: JSON depth bounded at parse; the API error shape for 404, 405, 413 and 500 on /api/
paths, HTML pages keep HTML."""

import json

import pytest
from channels.testing import HttpCommunicator
from django.test import Client, override_settings
from rest_framework.test import APIClient

from core.parsers import MAX_JSON_DEPTH, json_depth_exceeds
from trading.models import Order

pytestmark = pytest.mark.django_db


def _shape(response, status, code=None):
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"code", "message", "fields"}
    if code:
        assert error["code"] == code
    return error


def _nested(depth):
    return "[" * depth + "]" * depth


def test_a_body_nested_50000_deep_is_400_and_places_nothing(auth_client, btc):
    body = f'{{"instrument": {btc.pk}, "side": "buy", "type": "market", "quantity": "1", "x": {_nested(50_000)}}}'
    response = auth_client.post("/api/v1/orders/", data=body, content_type="application/json")

    _shape(response, 400, "parse_error")
    assert Order.objects.count() == 0


def test_depth_limit_counts_brackets_outside_strings_only():
    assert not json_depth_exceeds(_nested(MAX_JSON_DEPTH))
    assert json_depth_exceeds(_nested(MAX_JSON_DEPTH + 1))
    assert not json_depth_exceeds(json.dumps({"s": "[" * 1000 + '\\"{{{'}))
    assert json_depth_exceeds('{"a": ' * (MAX_JSON_DEPTH + 1) + "1" + "}" * (MAX_JSON_DEPTH + 1))


def test_a_body_at_the_depth_limit_still_parses(auth_client, btc):
    inner = _nested(MAX_JSON_DEPTH - 1)
    body = f'{{"instrument": {btc.pk}, "side": "buy", "type": "market", "quantity": "0.0001", "x": {inner}}}'
    response = auth_client.post("/api/v1/orders/", data=body, content_type="application/json")
    assert response.status_code in (200, 201), response.content[:300]


def test_unknown_api_url_is_404_in_the_error_shape(api_client):
    _shape(api_client.get("/api/v1/no-such-thing/"), 404, "not_found")


def test_unknown_page_keeps_html(api_client):
    response = Client().get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_wrong_method_is_405_in_the_error_shape(auth_client):
    error = _shape(auth_client.delete("/api/v1/instruments/"), 405)
    assert error["code"] == "method_not_allowed"


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_a_body_over_the_limit_is_413_in_the_error_shape(auth_client, btc):
    body = json.dumps({"instrument": btc.pk, "side": "buy", "type": "market", "quantity": "1", "pad": "x" * 5000})
    _shape(auth_client.post("/api/v1/orders/", data=body, content_type="application/json"), 413, "request_too_large")
    assert Order.objects.count() == 0


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_asgi_413_before_any_view_is_in_the_error_shape():
    from tradesite.asgi import django_asgi_app

    body = b'{"pad": "' + b"x" * 5000 + b'"}'
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    response = await HttpCommunicator(
        django_asgi_app, "POST", "/api/v1/orders/", body=body, headers=headers
    ).get_response()
    assert response["status"] in (400, 413)
    error = json.loads(response["body"])["error"]
    assert set(error) == {"code", "message", "fields"}


def test_an_uncaught_exception_is_500_in_the_error_shape(monkeypatch):
    from markets import selectors

    def boom(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(selectors, "ticker_top", boom)
    client = APIClient(raise_request_exception=False)
    error = _shape(client.get("/api/v1/tickers/"), 500, "server_error")
    assert "boom" not in error["message"]


def test_an_uncaught_exception_on_a_page_keeps_html(monkeypatch):
    from trading import views

    monkeypatch.setattr(views, "render", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
    response = Client(raise_request_exception=False).get("/portfolio/")
    assert response.status_code in (302, 500)
    assert not response["Content-Type"].startswith("application/json")
