"""``manage.py backtest_breakout``: backtest the volatility-breakout rule on stored daily candles.

    manage.py backtest_breakout --symbol BTC/KRW --exchange bithumb [--start 2018-01-01] [--end 2022-03-03]
        [--k 0.5|auto] [--lookback 20] [--ma 5] [--fee-bps 25] [--slippage-bps 5] [--tax-bps 0]
        [--initial 10000000] [--json] [--user NAME]

Reads the instrument's ``1d`` candles from the database (import them first with
``import_candles``); candles before ``--start`` only warm up K, the target and the moving
average. Fees default to the exchange's (``TRADING["FEE_BPS"]``), slippage to the market-order
slippage, the sell tax to KRX's on KRX stocks. ``--json`` prints the whole result (trades,
equity curve, figures); ``--user`` also stores it as that user's backtest (API and chart page).
"""

import json
from datetime import date

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from bots import services
from core.exceptions import DomainError
from markets.models import Exchange


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _percent(value) -> str:
    return "n/a" if value is None else f"{value * 100:.2f} %"


class Command(BaseCommand):
    help = "Backtest the volatility-breakout rule (fixed k or best K walk-forward) on stored daily candles."

    def add_arguments(self, parser):
        parser.add_argument("--symbol", required=True, help="BTC/KRW (or BTC_KRW); a KRX code such as 005930")
        parser.add_argument("--exchange", required=True, choices=Exchange.values)
        parser.add_argument("--start", type=_day, help="first day, YYYY-MM-DD (default: the first stored candle)")
        parser.add_argument("--end", type=_day, help="last day, YYYY-MM-DD (default: the last stored candle)")
        parser.add_argument(
            "--k", default="auto", help='"auto" (best K walk-forward) or a number from 0 to 1 (default auto)'
        )
        parser.add_argument("--lookback", type=int, default=20, help="days the best K is fitted on (default 20)")
        parser.add_argument(
            "--ma", type=int, default=5, help="enter only above the N-day average close; 0 = off (default 5)"
        )
        parser.add_argument("--fee-bps", help="commission per leg, basis points (default: the exchange's)")
        parser.add_argument("--slippage-bps", help="slippage per leg, basis points (default: TRADING SLIPPAGE_BPS)")
        parser.add_argument("--tax-bps", help="tax on sells, basis points (default: KRX's on KRX stocks, else 0)")
        parser.add_argument("--initial", help="starting equity in the quote currency (default: the starting cash)")
        parser.add_argument("--json", action="store_true", help="print the whole result as JSON")
        parser.add_argument("--user", help="also store the result as this user's backtest")

    def handle(self, *args, **opts):
        user = None
        if opts["user"]:
            user = get_user_model().objects.filter(username=opts["user"]).first()
            if user is None:
                raise CommandError(f"no user {opts['user']!r}")
        try:
            params = services.backtest_params(
                exchange=opts["exchange"],
                symbol=opts["symbol"],
                start=opts["start"],
                end=opts["end"],
                k=opts["k"],
                lookback=opts["lookback"],
                ma=opts["ma"],
                fee_bps=opts["fee_bps"],
                slippage_bps=opts["slippage_bps"],
                tax_bps=opts["tax_bps"],
                initial_equity=opts["initial"],
            )
            if user is not None:
                backtest = services.backtest_run(user=user, params=params)
                result = backtest.result
            else:
                result = services.backtest_compute(params)
        except DomainError as exc:
            raise CommandError(f"{exc.field + ': ' if exc.field else ''}{exc.message}") from exc
        if opts["json"]:
            self.stdout.write(json.dumps(result, ensure_ascii=False))
            return
        self._summary(result)
        if user is not None:
            self.stdout.write(f"stored as backtest #{backtest.pk} of {user}: /backtests/{backtest.pk}/chart/")

    def _summary(self, r: dict) -> None:
        held = r["buy_and_hold"]
        k = f"best K over {r['lookback']} days" if r["k"] == "auto" else f"k {r['k']}"
        ma = f"MA{r['ma']} filter" if r["ma"] else "no MA filter"
        sharpe = "n/a" if r["sharpe"] is None else f"{r['sharpe']:.2f}"
        lines = [
            f"{r['exchange']} {r['symbol']} {r['first_day']} .. {r['last_day']}: {k}, {ma}, "
            f"fee {r['fee_bps']:g} / slippage {r['slippage_bps']:g} / sell tax {r['tax_bps']:g} bps",
            f"trades {r['number_of_trades']}, win rate {_percent(r['win_rate'])}, exposure {_percent(r['exposure'])}",
            f"total return {_percent(r['total_return'])}, CAGR {_percent(r['cagr'])}, "
            f"max drawdown {_percent(r['max_drawdown'])}, Sharpe {sharpe}",
            f"final equity {r['final_equity']:,.0f} {r['quote']} (from {r['initial_equity']:,.0f})",
            f"buy-and-hold: total return {_percent(held['total_return'])}, CAGR {_percent(held['cagr'])}, "
            f"max drawdown {_percent(held['max_drawdown'])}",
        ]
        self.stdout.write("\n".join(lines))
