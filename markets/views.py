from django.conf import settings
from django.shortcuts import render

from markets import selectors

TOP_BY_MARKET_CAP = 25


def board(request):
    """The live top-20 board, a candlestick chart, and the 25 largest KOSPI and KOSDAQ stocks by
    market cap (templates/markets/board.html)."""
    return render(
        request,
        "markets/board.html",
        {
            "board_size": settings.MARKETS["BOARD_SIZE"],
            "default_interval": "1d",
            "top_size": TOP_BY_MARKET_CAP,
            "top_markets": [
                (market, list(selectors.instrument_top(market=market, limit=TOP_BY_MARKET_CAP)))
                for market in ("KOSPI", "KOSDAQ")
            ],
        },
    )
