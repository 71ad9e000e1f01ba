"""Investing.com historical-data CSVs."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from markets.importers.base import (
    _COIN,
    KST,
    ParsedCandles,
    _Collector,
    _crypto_info,
    _csv_rows,
    _day_open,
    _no_symbol,
    _read_csv,
    _time,
    normalize_interval,
)
from markets.sources.base import InstrumentInfo


def parse_investing_csv(
    path: Path | str, *, exchange: str | None = None, symbol: str | None = None, interval: str | None = None
) -> ParsedCandles:
    """investing.com-style daily CSV (symbol "BTC_KRW", date, open, high, low, close,
    volume_base_approx, change_pct) -> one group per symbol. Interval 1d.

    The export does not say which exchange it quotes (investing.com's KRW crypto pages use
    Bithumb), so ``exchange`` is required; days open 00:00 KST. Volumes are approximate (the
    source rounds "21.58K").
    """
    path = Path(path)
    if not exchange:
        raise ValueError("investing_csv needs --exchange (the file does not name its exchange; e.g. bithumb)")
    _no_symbol("investing_csv", symbol)
    interval = normalize_interval(interval, fmt="investing_csv", fixed="1d")
    df = _read_csv(path, ["symbol", "date", "open", "high", "low", "close", "volume_base_approx"])
    out = _Collector(path)
    infos: dict[str, InstrumentInfo] = {}
    rows = 0
    for where, (name, day, o, h, lo, c, v) in _csv_rows(
        df, ["symbol", "date", "open", "high", "low", "close", "volume_base_approx"]
    ):
        rows += 1
        if name not in infos:
            base, _, quote = name.partition("_")
            if not (_COIN.match(base) and _COIN.match(quote)):
                raise out.fail(where, f"symbol {name!r} is not like BTC_KRW")
            infos[name] = _crypto_info(exchange, f"{base}/{quote}")
        open_time = _time(out.source, where, "date", partial(_day_open, day, 0, KST))
        out.add(where, infos[name], interval, open_time, [o, h, lo, c, v])
    return out.result(blank_lines=len(df) - rows)
