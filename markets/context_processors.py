"""Template context: the demo clock for the header of every page (``base.html``)."""

from markets.clock import clock_payload


def demo_clock(request) -> dict:
    """``{"demo_clock": payload}`` with ``markets.clock.clock_payload()`` in a replay, else
    ``{"demo_clock": None}`` (production: the header shows nothing)."""
    payload = clock_payload()
    return {"demo_clock": payload if payload["mode"] == "replay" else None}
