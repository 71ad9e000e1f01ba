"""Which stocks a bot that follows the predictions buys on a session. No Django.

The prototype's ``buy_daily`` / ``autotrading`` rule: a stock is a candidate when its predicted
probability of going up reaches the model's threshold, under one of three conditions:

* ``model``: the first model's candidates;
* ``both``: stocks that both models' thresholds pass;
* ``either``: stocks that either model's threshold passes.

Candidates are ranked by the best rank they have among the models that pass them (the first
model's rank first on a tie, then the instrument id), and the first ``top_n`` are bought. The
prediction bot (``bots``) and its backtest (``predictions.services.prediction_follow_backtest``)
both call ``select`` so that they pick the same stocks.
"""

from __future__ import annotations

CONDITIONS = ("model", "both", "either")

# instrument id -> (rank, probability_up) of one model on one session
Votes = dict[int, tuple[int, float]]


def select(
    first: Votes,
    second: Votes | None = None,
    *,
    condition: str = "model",
    threshold: float = 0.5,
    second_threshold: float = 0.5,
    top_n: int = 5,
) -> list[int]:
    """The instrument ids to buy, best first (rules in the module docstring). Raises
    ``ValueError`` for an unknown condition, or ``both``/``either`` without a second model."""
    if condition not in CONDITIONS:
        raise ValueError(f"condition must be one of {', '.join(CONDITIONS)}")
    if condition != "model" and second is None:
        raise ValueError(f"condition {condition!r} needs a second model")
    passed_first = {i: rank for i, (rank, p) in first.items() if p >= threshold}
    passed_second = {i: rank for i, (rank, p) in (second or {}).items() if p >= second_threshold}
    if condition == "model":
        chosen = {i: (rank, 0) for i, rank in passed_first.items()}
    elif condition == "both":
        chosen = {
            i: (min(rank, passed_second[i]), 0 if rank <= passed_second[i] else 1)
            for i, rank in passed_first.items()
            if i in passed_second
        }
    else:
        chosen = {}
        for i in passed_first.keys() | passed_second.keys():
            a, b = passed_first.get(i), passed_second.get(i)
            best = min(r for r in (a, b) if r is not None)
            chosen[i] = (best, 0 if a == best else 1)
    return sorted(chosen, key=lambda i: (*chosen[i], i))[:top_n]
