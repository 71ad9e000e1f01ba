"""ETL settings: ``settings.ETL`` (a dict) over the environment over the defaults.

* ``LIVE_PAIRS`` (env ``ETL_LIVE_PAIRS``): the pairs the beat entry extracts each minute,
  ``"exchange:symbol,..."`` with API exchange names (``binance:BTCUSDT,bitmex:XBTUSD``);
* ``STAGING_RETENTION_DAYS`` (env ``ETL_STAGING_RETENTION_DAYS``): how long the raw trades of
  completed minutes stay in ``StagedTrade``;
* ``MAX_PAGES`` (env ``ETL_MAX_PAGES``): requests one live run may make per pair;
* ``BINANCE_API_KEY`` (env ``BINANCE_API_KEY``): enables Binance ``historicalTrades`` paging.
  A public-data key is enough; it never leaves the process.
"""

import os

from django.conf import settings

from etl.pairs import Pair, get_pair

DEFAULTS = {
    "LIVE_PAIRS": "binance:BTCUSDT,bybit:BTCUSDT,bitmex:XBTUSD,bithumb:BTC_KRW",
    "STAGING_RETENTION_DAYS": 3,
    "MAX_PAGES": 20,
    "BINANCE_API_KEY": "",
}
ENV = {
    "LIVE_PAIRS": "ETL_LIVE_PAIRS",
    "STAGING_RETENTION_DAYS": "ETL_STAGING_RETENTION_DAYS",
    "MAX_PAGES": "ETL_MAX_PAGES",
    "BINANCE_API_KEY": "BINANCE_API_KEY",
}


def etl_setting(name: str):
    configured = getattr(settings, "ETL", {}) or {}
    if name in configured:
        return configured[name]
    value = os.environ.get(ENV[name])
    if value is None or value == "":
        return DEFAULTS[name]
    return type(DEFAULTS[name])(value)


def live_pairs() -> list[Pair]:
    """The configured live pairs; ``UnknownPair`` (a ValueError) for a bad entry."""
    value = etl_setting("LIVE_PAIRS")
    items = value.split(",") if isinstance(value, str) else list(value)
    pairs = []
    for item in (i.strip() for i in items):
        if item:
            exchange, _, symbol = item.partition(":")
            pairs.append(get_pair(exchange, symbol or None))
    return pairs
