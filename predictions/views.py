"""Pages: the discover list, and a user's prediction backtests with their equity charts."""

from datetime import date

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render

from predictions import selectors
from predictions.models import Board


def discover_page(request):
    """The top picks of a board for a session (``?market=KOSPI&date=YYYY-MM-DD&limit=20``)."""
    market = request.GET.get("market", Board.KOSPI)
    if market not in Board.values:
        market = Board.KOSPI
    try:
        day = date.fromisoformat(request.GET["date"]) if request.GET.get("date") else None
    except ValueError:
        day = None
    try:
        limit = min(max(int(request.GET.get("limit", 20)), 1), 100)
    except ValueError:
        limit = 20
    data = selectors.discover(board=market, day=day, limit=limit)
    return render(
        request, "predictions/discover.html", {"data": data, "boards": Board.values, "market": market, "limit": limit}
    )


@login_required
def backtest_list_page(request):
    backtests = selectors.prediction_backtest_list(user=request.user)[:200]
    return render(request, "predictions/backtest_list.html", {"backtests": backtests})


@login_required
def backtest_chart_page(request, pk: int):
    """One of the user's backtests: its figures and the equity curve against the equal-weight
    benchmark (another user's backtest is not found)."""
    backtest = get_object_or_404(selectors.prediction_backtest_list(user=request.user), pk=pk)
    return render(request, "predictions/backtest_chart.html", {"backtest": backtest, "curve": backtest.curve})
