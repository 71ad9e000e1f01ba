"""Market-data sources: live exchanges via ccxt, or a replay of recorded real data.

Use ``get_source(name, **kwargs)``:

* ``get_source("replay", dataset="upbit_top20", data_dir=...)`` -> ``ReplaySource``
* ``get_source("bithumb" | "upbit" | "binanceusdm" | "bybit", **kwargs)`` -> ``CcxtSource``
* ``get_source("ws", exchange="upbit", **kwargs)`` -> ``WsSource`` (the exchange's WebSocket,
  REST polling only while it is down; ``ws_source``, ``ws_protocols``)

No Django imports in this package (it runs in scripts and database-free tests).
"""

from markets.exchanges import ccxt_rest_ids

from .base import (
    INTERVALS,
    Bar,
    InstrumentInfo,
    MarketSource,
    SourceError,
    TickerSnapshot,
)
from .replay import DATASETS, ReplaySource

CCXT_EXCHANGES = ccxt_rest_ids()  # the venue registry, markets/exchanges.py

__all__ = [
    "CCXT_EXCHANGES",
    "DATASETS",
    "INTERVALS",
    "Bar",
    "CcxtSource",
    "InstrumentInfo",
    "MarketSource",
    "ReplaySource",
    "SourceError",
    "TickerSnapshot",
    "get_source",
]


def __getattr__(name: str):
    # ``CcxtSource`` is imported on first use: ccxt takes about 0.4 s to import, and importing
    # the project (``django.setup()``) must not pay for it
    if name == "CcxtSource":
        from .ccxt_source import CcxtSource

        return CcxtSource
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def get_source(name: str, **kwargs) -> MarketSource:
    """Build the source called ``name``; ``kwargs`` go to its constructor.

    ``ValueError`` for an unknown name.
    """
    if name == "replay":
        return ReplaySource(**kwargs)
    if name in CCXT_EXCHANGES:
        from .ccxt_source import CcxtSource

        return CcxtSource(name, **kwargs)
    if name == "ws":
        from .ws_source import WsSource

        return WsSource(kwargs.pop("exchange"), **kwargs)
    raise ValueError(f"unknown market source {name!r}; expected 'replay', 'ws' or one of {', '.join(CCXT_EXCHANGES)}")
