"""Pages: the discover list, and a user's prediction backtests with their equity charts."""

from datetime import date, timedelta

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from core.exceptions import DomainError
from predictions import selectors, services
from predictions.features import FEATURE_NAMES
from predictions.forms import PredictionBacktestForm
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
    track = selectors.walk_forward_latest(market=market) or selectors.walk_forward_latest(market=Board.ALL)
    return render(
        request,
        "predictions/discover.html",
        {
            "data": data,
            "boards": Board.values,
            "market": market,
            "limit": limit,
            "track": _track_record(track),
        },
    )


def _track_record(result: dict | None) -> dict | None:
    """The pooled walk-forward figures of the prototype label, for the discover list."""
    if not result:
        return None
    block = result["labels"].get("prototype") or next(iter(result["labels"].values()))
    years = block["years"]
    return {
        "market": result["market"],
        "years": f"{min(years)}-{max(years)}",
        "pooled": block["pooled"]["model"],
        "momentum": block["pooled"]["momentum_20"],
    }


def model_card_page(request):
    """The model card: data and its survivorship, labels, features, the walk-forward table per
    year, deciles, calibration, costs and baselines (``?market=ALL``; the newest result)."""
    market = request.GET.get("market")
    result = selectors.walk_forward_latest(market=market if market in Board.values else None)
    labels = []
    if result:
        for name, block in result["labels"].items():
            rows = [{"year": year, **figures} for year, figures in block["years"].items()]
            rows.append({"year": "pooled", **block["pooled"]})
            labels.append(
                {
                    "name": name,
                    "rows": rows,
                    "folds": block["folds"],
                    "deciles": _decile_bars(block["pooled"]),
                    "calibration": block["pooled"]["model"].get("calibration", []),
                }
            )
    return render(
        request,
        "predictions/model_card.html",
        {"result": result, "labels": labels, "feature_names": FEATURE_NAMES},
    )


def _decile_bars(pooled: dict) -> list[dict]:
    """Per decile the mean 5-session return of the model and the baselines, with a bar width
    (percent of the largest absolute value) for the chart."""
    names = ["model", "momentum_20", "reversal_5"]
    values = {n: [d["mean_return_5"] for d in pooled[n]["deciles"]] for n in names}
    largest = max((abs(v) for n in names for v in values[n] if v is not None), default=0) or 1
    return [
        {
            "decile": i + 1,
            "bars": [
                {
                    "name": n,
                    "value": values[n][i],
                    "width": 0 if values[n][i] is None else abs(values[n][i]) / largest * 100,
                    "negative": values[n][i] is not None and values[n][i] < 0,
                }
                for n in names
            ],
        }
        for i in range(10)
    ]


@login_required
@require_http_methods(["GET", "POST"])
def backtest_list_page(request):
    """The prediction backtest form and the user's backtests. A valid POST runs one
    (``services.prediction_backtest_create``) and redirects to its chart; a bad one shows the
    messages on their fields (in the page's language) and stores nothing."""
    if request.method == "POST":
        form = PredictionBacktestForm(request.POST)
        if form.is_valid():
            params = dict(form.cleaned_data)
            predictor = params.pop("model")
            params["market"] = params["market"] or None
            try:
                backtest = services.prediction_backtest_create(user=request.user, predictor=predictor, **params)
            except DomainError as error:
                field = error.field if error.field in form.fields else None
                message = error.message  # the service's, in English (the API's language)
                if not (get_language() or "en").startswith("en"):
                    hint = SERVICE_HINT.get(error.field or "", _("Check the input"))
                    message = f"{hint} · {message}"
                form.add_error(field, message)
            else:
                return redirect("prediction-backtest-chart", pk=backtest.pk)
    else:
        predictor = selectors.predictor_latest()
        initial = {"model": predictor.name} if predictor else {}
        if predictor:  # the first session after its training period, as the service asks
            initial["start"] = predictor.train_end + timedelta(days=1)
        form = PredictionBacktestForm(initial=initial)
    backtests = selectors.prediction_backtest_list(user=request.user)[:200]
    return render(
        request,
        "predictions/backtest_list.html",
        {"backtests": backtests, "form": form},
        status=400 if form.errors else 200,
    )


# the line put in front of a service's English message on a Korean page, by the field it names
SERVICE_HINT = {
    "start": _("Check the start (after the training period)"),
    "end": _("Check the end"),
    "market": _("Check the board"),
    "model": _("Check the model"),
}


@login_required
def backtest_chart_page(request, pk: int):
    """One of the user's backtests: its figures and the equity curve against the equal-weight
    benchmark (another user's backtest is not found)."""
    backtest = get_object_or_404(selectors.prediction_backtest_list(user=request.user), pk=pk)
    return render(request, "predictions/backtest_chart.html", {"backtest": backtest, "curve": backtest.curve})
