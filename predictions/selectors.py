"""Prediction reads: KRX candle panels, predictors, predictions, the discover list, backtests,
and the out-of-sample evaluation of a predictor (a read plus pure math)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np
import pandas as pd
from django.db.models import FloatField, QuerySet
from django.db.models.functions import Cast

from core.timeparse import SEOUL
from markets.models import Candle, Exchange, Instrument, Interval, Market
from predictions import sessions
from predictions.features import Panel, forward_labels, panel_from_frame
from predictions.models import BOARD_SEGMENTS, Prediction, PredictionBacktest, Predictor


def session_open_utc(day: date) -> datetime:
    """00:00 Asia/Seoul of ``day``: the open_time of that session's KRX daily candle."""
    return datetime.combine(day, time.min, tzinfo=SEOUL)


# -- candles ----------------------------------------------------------------------------------------


def krx_instruments(*, board: str, active_only: bool = False) -> QuerySet[Instrument]:
    """The KRX stocks of ``board`` (KOSPI; KOSDAQ with KOSDAQ GLOBAL)."""
    qs = Instrument.objects.filter(market=Market.KRX, exchange=Exchange.KRX, segment__in=BOARD_SEGMENTS[board])
    return qs.filter(active=True) if active_only else qs


@dataclass(frozen=True)
class BoardPanel:
    """A ``Panel`` of a board's stocks and their instrument ids (``instrument_ids[i]`` is the
    instrument of ``panel.codes[i]``)."""

    panel: Panel
    instrument_ids: np.ndarray


def krx_panel(*, board: str, start: date, end: date, active_only: bool = False) -> BoardPanel:
    """Daily candles of the board's stocks over the KRX sessions ``start`` .. ``end`` (inclusive)
    as a panel; every stock of the board is a column, with NaN where it has no candle (halts
    skipped on import, not listed, or past the last stored day). Prices are read as float (for
    the model, not the ledger). Raises ``ValueError`` when the range holds no session.
    """
    days = sessions.sessions_between(start, end)
    if not days:
        raise ValueError(f"no KRX session between {start} and {end}")
    instruments = list(
        krx_instruments(board=board, active_only=active_only).order_by("symbol").values_list("id", "symbol")
    )
    rows = (
        Candle.objects.filter(
            instrument_id__in=[pk for pk, _ in instruments],
            interval=Interval.D1,
            open_time__gte=session_open_utc(days[0]),
            open_time__lt=session_open_utc(days[-1] + timedelta(days=1)),
        )
        .annotate(**{f"{name}_f": Cast(name, FloatField()) for name in ("open", "high", "low", "close", "volume")})
        .values_list("instrument_id", "open_time", "open_f", "high_f", "low_f", "close_f", "volume_f")
    )
    frame = pd.DataFrame(list(rows), columns=["instrument_id", "open_time", "open", "high", "low", "close", "volume"])
    symbol_of = dict(instruments)
    frame["code"] = frame["instrument_id"].map(symbol_of)
    frame["date"] = (
        pd.to_datetime(frame["open_time"], utc=True).dt.tz_convert(SEOUL).dt.tz_localize(None).dt.normalize()
    )
    panel = panel_from_frame(frame, sessions=days)
    # stocks of the board without a candle in the range still belong to the universe; they
    # simply never get a prediction
    panel = _with_all_codes(panel, [symbol for _, symbol in instruments])
    id_of = {symbol: pk for pk, symbol in instruments}
    return BoardPanel(panel=panel, instrument_ids=np.array([id_of[c] for c in panel.codes], dtype=np.int64))


def _with_all_codes(panel: Panel, codes: list[str]) -> Panel:
    if list(panel.codes) == codes:
        return panel
    index = pd.Index(codes, dtype=object)
    position = index.get_indexer(panel.codes)
    arrays = {}
    for name in ("open", "high", "low", "close", "volume"):
        array = np.full((len(panel.sessions), len(index)), np.nan)
        array[:, position] = getattr(panel, name)
        arrays[name] = array
    return Panel(panel.sessions, index, **arrays)


def has_candles_on(*, board: str, day: date) -> bool:
    """True when any stock of the board has a daily candle for session ``day``."""
    return Candle.objects.filter(
        instrument__in=krx_instruments(board=board), interval=Interval.D1, open_time=session_open_utc(day)
    ).exists()


# -- predictors and predictions -------------------------------------------------------------------


def predictor_list(*, board: str | None = None, active_only: bool = False) -> QuerySet[Predictor]:
    qs = Predictor.objects.all()
    if board:
        qs = qs.filter(market=board)
    return qs.filter(active=True) if active_only else qs


def predictor_get(*, name: str) -> Predictor | None:
    return Predictor.objects.filter(name=name).first()


def predictor_latest(*, board: str | None = None, kind: str | None = None) -> Predictor | None:
    """The most recently trained predictor (of ``board`` and ``kind`` when given)."""
    qs = predictor_list(board=board)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("-created_at", "-id").first()


def predictor_primary(*, board: str) -> Predictor | None:
    """The predictor the discover list ranks by: the latest active gradient-boosting model of
    the board, else its latest active model of any kind."""
    qs = predictor_list(board=board, active_only=True).order_by("-created_at", "-id")
    return qs.filter(kind="gbm").first() or qs.first()


def prediction_list(
    *, day: date | None = None, board: str | None = None, predictor: Predictor | None = None
) -> QuerySet[Prediction]:
    """Predictions filtered by session, board and predictor, best rank first; ``day`` None =
    the latest session holding predictions under the other filters."""
    qs = Prediction.objects.select_related("predictor", "instrument")
    if board:
        qs = qs.filter(predictor__market=board)
    if predictor is not None:
        qs = qs.filter(predictor=predictor)
    if day is None:
        day = qs.order_by("-session_date").values_list("session_date", flat=True).first()
    return qs.filter(session_date=day).order_by("predictor__name", "rank", "instrument_id")


def discover(
    *,
    board: str,
    day: date | None = None,
    limit: int = 20,
    predictor: Predictor | None = None,
    thresholds: dict[str, float] | None = None,
    now: datetime | None = None,
) -> dict:
    """The top ``limit`` picks of ``predictor`` (default ``predictor_primary``) for session
    ``day`` (default: its latest), with each pick's name, close (KRW) that session, the
    probability and rank every active predictor of the board gave it, and their agreement: the
    share of those predictors that rank it within their own top ``limit``.

    Each row also carries the live ``last_price`` (the instrument's ticker, None without one) and
    ``change_since_close`` (last / the session's close - 1, a fraction), whether each model's
    probability reaches its threshold (``thresholds`` {model: probability}, default 0.5) and
    ``ticket_url``: the order ticket with the instrument and an exit after the model's horizon.

    Returns {"market", "date", "model", "models", "is_open" (a KRX session now), "thresholds",
    "results": [...]} ("date" None and no results when nothing was predicted).
    """
    from django.utils import timezone

    from markets.calendars import krx_is_open
    from markets.models import Ticker

    now = now or timezone.now()
    primary = predictor or predictor_primary(board=board)
    is_open = krx_is_open(now)
    thresholds = dict(thresholds or {})
    empty = {
        "market": board,
        "date": None,
        "model": primary.name if primary else None,
        "models": [],
        "is_open": is_open,
        "thresholds": thresholds,
        "results": [],
    }
    if primary is None:
        return empty
    if day is None:
        day = primary.predictions.order_by("-session_date").values_list("session_date", flat=True).first()
        if day is None:
            return empty
    picks = list(primary.predictions.filter(session_date=day).select_related("instrument").order_by("rank")[:limit])
    ids = [p.instrument_id for p in picks]
    peers = list(predictor_list(board=board, active_only=True).exclude(pk=primary.pk).order_by("name"))
    others = Prediction.objects.filter(predictor__in=peers, session_date=day, instrument_id__in=ids).values_list(
        "instrument_id", "predictor__name", "probability_up", "rank"
    )
    by_instrument: dict[int, dict[str, tuple[float, int]]] = {}
    for instrument_id, name, probability, rank in others:
        by_instrument.setdefault(instrument_id, {})[name] = (probability, rank)
    closes = dict(
        Candle.objects.filter(instrument_id__in=ids, interval=Interval.D1, open_time=session_open_utc(day)).values_list(
            "instrument_id", "close"
        )
    )
    models = [primary.name, *(p.name for p in peers if any(p.name in v for v in by_instrument.values()))]
    limits = {name: float(thresholds.get(name, 0.5)) for name in models}
    lasts = dict(Ticker.objects.filter(instrument_id__in=ids).values_list("instrument_id", "last_price"))
    results = []
    for pick in picks:
        votes = {primary.name: (pick.probability_up, pick.rank), **by_instrument.get(pick.instrument_id, {})}
        agree = sum(1 for _, rank in votes.values() if rank <= limit)
        close, last = closes.get(pick.instrument_id), lasts.get(pick.instrument_id)
        passes = {name: p >= limits.get(name, 0.5) for name, (p, _) in votes.items()}
        results.append(
            {
                "rank": pick.rank,
                "instrument_id": pick.instrument_id,
                "symbol": pick.instrument.symbol,
                "name": pick.instrument.name,
                "segment": pick.instrument.segment,
                "close": closes.get(pick.instrument_id),
                "probability_up": pick.probability_up,
                "probabilities": {name: p for name, (p, _) in votes.items()},
                "ranks": {name: r for name, (_, r) in votes.items()},
                # in the order of "models", None where a model made no prediction for the stock
                "by_model": [
                    {
                        "model": name,
                        "probability_up": votes.get(name, (None, None))[0],
                        "rank": votes.get(name, (None, None))[1],
                    }
                    for name in models
                ],
                "models_agreeing": agree,
                "models_predicting": len(votes),
                "agreement": agree / len(votes),
                "last_price": last,
                "change_since_close": (float(last / close - 1) if last is not None and close else None),
                "passes": passes,
                "models_passing": sum(passes.values()),
                "ticket_url": f"/portfolio/?instrument={pick.instrument_id}&exit_after_sessions={primary.horizon}",
            }
        )
    return {
        "market": board,
        "date": day,
        "model": primary.name,
        "models": models,
        "is_open": is_open,
        "thresholds": limits,
        "results": results,
    }


def prediction_scores(
    *, predictor: Predictor, board_panel: BoardPanel, first: int, last: int
) -> tuple[np.ndarray, list[date]]:
    """Stored predictions of ``predictor`` on panel rows ``first`` .. ``last`` as scores
    float (T, N), higher = better (minus the rank, so the stored order is kept exactly), NaN
    where nothing was stored; and the sessions in that range with no prediction at all."""
    panel = board_panel.panel
    days = [ts.date() for ts in panel.sessions[first : last + 1]]
    column = {pk: i for i, pk in enumerate(board_panel.instrument_ids)}
    scores = np.full(panel.shape, np.nan)
    stored = predictor.predictions.filter(session_date__gte=days[0], session_date__lte=days[-1]).values_list(
        "session_date", "instrument_id", "rank"
    )
    row = {day: first + i for i, day in enumerate(days)}
    seen = set()
    for day, instrument_id, rank in stored.iterator(chunk_size=5000):
        if instrument_id in column:
            scores[row[day], column[instrument_id]] = -rank
            seen.add(day)
    return scores, [day for day in days if day not in seen]


# -- backtests ------------------------------------------------------------------------------------


def prediction_backtest_list(*, user) -> QuerySet[PredictionBacktest]:
    """The user's own backtests, newest first (nobody else's: another user's is "not found")."""
    return PredictionBacktest.objects.filter(user=user).select_related("predictor").order_by("-created_at", "-id")


# -- evaluation -----------------------------------------------------------------------------------


def predictor_evaluation(*, predictor: Predictor, test_start: date, test_end: date, top_n: int = 20) -> dict:
    """Out-of-sample figures of ``predictor`` and of the 20-session momentum baseline on the
    sessions ``test_start`` .. ``test_end`` of its board (every stock of the board, listed or
    not today), labels read up to ``horizon`` sessions past ``test_end``.

    Keys: model, kind, market, train_period, test_period, sessions, samples, base_rate,
    precision_at_20, auc, auc_session_mean, calibration, all_picks, baseline {same figures}.
    Raises ``ValueError`` when the test period starts on or before the model's ``train_end``
    (it would not be out of sample) or holds no session.
    """
    from predictions.artifacts import load_predictor_model
    from predictions.evaluation import evaluate_scores, momentum_scores

    if test_start <= predictor.train_end:
        raise ValueError(
            f"the test period must start after {predictor.train_end}, the end of {predictor.name}'s training period"
        )
    days = sessions.sessions_between(test_start, test_end)
    if not days:
        raise ValueError(f"no KRX session between {test_start} and {test_end}")
    warm_up = sessions.session_offset(days[0], -(predictor.window - 1))
    labels_end = _session_offset_capped(days[-1], predictor.horizon)
    board_panel = krx_panel(board=predictor.market, start=warm_up, end=labels_end)
    panel = board_panel.panel
    rows = np.zeros(len(panel.sessions), dtype=bool)
    rows[panel.session_index(days[0]) : panel.session_index(days[-1]) + 1] = True
    labels = forward_labels(panel, horizon=predictor.horizon, up_threshold=predictor.up_threshold)
    model = load_predictor_model(predictor)
    figures = evaluate_scores(model.score_panel(panel, rows), labels, rows, n=top_n)
    baseline = evaluate_scores(momentum_scores(panel), labels, rows, n=top_n)
    return {
        "model": predictor.name,
        "kind": predictor.kind,
        "market": predictor.market,
        "train_period": [str(predictor.train_start), str(predictor.train_end)],
        "test_period": [str(days[0]), str(days[-1])],
        **figures,
        "baseline": {"name": "20-session momentum rank", **baseline},
    }


def _session_offset_capped(day: date, count: int) -> date:
    try:
        return sessions.session_offset(day, count)
    except ValueError:
        return sessions.session_on_or_before(sessions.krx_calendar().last_session)


def krx_first_session(*, board: str) -> date | None:
    """The Seoul session date of the board's first stored daily candle, or None."""
    from django.db.models import Min

    first = Candle.objects.filter(instrument__in=krx_instruments(board=board), interval=Interval.D1).aggregate(
        first=Min("open_time")
    )["first"]
    return None if first is None else first.astimezone(SEOUL).date()


def walk_forward_latest(*, market: str | None = None) -> dict | None:
    """The newest walk-forward result written by ``manage.py walk_forward`` (JSON under
    ``PREDICTIONS["ARTIFACT_DIR"]/walk_forward/``), of ``market`` when given; None when there is
    none. Adds "file" (its name)."""
    import json
    from pathlib import Path

    from django.conf import settings

    folder = Path(settings.PREDICTIONS["ARTIFACT_DIR"]) / "walk_forward"
    files = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True) if folder.is_dir() else []
    for path in files:
        try:
            result = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if market is None or result.get("market") == market:
            return {**result, "file": path.name}
    return None


def predictor_sample_scores(*, predictor: Predictor, samples: list[tuple[str, date]], top_n: int = 20) -> dict:
    """``predictor``'s probability of up on exactly the (KRX code, session date) ``samples``,
    so that two models can be compared on the same samples.

    Returns {"model", "samples", "scored", "labelled", "base_rate", "auc", "precision_at_20",
    "rows": [{"code", "date", "label" (1, 0 or None: in-between / unknown), "p_up" (None without
    a complete 20-session window)}]} in the order given. Raises ``ValueError`` naming the first
    sample that is not a session, lies on or before the model's train end, or is not a stock of
    its board.
    """
    from predictions.artifacts import load_predictor_model
    from predictions.evaluation import auc, precision_at_n

    if not samples:
        raise ValueError("no samples")
    for index, (code, day) in enumerate(samples, start=1):
        if day <= predictor.train_end:
            raise ValueError(
                f"sample {index} ({code} {day}) is not after {predictor.name}'s train end {predictor.train_end}"
            )
        if not sessions.is_session(day):
            raise ValueError(f"sample {index} ({code} {day}): {day} is not a KRX session")
    days = sorted({day for _, day in samples})
    warm_up = sessions.session_offset(days[0], -(predictor.window - 1))
    panel = krx_panel(
        board=predictor.market, start=warm_up, end=_session_offset_capped(days[-1], predictor.horizon)
    ).panel
    column = {code: j for j, code in enumerate(panel.codes)}
    for index, (code, _day) in enumerate(samples, start=1):
        if code not in column:
            raise ValueError(f"sample {index}: {code} is not a stock of {predictor.market}")
    t = np.array([panel.session_index(day) for _, day in samples])
    n = np.array([column[code] for code, _ in samples])
    rows_mask = np.zeros(len(panel.sessions), dtype=bool)
    rows_mask[t] = True
    scores = load_predictor_model(predictor).score_panel(panel, rows_mask)[t, n]
    labels = forward_labels(panel, horizon=predictor.horizon, up_threshold=predictor.up_threshold)
    label = labels.label[t, n]
    ok = ~np.isnan(scores) & ~np.isnan(label)
    y = label[ok].astype(int)
    return {
        "model": predictor.name,
        "samples": len(samples),
        "scored": int((~np.isnan(scores)).sum()),
        "labelled": int(ok.sum()),
        "base_rate": float(y.mean()) if len(y) else None,
        "auc": auc(scores[ok], y),
        f"precision_at_{top_n}": precision_at_n(scores[ok], y.astype(bool), t[ok], n=top_n),
        "rows": [
            {
                "code": code,
                "date": str(day),
                "label": None if np.isnan(label[i]) else int(label[i]),
                "p_up": None if np.isnan(scores[i]) else float(scores[i]),
            }
            for i, (code, day) in enumerate(samples)
        ],
    }


# -- the prediction bot's picks -------------------------------------------------------------------


def _votes(predictor: Predictor, day: date):
    from predictions.following import Votes

    votes: Votes = {
        instrument_id: (rank, probability)
        for instrument_id, rank, probability in predictor.predictions.filter(session_date=day).values_list(
            "instrument_id", "rank", "probability_up"
        )
    }
    return votes


def prediction_picks(
    *,
    model: str,
    second_model: str | None = None,
    condition: str = "model",
    threshold: float = 0.5,
    second_threshold: float = 0.5,
    top_n: int = 5,
    before: date | None = None,
) -> dict:
    """What a bot following ``model`` (and ``second_model``) buys: the picks of the latest
    session ``model`` predicted before ``before`` (default: its latest), chosen by
    ``predictions.following.select``. The provider of ``BOTS["PREDICTION_PICKS"]`` (the bots
    app calls it through that setting; it may not import this app).

    Returns {"date": the prediction session or None, "picks": [{"instrument_id", "symbol",
    "rank", "probabilities": {model: p}}]}; raises ``ValueError`` for an unknown model or
    condition."""
    from predictions.following import select

    first = predictor_get(name=model)
    if first is None:
        raise ValueError(f"no predictor {model!r}")
    second = predictor_get(name=second_model) if second_model else None
    if second_model and second is None:
        raise ValueError(f"no predictor {second_model!r}")
    days = first.predictions.all()
    if before is not None:
        days = days.filter(session_date__lt=before)
    day = days.order_by("-session_date").values_list("session_date", flat=True).first()
    if day is None:
        return {"date": None, "picks": []}
    a = _votes(first, day)
    b = _votes(second, day) if second is not None else None
    chosen = select(a, b, condition=condition, threshold=threshold, second_threshold=second_threshold, top_n=top_n)
    symbols = dict(Instrument.objects.filter(pk__in=chosen).values_list("pk", "symbol"))
    picks = []
    for instrument_id in chosen:
        probabilities = {first.name: a[instrument_id][1]} if instrument_id in a else {}
        if b is not None and second is not None and instrument_id in b:
            probabilities[second.name] = b[instrument_id][1]
        rank = a.get(instrument_id, (None, None))[0] if instrument_id in a else (b or {})[instrument_id][0]
        picks.append(
            {
                "instrument_id": instrument_id,
                "symbol": symbols.get(instrument_id),
                "rank": rank,
                "probabilities": probabilities,
            }
        )
    return {"date": day, "picks": picks}
