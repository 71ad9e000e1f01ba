from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from core.money import plain
from trading import rules


def ticket_rules() -> dict:
    """What the ticket's 25 / 50 / 100 % buttons size with, from the server's own tables
    (``TRADING`` settings, ``trading.rules``): ``fee_bps`` {exchange: str}, ``slippage_bps``,
    ``ticks`` {"krx" | "upbit:KRW": [[upper bound or null, tick]]}, ``coin_lot``, ``share_lot``.
    Decimals as plain strings."""
    config = settings.TRADING
    band = lambda table: [[plain(upper), plain(tick)] for upper, tick in table]  # noqa: E731
    return {
        "fee_bps": {exchange: plain(bps) for exchange, bps in config["FEE_BPS"].items()},
        "slippage_bps": plain(config["SLIPPAGE_BPS"]),
        "ticks": {"krx": band(rules.KRX_TICKS), "upbit:KRW": band(rules.UPBIT_KRW_TICKS)},
        "coin_lot": plain(rules.COIN_LOT),
        "share_lot": plain(rules.SHARE_LOT),
    }


@login_required
def portfolio_page(request):
    """The trading page: account, positions, order form, open orders, fills, equity history.
    Everything on it comes from the REST API (session authentication) and /ws/account/; the
    ticket's sizing rules come in the page (``json_script`` "pf-rules")."""
    return render(request, "trading/portfolio.html", {"ticket_rules": ticket_rules()})
