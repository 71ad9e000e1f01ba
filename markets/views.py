from django.conf import settings
from django.shortcuts import render


def board(request):
    """The live top-20 board and a candlestick chart (templates/markets/board.html)."""
    return render(
        request,
        "markets/board.html",
        {"board_size": settings.MARKETS["BOARD_SIZE"], "default_interval": "1d"},
    )
