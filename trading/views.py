from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def portfolio_page(request):
    """The trading page: account, positions, order form, open orders, fills, equity history.
    Everything on it comes from the REST API (session authentication) and /ws/account/."""
    return render(request, "trading/portfolio.html")
