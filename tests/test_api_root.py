"""``GET /api/v1/`` lists every endpoint (tradesite.api_root)."""

from django.urls import URLPattern, URLResolver, get_resolver

API = "/api/v1/"


def get_routes_without_arguments():
    """Every route under /api/v1/ answering GET with no URL argument, read from the resolver."""
    api = next(p for p in get_resolver().url_patterns if isinstance(p, URLResolver) and str(p.pattern) == "api/v1/")

    def walk(patterns, prefix):
        for entry in patterns:
            if entry.pattern.regex.groups:
                continue
            route = prefix + str(entry.pattern).lstrip("^").rstrip("$")
            if isinstance(entry, URLResolver):
                yield from walk(entry.url_patterns, route)
            elif isinstance(entry, URLPattern):
                callback = entry.callback
                actions = getattr(callback, "actions", None)
                view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
                if (actions and "get" in actions) or (actions is None and hasattr(view_class, "get")):
                    yield route

    return set(walk(api.url_patterns, API))


def test_the_root_lists_every_get_route_under_api_v1_as_an_absolute_url(api_client):
    response = api_client.get(API)

    assert response.status_code == 200
    listed = response.json()
    routes = get_routes_without_arguments()
    assert API in routes  # the root itself, not listed in itself
    routes.discard(API)
    assert {f"http://testserver{route}" for route in routes} <= set(listed.values())
    for key in ("instruments", "auth/token", "account", "portfolio", "taker-volume", "status", "glossary", "tickers"):
        assert listed[key] == f"http://testserver{API}{key}/"
    for key in ("alerts", "notifications", "bots", "backtests", "predictions", "prediction-backtests", "quiz/next"):
        assert key in listed
    assert len(routes) > 20


def test_the_root_leaves_out_routes_that_need_an_argument(api_client):
    listed = api_client.get(API).json()

    assert not any("<" in url or "(?P" in url or "{" in url for url in listed.values())
    assert "" not in listed
