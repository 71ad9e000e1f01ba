"""alerts.conditions on real recorded series: fire times equal a plain loop written here."""

import csv
import gzip
from datetime import datetime

import numpy as np
import pytest
from django.conf import settings

from alerts import conditions

DATA = settings.MARKETS["DATA_DIR"]


def upbit(market):
    """(seconds, closes) of one Upbit KRW market from the 15-min replay CSV (2026-06-28 KST)."""
    with open(DATA / "coins_intraday" / "upbit_KRW_15min_20coins_2026-06-28_1700-2245KST.csv") as fh:
        rows = [r for r in csv.DictReader(fh) if r["market"] == market]
    return [datetime.fromisoformat(r["candle_open_kst"]).timestamp() for r in rows], [float(r["close"]) for r in rows]


def samsung():
    """(seconds, closes) of KRX 005930 daily closes, trading halts (close 0) dropped."""
    with gzip.open(DATA / "krx_daily" / "krx_daily_ohlcv_top50.csv.gz", "rt") as fh:
        rows = [r for r in csv.DictReader(fh) if r["code"] == "005930" and float(r["close"]) > 0]
    return [datetime.fromisoformat(r["date"]).timestamp() for r in rows], [float(r["close"]) for r in rows]


def plain_loop(cond, t, p, level=None, level2=None, value=None, window=0):
    """An independent reading of the rules, one observation at a time."""
    out = []
    for k in range(len(p)):
        now, prev = p[k], (p[k - 1] if k else None)
        lo, hi = (min(level, level2), max(level, level2)) if level2 is not None else (None, None)
        ref = None
        for j in range(k):
            if t[j] >= t[k] - window:
                ref = p[j]
                break
        ok = False
        if cond == "crossing_up":
            ok = prev is not None and prev < level <= now
        elif cond == "crossing_down":
            ok = prev is not None and prev > level >= now
        elif cond == "crossing":
            ok = prev is not None and (prev < level <= now or prev > level >= now)
        elif cond == "greater_than":
            ok = now > level
        elif cond == "less_than":
            ok = now < level
        elif cond == "inside_channel":
            ok = lo <= now <= hi
        elif cond == "outside_channel":
            ok = not (lo <= now <= hi)
        elif cond == "entering_channel":
            ok = prev is not None and not (lo <= prev <= hi) and lo <= now <= hi
        elif cond == "exiting_channel":
            ok = prev is not None and lo <= prev <= hi and not (lo <= now <= hi)
        elif cond == "moving_up":
            ok = ref is not None and now - ref >= value
        elif cond == "moving_down":
            ok = ref is not None and ref - now >= value
        elif cond == "moving_up_pct":
            ok = ref is not None and (now - ref) / ref * 100 >= value
        elif cond == "moving_down_pct":
            ok = ref is not None and (ref - now) / ref * 100 >= value
        if ok:
            out.append(k)
    return out


def check(cond, t, p, **kw):
    kw2 = {k: v for k, v in kw.items() if k != "window"}
    got = conditions.fire_series(cond, t, p, window_seconds=kw.get("window", 0), **kw2)
    want = plain_loop(cond, t, p, **kw)
    assert got == want
    return got


def test_samsung_crosses_55500_on_the_recorded_days():
    t, p = samsung()
    up = check("crossing_up", t, p, level=55500.0)
    down = check("crossing_down", t, p, level=55500.0)
    both = check("crossing", t, p, level=55500.0)
    assert sorted(up + down) == both
    assert up and down
    days = {datetime.fromtimestamp(t[k]).date().isoformat() for k in both}
    assert {"2024-11-18", "2024-11-20", "2024-11-21", "2024-12-12"} <= days  # 55,000->56,700, 56,700->55,300, ...
    assert 0 not in both  # never at creation


def test_crossing_never_fires_at_creation_even_when_past_the_level():
    t, p = samsung()
    assert conditions.fire_series("crossing_up", t[:1], p[:1], level=1.0) == []
    assert conditions.fire_series("greater_than", t[:1], p[:1], level=1.0) == [0]  # a state does


@pytest.mark.parametrize("market", ["KRW-BTC", "KRW-ETH", "KRW-XRP"])
def test_every_condition_on_the_upbit_replay(market):
    t, p = upbit(market)
    assert len(p) == 24
    mid = float(np.median(p))
    lo, hi = float(np.percentile(p, 30)), float(np.percentile(p, 70))
    step = float(np.std(np.diff(p)))
    for cond in ("crossing", "crossing_up", "crossing_down", "greater_than", "less_than"):
        check(cond, t, p, level=mid)
    fired = 0
    for cond in ("entering_channel", "exiting_channel", "inside_channel", "outside_channel"):
        fired += len(check(cond, t, p, level=hi, level2=lo))
    assert fired
    for cond in ("moving_up", "moving_down"):
        check(cond, t, p, value=step, window=30 * 60)
    for cond in ("moving_up_pct", "moving_down_pct"):
        check(cond, t, p, value=0.2, window=60 * 60)


def test_moving_pct_fires_on_samsung_3pct_in_a_week():
    t, p = samsung()
    got = check("moving_down_pct", t, p, value=3.0, window=7 * 86400)
    assert got


def test_vectorized_batch_equals_one_alert_at_a_time():
    """Many alerts over the 20 replay coins at one batch (the 18:00 candle vs 17:45)."""
    names = ["KRW-BTC", "KRW-ETH", "KRW-XRP", "KRW-SOL", "KRW-DOGE"]
    series = {m: upbit(m) for m in names}
    rng = np.random.default_rng(7)
    rows = []
    for m in names:
        t, p = series[m]
        for cond in conditions.CONDITIONS:
            lv = float(rng.choice(p))
            rows.append(
                (cond, p[5], p[4], lv, float(rng.choice(p)), abs(p[5] - p[3]) * float(rng.uniform(0.5, 1.5)), p[3])
            )
    cond, price, prev, lv, lv2, val, ref = zip(*rows, strict=False)
    val = [
        v if c in conditions.MOVING and not c.endswith("pct") else (0.1 if c.endswith("pct") else v)
        for c, v in zip(cond, val, strict=False)
    ]
    mask = conditions.evaluate(conditions.codes(cond), price, prev, lv, lv2, val, ref)
    assert mask.shape == (len(rows),)
    for i, row in enumerate(rows):
        one = conditions.evaluate([row[0]], [row[1]], [row[2]], [row[3]], [row[4]], [val[i]], [row[6]])
        assert mask[i] == one[0]
    assert 0 < mask.sum() < len(rows)


def test_unknown_condition_is_a_value_error():
    with pytest.raises(ValueError, match="sideways"):
        conditions.codes(["crossing", "sideways"])
