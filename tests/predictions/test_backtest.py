"""Backtest arithmetic, checked against a plain loop over the real top-50 rows."""

from datetime import date

import numpy as np
import pytest

from predictions.backtest import BacktestParams, cagr, krx_sell_tax_pct, max_drawdown, run_backtest
from predictions.evaluation import momentum_scores
from predictions.sessions import sessions_between

START, END = date(2024, 7, 1), date(2024, 10, 31)
HALTED = "012450"  # halted 2024-08-29 .. 2024-09-26


def reference_backtest(frame, scores_by_day, *, top_n, hold, stop_pct, buy_fee_pct, sell_fee_pct, capital):
    """The backtest rules written as a plain loop over the CSV rows (dicts, no arrays)."""
    bars = {(row.code, row.date.date()): row for row in frame.itertuples()}
    all_days = sorted({d.date() for d in frame["date"]})
    codes = sorted(frame["code"].unique())
    trade_days = [d for d in all_days if START <= d <= END]
    last_close, cash, held, trades, equity, bench = {}, capital, [], [], [], []

    def halt(bar):
        return bar.open == 0 and bar.high == 0 and bar.low == 0

    def trades_on(code, day):  # halts and sessions with zero volume cannot be traded
        bar = bars.get((code, day))
        return bar is not None and not halt(bar) and bar.volume > 0

    for day in all_days:
        previous_close = dict(last_close)
        for code in codes:
            bar = bars.get((code, day))
            if bar is not None and not halt(bar):
                last_close[code] = bar.close
        if day not in trade_days:
            continue
        i = trade_days.index(day)
        tax = {2024: 0.18, 2025: 0.15}[day.year]
        for position in list(held):
            bar, price, reason = bars.get((position["code"], day)), None, None
            if trades_on(position["code"], day):
                if stop_pct is not None:
                    stop = position["entry"] * (1 - stop_pct / 100)
                    if bar.open <= stop:
                        price, reason = bar.open, "stop"
                    elif bar.low <= stop:
                        price, reason = stop, "stop"
                if price is None and i >= position["due"]:
                    price, reason = bar.close, "hold"
            if price is None and i == len(trade_days) - 1:
                price, reason = last_close[position["code"]], "end"
            if price is not None:
                proceeds = position["shares"] * price * (1 - sell_fee_pct / 100 - tax / 100)
                cash += proceeds
                trades.append((position["code"], position["day"], day, reason, proceeds / position["cost"] - 1))
                held.remove(position)
        if i + hold <= len(trade_days) - 1:
            marked = cash + sum(p["shares"] * last_close[p["code"]] for p in held)
            slot = marked / (top_n * hold)
            ranked = sorted(
                (code for code in codes if trades_on(code, day) and not np.isnan(scores_by_day[day].get(code, np.nan))),
                key=lambda code: (-scores_by_day[day][code], code),
            )
            for code in ranked[:top_n]:
                budget = min(slot, cash / (1 + buy_fee_pct / 100))
                price = bars[(code, day)].close
                cost = budget * (1 + buy_fee_pct / 100)
                cash -= cost
                held.append(
                    {"code": code, "day": day, "entry": price, "shares": budget / price, "cost": cost, "due": i + hold}
                )
        equity.append(cash + sum(p["shares"] * last_close[p["code"]] for p in held))
        # equal-weight benchmark: mean return of the stocks that traded, against their last close
        if i == 0:
            bench.append(capital)
        else:
            returns = [
                last_close[c] / previous_close[c] - 1
                for c in codes
                if c in previous_close and (c, day) in bars and not halt(bars[(c, day)])
            ]
            bench.append(bench[-1] * (1 + sum(returns) / len(returns)))
    return np.array(equity), np.array(bench), trades


def _scores(panel):
    scores = momentum_scores(panel)
    # make sure a position is caught by the halt: buy 012450 the session before it starts
    scores[panel.session_index(date(2024, 8, 28)), panel.codes.get_loc(HALTED)] = 2.0
    return scores


@pytest.mark.parametrize("stop_pct", [None, 4.0])
def test_backtest_matches_a_plain_loop_over_the_real_rows(top50_frame, top50_panel, stop_pct):
    scores = _scores(top50_panel)
    params = BacktestParams(
        top_n=10,
        hold_sessions=5,
        stop_loss_pct=stop_pct,
        buy_fee_pct=0.015,
        sell_fee_pct=0.015,
        initial_capital=10_000_000,
    )
    first, last = top50_panel.session_index(START), top50_panel.session_index(date(2024, 10, 31))

    result = run_backtest(top50_panel, scores, first, last, params)

    by_day = {
        day.date(): dict(zip(top50_panel.codes, scores[t], strict=True)) for t, day in enumerate(top50_panel.sessions)
    }
    equity, bench, trades = reference_backtest(
        top50_frame,
        by_day,
        top_n=10,
        hold=5,
        stop_pct=stop_pct,
        buy_fee_pct=0.015,
        sell_fee_pct=0.015,
        capital=10_000_000,
    )
    assert result.dates == sessions_between(START, END)
    np.testing.assert_allclose(result.equity, equity, rtol=1e-12)
    np.testing.assert_allclose(result.benchmark, bench, rtol=1e-12)
    got = [(t.code, t.entry_date, t.exit_date, t.reason) for t in result.trades]
    assert sorted(got) == sorted(trade[:4] for trade in trades)
    np.testing.assert_allclose(
        sorted(t.net_return for t in result.trades), sorted(trade[4] for trade in trades), rtol=1e-12
    )
    # the halted position could only be sold when trading resumed
    halted = [t for t in result.trades if t.code == HALTED and t.entry_date == date(2024, 8, 28)]
    assert [(t.exit_date, t.reason) for t in halted] in ([(date(2024, 9, 27), "hold")], [(date(2024, 9, 27), "stop")])
    assert result.metrics["trades"] == len(result.trades) > 10 * 70
    if stop_pct is not None:
        assert any(t.reason == "stop" for t in result.trades)


def test_metrics_follow_their_definitions(top50_panel):
    params = BacktestParams(top_n=5, hold_sessions=5, stop_loss_pct=None)
    first, last = top50_panel.session_index(START), top50_panel.session_index(END)

    result = run_backtest(top50_panel, momentum_scores(top50_panel), first, last, params)

    m, curve = result.metrics, result.equity
    assert m["total_return"] == pytest.approx(curve[-1] / 10_000_000 - 1)
    assert m["max_drawdown"] == pytest.approx(max(1 - curve[i] / curve[: i + 1].max() for i in range(len(curve))))
    returns = [t.proceeds / t.cost - 1 for t in result.trades]
    assert m["win_rate"] == pytest.approx(sum(r > 0 for r in returns) / len(returns))
    assert m["avg_trade_return"] == pytest.approx(np.mean(returns))
    assert m["cagr"] == pytest.approx((curve[-1] / 10_000_000) ** (365.25 / (END - START).days) - 1)


def test_max_drawdown_and_cagr():
    assert max_drawdown(np.array([100.0, 120.0, 90.0, 130.0, 117.0])) == pytest.approx(0.25)
    assert cagr(100.0, 121.0, date(2023, 1, 1), date(2025, 1, 1)) == pytest.approx(1.21 ** (365.25 / 731) - 1)
    assert cagr(100.0, 121.0, date(2025, 1, 1), date(2025, 1, 1)) is None


def test_sell_tax_is_the_krx_rate_of_the_sell_year():
    assert krx_sell_tax_pct(date(2024, 12, 30)) == 0.18
    assert krx_sell_tax_pct(date(2025, 1, 2)) == 0.15
    with pytest.raises(ValueError, match="no KRX sell tax rate known for 2031"):
        krx_sell_tax_pct(date(2031, 1, 2))


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="stop_loss_pct"):
        BacktestParams(stop_loss_pct=0)
    with pytest.raises(ValueError, match="top_n"):
        BacktestParams(top_n=0)
