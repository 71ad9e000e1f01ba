"""Every paginated list refuses a bad ``limit``/``offset`` with a 400 naming it (never a 500,
never silently ignored) and caps ``limit`` at 1,000."""

import pytest

LISTS = [
    "/api/v1/instruments/", "/api/v1/orders/", "/api/v1/fills/", "/api/v1/positions/", "/api/v1/bots/",
    "/api/v1/backtests/", "/api/v1/predictors/", "/api/v1/predictions/", "/api/v1/prediction-backtests/",
    "/api/v1/alerts/", "/api/v1/notifications/",
]
BAD = {
    "limit": ["-1", "abc", "0", str(2**63), "1001", "1_0", "１０", " 5", "5.0"],
    "offset": ["-1", "x", str(2**63), "1e3"],
}


@pytest.mark.django_db
@pytest.mark.parametrize("url", LISTS)
@pytest.mark.parametrize("param,value", [(p, v) for p, values in BAD.items() for v in values])
def test_a_bad_limit_or_offset_is_a_400_naming_the_parameter(auth_client, url, param, value):
    response = auth_client.get(url, {param: value})

    assert response.status_code == 400, response.content
    assert list(response.json()["error"]["fields"]) == [param]


@pytest.mark.django_db
@pytest.mark.parametrize("url", LISTS)
def test_the_largest_limit_and_an_offset_past_the_end_are_served(auth_client, url):
    response = auth_client.get(url, {"limit": "1000", "offset": "1000000"})

    assert response.status_code == 200, response.content
    assert response.json()["results"] == []
