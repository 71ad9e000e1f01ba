"""Market-data sources: live exchanges via ccxt, or a replay of recorded real data.

Use ``get_source(name, **kwargs)``:

* ``get_source("replay", dataset="upbit_top20", data_dir=...)`` -> ``ReplaySource``
* ``get_source("bithumb" | "upbit" | "binanceusdm" | "bybit", **kwargs)`` -> ``CcxtSource``

No Django imports in this package (it runs in scripts and database-free tests).
"""

from .base import (
    INTERVALS,
    Bar,
    InstrumentInfo,
    MarketSource,
    SourceError,
    TickerSnapshot,
)
from .ccxt_source import CcxtSource
from .replay import DATASETS, ReplaySource

CCXT_EXCHANGES = ("bithumb", "upbit", "binanceusdm", "bybit")

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


def get_source(name: str, **kwargs) -> MarketSource:
    """Build the source called ``name``; ``kwargs`` go to its constructor.

    ``ValueError`` for an unknown name.
    """
    if name == "replay":
        return ReplaySource(**kwargs)
    if name in CCXT_EXCHANGES:
        return CcxtSource(name, **kwargs)
    raise ValueError(f"unknown market source {name!r}; expected 'replay' or one of {', '.join(CCXT_EXCHANGES)}")
