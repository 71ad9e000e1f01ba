"""Pages of the bots app: the user's bots (list, create, detail with decisions, orders, fills
and profit; enable / disable), breakout backtests (form and history) and a stored backtest's
equity vs buy-and-hold chart. Login required; another user's bot or backtest is 404. The views
parse with ``bots.forms`` and call ``bots.services``; reads come from ``bots.selectors``."""

from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from bots import selectors, services
from bots.forms import BacktestForm, BotForm, add_service_error
from bots.models import Bot
from core.exceptions import DomainError

DECISIONS_SHOWN = 200
ORDERS_SHOWN = 200
BACKTESTS_SHOWN = 200


@login_required
def bot_list_page(request):
    """The user's bots: kind, instrument, enabled, state, profit and the last decision."""
    bots = list(selectors.bot_list_with_last_decision(user=request.user))
    rows = [{"bot": bot, "profit": selectors.bot_profit(bot=bot)} for bot in bots]
    return render(request, "bots/bot_list.html", {"rows": rows})


@login_required
@require_http_methods(["GET", "POST"])
def bot_create_page(request):
    """The form of a new bot (``bots.forms.BotForm``); a valid POST creates it through
    ``services.bot_create`` / ``services.prediction_bot_create`` and redirects to its page;
    a bad one shows the form again with the messages on their fields and creates nothing."""
    if request.method == "POST":
        form = BotForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                bot = _create(request.user, data)
            except DomainError as error:
                add_service_error(form, error)
            else:
                return redirect("bot-detail-page", pk=bot.pk)
    else:
        initial = {"enabled": True}
        if request.GET.get("instrument", "").isdigit():
            initial["instrument"] = int(request.GET["instrument"])
        form = BotForm(initial=initial)
    return render(request, "bots/bot_create.html", {"form": form}, status=400 if form.errors else 200)


def _create(user, data: dict) -> Bot:
    if data["kind"] == Bot.Kind.PREDICTIONS:
        return services.prediction_bot_create(
            user=user,
            model=data["model"],
            second_model=data["second_model"],
            condition=data["condition"],
            threshold=data["threshold"],
            second_threshold=data["second_threshold"],
            top_n=data["top_n"],
            fraction=data["fraction"] if data["fraction"] is not None else Decimal("0.2"),
            exit_after_sessions=data["exit_after_sessions"],
            stop_loss_pct=data["stop_loss_pct"],
            enabled=data["enabled"],
            name=data["name"],
        )
    return services.bot_create(
        user=user,
        instrument_id=data["instrument"].pk,
        name=data["name"],
        k_mode=data["k_mode"],
        k=data["k"],
        lookback=data["lookback"],
        ma_window=data["ma_window"],
        fraction=data["fraction"] if data["fraction"] is not None else Decimal("0.5"),
        enabled=data["enabled"],
        exit_after_sessions=data["exit_after_sessions"],
    )


@login_required
def bot_detail_page(request, pk: int):
    """One of the user's bots: its settings and state, its profit, its decision log (newest
    first), its orders and their fills."""
    bot = get_object_or_404(selectors.bot_list(user=request.user), pk=pk)
    decisions = selectors.bot_decision_list(bot=bot).select_related("order")
    orders = selectors.bot_order_list(bot=bot).annotate(fill_count=Count("fills"))
    return render(
        request,
        "bots/bot_detail.html",
        {
            "bot": bot,
            "profit": selectors.bot_profit(bot=bot),
            "decisions": decisions[:DECISIONS_SHOWN],
            "decision_count": decisions.count(),
            "orders": orders[:ORDERS_SHOWN],
            "fills": selectors.bot_fill_list(bot=bot)[:ORDERS_SHOWN],
            "shown": DECISIONS_SHOWN,
        },
    )


def _set_enabled(request, pk: int, enabled: bool):
    bot = get_object_or_404(selectors.bot_list(user=request.user), pk=pk)
    services.bot_update(bot=bot, enabled=enabled)
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect("bot-detail-page", pk=bot.pk)


@login_required
@require_POST
def bot_enable(request, pk: int):
    """Enable one of the user's bots (``services.bot_update``; it takes effect at the next day
    roll) and go back to ``next`` (a same-site path) or the bot's page."""
    return _set_enabled(request, pk, True)


@login_required
@require_POST
def bot_disable(request, pk: int):
    """Disable one of the user's bots: no new entries from now (what it holds is still sold at
    the next day boundary); back to ``next`` or the bot's page."""
    return _set_enabled(request, pk, False)


@login_required
@require_http_methods(["GET", "POST"])
def backtest_list_page(request):
    """The breakout backtest form and the user's runs, newest first. A valid POST runs and
    stores a backtest (``services.backtest_params`` + ``backtest_run``) and redirects to its
    chart; a bad one shows the messages on their fields and stores nothing."""
    if request.method == "POST":
        form = BacktestForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                params = services.backtest_params(
                    exchange=data["exchange"],
                    symbol=data["symbol"],
                    start=data["start"],
                    end=data["end"],
                    k=data["k"],
                    lookback=data["lookback"],
                    ma=data["ma"],
                    fee_bps=data["fee_bps"],
                    slippage_bps=data["slippage_bps"],
                )
                backtest = services.backtest_run(user=request.user, params=params)
            except DomainError as error:
                add_service_error(form, error)
            else:
                return redirect("backtest-chart", pk=backtest.pk)
    else:
        form = BacktestForm()
    backtests = selectors.backtest_list(user=request.user)[:BACKTESTS_SHOWN]
    return render(
        request, "bots/backtest_list.html", {"form": form, "backtests": backtests}, status=400 if form.errors else 200
    )


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
