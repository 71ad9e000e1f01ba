"""Pages of the breakout backtester: a stored backtest's equity vs buy-and-hold chart."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render

from bots import selectors


def _percent(value) -> str:
    return "n/a" if value is None else f"{value * 100:,.2f} %"


def _price(value: float) -> str:
    """A price with thousands separators and up to 8 decimals, trailing zeros dropped."""
    return f"{value:,.8f}".rstrip("0").rstrip(".")


def _trades(result: dict) -> list[dict]:
    return [
        {
            "entry_date": trade["entry_date"],
            "entry_price": _price(trade["entry_price"]),
            "exit_date": trade["exit_date"],
            "exit_price": _price(trade["exit_price"]),
            "k": f"{trade['k']:g}",
            "return": f"{trade['return'] * 100:+.2f} %",
            "direction": "up" if trade["return"] > 0 else "down" if trade["return"] < 0 else "flat",
        }
        for trade in result["trades"]
    ]


def _figures(result: dict) -> list[tuple[str, str, str]]:
    """(label, strategy, buy-and-hold) rows of the summary table, formatted for reading."""
    held = result["buy_and_hold"]
    sharpe = "n/a" if result["sharpe"] is None else f"{result['sharpe']:.2f}"
    held_sharpe = "n/a" if held["sharpe"] is None else f"{held['sharpe']:.2f}"
    return [
        (
            "Final equity",
            f"{result['final_equity']:,.0f} {result['quote']}",
            f"{held['final_equity']:,.0f} {result['quote']}",
        ),
        ("Total return", _percent(result["total_return"]), _percent(held["total_return"])),
        ("CAGR", _percent(result["cagr"]), _percent(held["cagr"])),
        ("Maximum drawdown", _percent(result["max_drawdown"]), _percent(held["max_drawdown"])),
        ("Sharpe (annualized)", sharpe, held_sharpe),
        ("Trades", f"{result['number_of_trades']:,}", "1"),
        ("Win rate", _percent(result["win_rate"]), ""),
        ("Exposure", _percent(result["exposure"]), "100.00 %"),
    ]


@login_required
def backtest_chart(request, pk: int):
    """The equity curve of one of the user's stored backtests against buy-and-hold, its figures
    and trades (``bots/backtest_chart.html``). Another user's backtest is 404."""
    backtest = get_object_or_404(selectors.backtest_list(user=request.user), pk=pk)
    result = backtest.result
    curve = {
        "equity": [{"time": point["date"], "value": point["equity"]} for point in result["equity_curve"]],
        "buy_and_hold": [{"time": point["date"], "value": point["buy_and_hold"]} for point in result["equity_curve"]],
    }
    return render(
        request,
        "bots/backtest_chart.html",
        {
            "backtest": backtest,
            "result": result,
            "figures": _figures(result),
            "trades": _trades(result),
            "curve": curve,
        },
    )
