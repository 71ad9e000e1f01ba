"""The OpenAPI schema says what each endpoint returns, errors included (``core.schema``)."""

import pytest
from drf_spectacular.generators import SchemaGenerator


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def statuses(schema, path, method):
    return set(schema["paths"][path][method]["responses"])


def test_an_order_post_documents_its_refusals_in_the_error_shape(schema):
    found = statuses(schema, "/api/v1/orders/", "post")
    assert {"200", "201", "400", "401", "409"} <= found
    body = schema["paths"]["/api/v1/orders/"]["post"]["responses"]["409"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/Error"}
    assert set(schema["components"]["schemas"]["ErrorDetail"]["properties"]) == {"code", "message", "fields"}


def test_detail_paths_document_404_and_public_reads_no_401(schema):
    assert "404" in statuses(schema, "/api/v1/orders/{id}/", "get")
    assert "401" not in statuses(schema, "/api/v1/instruments/", "get")
    assert "401" in statuses(schema, "/api/v1/account/", "get")


def test_account_and_portfolio_are_documented_as_the_objects_they_return(schema):
    account = schema["paths"]["/api/v1/account/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    portfolio = schema["paths"]["/api/v1/portfolio/"]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"
    ]
    assert account == {"$ref": "#/components/schemas/Account"}
    assert portfolio == {"$ref": "#/components/schemas/Portfolio"}
    assert set(schema["components"]["schemas"]["Portfolio"]["properties"]) == {"positions", "totals"}


def test_candles_are_documented_as_the_page_object_they_return(schema):
    ok = schema["paths"]["/api/v1/instruments/{id}/candles/"]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"
    ]
    assert ok == {"$ref": "#/components/schemas/CandlePage"}
    assert set(schema["components"]["schemas"]["CandlePage"]["properties"]) == {
        "instrument",
        "interval",
        "intervals",
        "now",
        "count",
        "results",
    }


@pytest.mark.django_db
def test_taker_volume_is_documented_as_the_object_it_returns(client, schema):
    ok = schema["paths"]["/api/v1/taker-volume/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/TakerVolumePage"}
    documented = set(schema["components"]["schemas"]["TakerVolumePage"]["properties"])
    answered = client.get("/api/v1/taker-volume/", {"exchange": "bithumb"}).json()
    assert documented == set(answered)  # found by schemathesis: it was documented as an array


def test_a_telegram_channels_empty_address_is_not_documented_as_an_email(schema):
    address = schema["components"]["schemas"]["NotificationChannel"]["properties"]["address"]
    assert address["type"] == "string" and "format" not in address
