from django.conf import settings
from django.shortcuts import render

from markets import selectors
from markets.calendars import SEOUL

TOP_BY_MARKET_CAP = 25


def board(request):
    """The live board (up to ``MARKETS["BOARD_SIZE"]`` KRW tickers; the heading says how many it
    shows and whether they are ranked by traded value), a candlestick chart, and the 25 largest
    KOSPI and KOSDAQ stocks by market cap (templates/markets/board.html)."""
    rows = list(selectors.ticker_top(limit=settings.MARKETS["BOARD_SIZE"]).values_list("traded_value_24h", flat=True))
    return render(
        request,
        "markets/board.html",
        {
            "board_size": settings.MARKETS["BOARD_SIZE"],
            "board_count": len(rows),
            "board_valued": sum(value is not None for value in rows),
            "default_interval": "1d",
            "top_size": TOP_BY_MARKET_CAP,
            "top_markets": [
                (market, list(selectors.instrument_top(market=market, limit=TOP_BY_MARKET_CAP)))
                for market in ("KOSPI", "KOSDAQ")
            ],
        },
    )


def derivatives(request):
    """KOSPI200 derivatives, read-only: the front future live (last, change, best bid/ask, a
    1-minute chart from the ticks) and its monthly option chain around the money (calls and puts
    by strike: last, change, volume, open interest, greeks, implied volatility), from the tick
    store (markets/templates/markets/derivatives.html). Derivatives are not paper-traded."""
    from django.utils import timezone

    from markets.clock import demo_clock, kis_replay_info

    today = timezone.now().astimezone(SEOUL).date()
    atm_strikes = int(settings.KIS_REALTIME.get("ATM_STRIKES", 5))
    # the demo: the recorded KIS session looping on the clock (the board stands at its instant)
    replay = kis_replay_info()
    demo = demo_clock() is not None
    board = selectors.derivatives_board(today=today, atm_strikes=atm_strikes, until=replay["now"] if replay else None)
    future = board["future"]
    live = {
        "future": f"{future.exchange}:{future.symbol}" if future else None,
        "options": [
            f"{cell['instrument'].exchange}:{cell['instrument'].symbol}"
            for row in board["rows"]
            for cell in (row["call"], row["put"])
            if cell
        ],
    }
    return render(
        request,
        "markets/derivatives.html",
        {"board": board, "live": live, "atm_strikes": atm_strikes, "replay": replay, "demo": demo},
    )
