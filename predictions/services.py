"""Prediction writes: train a predictor, store predictions, the daily job, backtests."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.exceptions import DomainError
from predictions import selectors, sessions
from predictions.artifacts import PredictorUnavailable, artifact_dir, load_predictor_model
from predictions.backtest import BacktestParams, run_backtest
from predictions.features import HORIZON, UP_THRESHOLD, WINDOW
from predictions.learners import KINDS, file_sha256, library_versions, train_model
from predictions.models import Board, Prediction, PredictionBacktest, Predictor

log = logging.getLogger(__name__)

PREDICTION_BATCH_SIZE = 2000


class NotOutOfSample(DomainError):
    code = "in_sample_period"


class MissingPredictions(DomainError):
    code = "missing_predictions"
    status_code = 409


# -- training -------------------------------------------------------------------------------------


def predictor_train(
    *,
    board: str,
    train_start: date,
    train_end: date,
    kind: str = "gbm",
    name: str | None = None,
    progress: Callable[[str], object] | None = None,
    **options,
) -> Predictor:
    """Train a ``kind`` model on the board's stocks over ``train_start`` .. ``train_end`` and
    store it: the artifact under ``PREDICTIONS["ARTIFACT_DIR"]``, the metadata as a
    ``Predictor`` that becomes the active one of its kind and board.

    Samples are the sessions t from ``train_start`` with t + horizon <= ``train_end``; the
    20 sessions before t come from the stored candles before ``train_start`` when there are
    any. ``options`` go to the learner (``max_iter``, ``epochs``, ``max_samples``...). Raises
    ``DomainError`` on a bad period or board, too few samples, or ``cnn`` without PyTorch.
    """
    if board not in Board.values:
        raise DomainError(f"unknown board {board!r}; expected one of {', '.join(Board.values)}", field="market")
    if kind not in KINDS:
        raise DomainError(f"unknown model kind {kind!r}; expected one of {', '.join(KINDS)}", field="kind")
    if train_end <= train_start:
        raise DomainError("train_end must be after train_start", field="train_end")
    days = sessions.sessions_between(train_start, train_end)
    if len(days) <= HORIZON + 1:
        raise DomainError(f"{len(days)} KRX sessions in the training period are too few", field="train_end")
    board_panel = selectors.krx_panel(board=board, start=sessions.session_offset(days[0], -(WINDOW - 1)), end=days[-1])
    panel = board_panel.panel
    first, last = panel.session_index(days[0]), panel.session_index(days[-1]) - HORIZON
    try:
        model, report = train_model(
            kind, panel, first, last, horizon=HORIZON, up_threshold=UP_THRESHOLD, progress=progress, **options
        )
    except ImportError:
        raise DomainError("the CNN needs PyTorch: pip install torch==2.13.0", field="kind") from None
    except ValueError as exc:
        raise DomainError(f"can't train on {board} {days[0]}..{days[-1]}: {exc}", field="train_start") from None

    name = name or _next_name(kind, board, days[0], days[-1])
    if Predictor.objects.filter(name=name).exists():
        raise DomainError(f"a predictor named {name!r} exists", field="name")
    suffix = ".joblib" if kind == "gbm" else ".pt"
    # a fresh file name per training: an artifact some row still points at is never overwritten
    path = artifact_dir() / f"{name}-{uuid.uuid4().hex[:8]}{suffix}"
    model.save(path)
    try:
        with transaction.atomic():
            Predictor.objects.filter(kind=kind, market=board, active=True).update(active=False)
            predictor = Predictor.objects.create(
                name=name,
                kind=kind,
                market=board,
                horizon=HORIZON,
                up_threshold=UP_THRESHOLD,
                window=WINDOW,
                features=list(model.feature_names),
                train_start=days[0],
                train_end=days[-1],
                metrics={k: v for k, v in asdict(report).items() if k != "params"},
                params=report.params,
                library_versions=library_versions(),
                artifact=path.name,
                artifact_sha256=file_sha256(path),
            )
    except Exception:
        path.unlink(missing_ok=True)  # no row points at it
        raise
    return predictor


def _next_name(kind: str, board: str, start: date, end: date) -> str:
    stem = f"{kind}-{board.lower()}-{start:%Y%m%d}-{end:%Y%m%d}"
    version = Predictor.objects.filter(name__startswith=f"{stem}-v").count() + 1
    while Predictor.objects.filter(name=f"{stem}-v{version}").exists():
        version += 1
    return f"{stem}-v{version}"


# -- predictions ----------------------------------------------------------------------------------


@dataclass
class PredictionRun:
    """Predictions stored per session date (0 when no stock had a complete window)."""

    predictor: str
    stored: dict[date, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.stored.values())


def predictions_store(*, predictor: Predictor, start: date, end: date | None = None) -> PredictionRun:
    """Predict every active stock of the predictor's board on each KRX session ``start`` ..
    ``end`` (default: ``start`` only) and upsert ``Prediction`` rows (unique on predictor,
    instrument and session), ranked per session by probability (ties by symbol).

    Only candles up to each session are read for its predictions. A stock gets a prediction
    when it traded on all 20 sessions up to t. Raises ``DomainError`` when the range holds no
    session or a single ``start`` is not a session, and ``PredictorUnavailable``.
    """
    end = end or start
    days = sessions.sessions_between(start, end)
    if not days:
        what = f"{start} is not a KRX session" if start == end else f"no KRX session between {start} and {end}"
        raise DomainError(what, field="date")
    model = load_predictor_model(predictor)
    board_panel = selectors.krx_panel(
        board=predictor.market,
        start=sessions.session_offset(days[0], -(predictor.window - 1)),
        end=days[-1],
        active_only=True,
    )
    panel = board_panel.panel
    rows = np.zeros(len(panel.sessions), dtype=bool)
    first = panel.session_index(days[0])
    rows[first:] = True
    probabilities = model.score_panel(panel, rows)
    run = PredictionRun(predictor=predictor.name)
    with transaction.atomic():
        for t in range(first, len(panel.sessions)):
            run.stored[panel.sessions[t].date()] = _store_session(
                predictor, panel.sessions[t].date(), probabilities[t], board_panel.instrument_ids
            )
    return run


def _store_session(predictor: Predictor, day: date, probabilities: np.ndarray, instrument_ids: np.ndarray) -> int:
    scored = np.flatnonzero(~np.isnan(probabilities))
    # columns are in symbol order, so a stable sort breaks ties by symbol
    order = scored[np.argsort(-probabilities[scored], kind="stable")]
    rows = [
        Prediction(
            predictor=predictor,
            instrument_id=int(instrument_ids[n]),
            session_date=day,
            horizon=predictor.horizon,
            probability_up=float(probabilities[n]),
            rank=rank,
        )
        for rank, n in enumerate(order, start=1)
    ]
    Prediction.objects.bulk_create(
        rows,
        batch_size=PREDICTION_BATCH_SIZE,
        update_conflicts=True,
        unique_fields=["predictor", "instrument", "session_date"],
        update_fields=["horizon", "probability_up", "rank"],
    )
    # a stock that lost its prediction on a re-run (e.g. deactivated) must not keep a stale rank
    Prediction.objects.filter(predictor=predictor, session_date=day).exclude(
        instrument_id__in=[row.instrument_id for row in rows]
    ).delete()
    return len(rows)


def krx_candles_update() -> str:
    """Bring the KRX daily candles up to date before predicting.

    KRX has no live source in this project: an operator (or a job outside it) drops the day's
    file in the recorded format (``markets.importers.parse_krx_daily``) at
    ``PREDICTIONS["KRX_DAILY_FILE"]``; it is imported here, idempotently. Without that setting the
    stored candles are used as they are. Returns what happened, for the log.
    """
    from markets.importers import parse_krx_daily
    from markets.services import candles_import

    configured = settings.PREDICTIONS.get("KRX_DAILY_FILE")
    if not configured:
        return "no KRX_DAILY_FILE configured: predicting on the stored candles"
    path = Path(configured)
    if not path.exists():
        return f"{path} not found: predicting on the stored candles"
    parsed = parse_krx_daily(path)
    result = candles_import(groups=parsed.groups, instruments=parsed.instruments.values(), segments=parsed.segments)
    return f"{path.name}: {result.candles_written} candles written"


def daily_predictions_run(*, day: date | None = None) -> dict:
    """The evening job: update candles, then store every active predictor's predictions for
    ``day`` (default: today in Asia/Seoul).

    Skips the day when it is not a KRX session, and a board with no candle on the day (its data
    did not arrive). A predictor that can't be loaded (CNN without PyTorch, artifact gone) is
    skipped and logged; the others still run. Returns {"day", "candles", "stored": {name: n},
    "skipped": {name or "day": reason}}.
    """
    day = day or timezone.localtime(timezone.now(), selectors.SEOUL).date()
    summary = {"day": str(day), "candles": krx_candles_update(), "stored": {}, "skipped": {}}
    if not sessions.is_session(day):
        summary["skipped"]["day"] = "not a KRX session"
        return summary
    for predictor in selectors.predictor_list(active_only=True).order_by("name"):
        if not selectors.has_candles_on(board=predictor.market, day=day):
            summary["skipped"][predictor.name] = f"no {predictor.market} candles for {day}"
            continue
        try:
            summary["stored"][predictor.name] = predictions_store(predictor=predictor, start=day).total
        except PredictorUnavailable as exc:
            log.warning("daily predictions: %s skipped: %s", predictor.name, exc.message)
            summary["skipped"][predictor.name] = exc.message
    log.info("daily predictions %s", summary)
    return summary


# -- backtests ------------------------------------------------------------------------------------


@transaction.atomic
def prediction_backtest_create(
    *,
    user,
    predictor: Predictor,
    start: date,
    end: date,
    top_n: int = 20,
    hold_sessions: int = 5,
    stop_loss_pct: Decimal | None = None,
    buy_fee_pct: Decimal = Decimal("0.015"),
    sell_fee_pct: Decimal = Decimal("0.015"),
    sell_tax_pct: Decimal | None = None,
    initial_capital: Decimal = Decimal("10000000"),
    market: str | None = None,
) -> PredictionBacktest:
    """Backtest the stored predictions of ``predictor`` over the KRX sessions ``start`` ..
    ``end`` (rules: ``predictions.backtest``) and store the result for ``user``.

    Raises ``DomainError`` (field named) when the board is not the predictor's, the period is not
    after the predictor's training period (it would be in sample), holds too few sessions, a
    session that buys has no stored predictions (``MissingPredictions``), or the sell tax of a
    year is unknown.
    """
    market = market or predictor.market
    if market != predictor.market:
        raise DomainError(f"{predictor.name} predicts {predictor.market}, not {market}", field="market")
    if start <= predictor.train_end:
        raise NotOutOfSample(
            f"start must be after {predictor.train_end}, the end of {predictor.name}'s training period", field="start"
        )
    if end < start:
        raise DomainError("end must not be before start", field="end")
    days = sessions.sessions_between(start, end)
    if len(days) <= hold_sessions:
        raise DomainError(f"{len(days)} KRX sessions are too few to hold {hold_sessions} sessions", field="end")
    try:
        params = BacktestParams(
            top_n=top_n,
            hold_sessions=hold_sessions,
            stop_loss_pct=float(stop_loss_pct) if stop_loss_pct is not None else None,
            buy_fee_pct=float(buy_fee_pct),
            sell_fee_pct=float(sell_fee_pct),
            sell_tax_pct=float(sell_tax_pct) if sell_tax_pct is not None else None,
            initial_capital=float(initial_capital),
        )
    except ValueError as exc:
        raise DomainError(str(exc)) from None
    board_panel = selectors.krx_panel(board=market, start=days[0], end=days[-1])
    first, last = 0, len(days) - 1
    scores, missing = selectors.prediction_scores(predictor=predictor, board_panel=board_panel, first=first, last=last)
    buying_days = set(days[: len(days) - hold_sessions])
    missing = [day for day in missing if day in buying_days]
    if missing:
        raise MissingPredictions(
            f"{predictor.name} has no stored predictions for {len(missing)} session(s) from {missing[0]} to "
            f"{missing[-1]}; run: manage.py predict --model {predictor.name} --start {missing[0]} --end {missing[-1]}",
            field="start",
        )
    try:
        result = run_backtest(board_panel.panel, scores, first, last, params)
    except ValueError as exc:
        raise DomainError(str(exc), field="sell_tax_pct") from None
    m = result.metrics
    return PredictionBacktest.objects.create(
        user=user,
        predictor=predictor,
        market=market,
        start=days[0],
        end=days[-1],
        top_n=top_n,
        hold_sessions=hold_sessions,
        stop_loss_pct=stop_loss_pct,
        buy_fee_pct=buy_fee_pct,
        sell_fee_pct=sell_fee_pct,
        sell_tax_pct=sell_tax_pct,
        initial_capital=initial_capital,
        final_equity=_krw(m["final_equity"]),
        total_return=m["total_return"],
        cagr=m["cagr"],
        max_drawdown=m["max_drawdown"],
        trades=m["trades"],
        win_rate=m["win_rate"],
        avg_trade_return=m["avg_trade_return"],
        benchmark_total_return=m["benchmark_total_return"],
        benchmark_cagr=m["benchmark_cagr"],
        benchmark_max_drawdown=m["benchmark_max_drawdown"],
        curve=[
            {"date": str(day), "equity": int(_krw(e)), "benchmark": int(_krw(b))}
            for day, e, b in zip(result.dates, result.equity, result.benchmark, strict=True)
        ],
    )


def _krw(value: float) -> Decimal:
    """A simulated KRW amount as a whole-won Decimal (KRW has no minor unit)."""
    return Decimal(str(value)).quantize(Decimal(1))


# -- the prediction bot's backtest ----------------------------------------------------------------


def prediction_follow_backtest(
    *,
    model: str,
    start: date,
    end: date,
    second_model: str | None = None,
    condition: str = "model",
    threshold: float = 0.5,
    second_threshold: float = 0.5,
    top_n: int = 5,
    hold_sessions: int = 5,
    stop_loss_pct: float | None = None,
    initial_capital: float = 10_000_000.0,
):
    """The prediction backtest (``predictions.backtest.run_backtest``) of a bot following
    ``model``: on each session of ``start`` .. ``end`` the stocks ``following.select`` picks
    from that session's stored predictions (the same rule the ``predictions`` bot applies),
    held ``hold_sessions`` sessions or to the stop, at the paper account's KRX costs.

    The bot buys a session's picks at the next session's open; the backtest at the session's
    close (its rules), so a trade's ``entry_date`` is the prediction session, and both exit at
    the close ``hold_sessions`` sessions after it. Returns the ``BacktestResult``; raises
    ``DomainError`` (field named) for an unknown model, a bad condition or a short period."""
    from predictions.following import select

    first_model = selectors.predictor_get(name=model)
    if first_model is None:
        raise DomainError(f"no predictor {model!r}", field="model")
    second = selectors.predictor_get(name=second_model) if second_model else None
    if second_model and second is None:
        raise DomainError(f"no predictor {second_model!r}", field="second_model")
    days = sessions.sessions_between(start, end)
    if len(days) <= hold_sessions:
        raise DomainError(f"{len(days)} KRX sessions are too few to hold {hold_sessions} sessions", field="end")
    board_panel = selectors.krx_panel(board=first_model.market, start=days[0], end=days[-1])
    panel = board_panel.panel
    column = {pk: i for i, pk in enumerate(board_panel.instrument_ids)}
    scores = np.full(panel.shape, np.nan)
    for row, day in enumerate(days):
        a = selectors._votes(first_model, day)
        b = selectors._votes(second, day) if second is not None else None
        try:
            chosen = select(
                a, b, condition=condition, threshold=threshold, second_threshold=second_threshold, top_n=top_n
            )
        except ValueError as exc:
            raise DomainError(str(exc), field="condition") from None
        for place, instrument_id in enumerate(chosen):
            if instrument_id in column:
                scores[row, column[instrument_id]] = -place
    trading = settings.TRADING
    fee_pct = float(trading["FEE_BPS"]["krx"]) / 100
    params = BacktestParams(
        top_n=top_n,
        hold_sessions=hold_sessions,
        stop_loss_pct=stop_loss_pct,
        buy_fee_pct=fee_pct,
        sell_fee_pct=fee_pct,
        sell_tax_pct=float(trading["KRX_SELL_TAX_BPS"]) / 100,
        initial_capital=initial_capital,
    )
    return run_backtest(panel, scores, 0, len(days) - 1, params)
