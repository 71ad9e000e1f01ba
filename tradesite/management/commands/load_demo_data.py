"""Import the real data the demo shows: instruments, daily and intraday candles, the recorded
BTC perpetual trades behind the taker-volume API, and a first model's KRX predictions.

Reads the slice shipped in ``markets/data`` (see its SOURCE.md) and, when ``../shared/data`` is
beside the repo, the recorded files that are not shipped because their licence is not stated
(Bithumb's own BTC/KRW daily candles 2013-2022). Every step is an idempotent upsert, so running
it again changes nothing.
"""

from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

SHIPPED = [
    ("import_instruments", ["--format", "upbit_markets", "upbit/v1_market_all.json"]),
    ("import_instruments", ["--format", "bithumb_ticker", "bithumb/public_ticker_ALL_KRW.json"]),
    (
        "import_candles",
        [
            "--format",
            "upbit_csv",
            "coins_daily/upbit_KRW_daily_10coins_2024-09-26_2025-09-27.csv.gz",
            "--interval",
            "1d",
        ],
    ),
    (
        "import_candles",
        [
            "--format",
            "upbit_csv",
            "coins_daily/upbit_KRW_daily_DOGE_ETH_SOL_XRP_2023-07-25_2025-09-28.csv.gz",
            "--interval",
            "1d",
        ],
    ),
    # the demo clock's replays (MARKETS["DEMO_CLOCK"], 2025-05-26 .. 2025-06-16) and their history
    (
        "import_candles",
        [
            "--format",
            "upbit_csv",
            "coins_intraday/upbit_KRW_15min_BTC_DOGE_ETH_XRP_2025-05-19_2025-06-15.csv.gz",
            "--interval",
            "15m",
        ],
    ),
    (
        "import_candles",
        [
            "--format",
            "upbit_csv",
            "coins_intraday/upbit_KRW_60min_SOL_2025-05-19_2025-06-15.csv.gz",
            "--interval",
            "1h",
        ],
    ),
    (
        "import_candles",
        [
            "--format",
            "binance_csv",
            "coins_intraday/binance_spot_USDT_1h_17coins_2025-05-19_2025-06-15.csv.gz",
            "--interval",
            "1h",
        ],
    ),
    (
        "import_candles",
        [
            "--format",
            "binance_csv",
            "coins_intraday/binance_spot_USDT_4h_BTC_ETH_2025-05-19_2025-06-15.csv.gz",
            "--interval",
            "4h",
        ],
    ),
    (
        "import_candles",
        ["--format", "binance_csv", "coins_daily/binance_spot_USDT_daily_19coins_2024-06-16_2025-06-15.csv.gz"],
    ),
    ("import_candles", ["--format", "krx_daily", "krx_daily/krx_daily_ohlcv_top50.csv.gz"]),
]
# recorded BTC perpetual trades -> per-minute taker buy/sell volume (etl/data, MIT)
TRADES = [
    ["--exchange", "binance", "--symbol", "BTCUSDT", "--file", "binance_usdm_BTCUSDT_trades.csv.gz"],
    ["--exchange", "bybit", "--symbol", "BTCUSDT", "--file", "bybit_v5_BTCUSDT_publicTrade_ws_messages.jsonl"],
    ["--exchange", "bybit", "--symbol", "BTCUSD", "--file", "bybit_v2_BTCUSD_ws_trade_messages_2021.jsonl"],
    ["--exchange", "bitmex", "--symbol", "XBTUSD", "--file", "bitmex_XBTUSD_ws_trade_messages.jsonl"],
]
FROM_SHARED = [
    # the KOSPI200 futures/options masters behind the demo's KIS derivatives replay (kis/SOURCE.md)
    ("import_instruments", ["--format", "kis_fo_master", "kis/masterfiles/fo_idx_code_mts.csv"]),
    ("import_instruments", ["--format", "kis_fo_master", "kis/masterfiles/fo_eurex_code.csv"]),
    ("import_instruments", ["--format", "kis_fo_master", "kis/masterfiles/fo_cme_code.csv"]),
    (
        "import_candles",
        [
            "--format",
            "bithumb_daily_csv",
            "coins_daily/bithumb_BTC_KRW_daily_2013-12-27_2022-03-04.csv",
            "--symbol",
            "BTC/KRW",
        ],
    ),
]


class Command(BaseCommand):
    help = "Import the demo's real market data (shipped slice, plus ../shared/data when present)."

    def handle(self, *args, **opts):
        data_dir = Path(settings.MARKETS["DATA_DIR"])
        shared_dir = Path(settings.MARKETS["SHARED_DATA_DIR"])
        steps = [(cmd, args, data_dir) for cmd, args in SHIPPED]
        if shared_dir.is_dir():
            steps += [(cmd, args, shared_dir) for cmd, args in FROM_SHARED]
        else:
            self.stdout.write(f"{shared_dir} absent: importing the shipped slice only")
        for command, args, root in steps:
            fmt, rel = args[1], args[2]
            path = root / rel
            if not path.exists():
                self.stdout.write(self.style.WARNING(f"skipped {rel}: not found in {root}"))
                continue
            self.stdout.write(f"{command} {fmt} {rel}")
            call_command(command, args[0], fmt, str(path), *args[3:], verbosity=opts["verbosity"])
        self._predictions(opts["verbosity"])
        trades_dir = Path(settings.BASE_DIR) / "etl" / "data"
        for args in TRADES:
            self.stdout.write(f"etl_taker_volume {' '.join(args[:4])} {args[-1]}")
            call_command("etl_taker_volume", *args[:-1], str(trades_dir / args[-1]), verbosity=opts["verbosity"])

    def _predictions(self, verbosity: int) -> None:
        """Train the default model on the KOSPI stocks of the slice over 2024 (once) and store its
        out-of-sample predictions for 2025, so the discover list has something to show."""
        from predictions.artifacts import PredictorUnavailable, load_predictor_model
        from predictions.models import Predictor

        active = Predictor.objects.filter(market="KOSPI", kind="gbm", active=True).first()
        if active is not None:
            try:
                load_predictor_model(active)
            except PredictorUnavailable as exc:
                # the database outlived its var/ (a new machine, a wiped volume): train again
                self.stdout.write(self.style.WARNING(f"{exc}: training a new version"))
                active = None
        if active is None:
            self.stdout.write("train_predictor --market KOSPI --train-start 2024-01-01 --train-end 2024-12-31")
            call_command(
                "train_predictor",
                "--market",
                "KOSPI",
                "--train-start",
                "2024-01-01",
                "--train-end",
                "2024-12-31",
                verbosity=verbosity,
            )
        self.stdout.write("predict --start 2025-01-02 --end 2025-06-17")
        call_command("predict", "--start", "2025-01-02", "--end", "2025-06-17", verbosity=verbosity)
