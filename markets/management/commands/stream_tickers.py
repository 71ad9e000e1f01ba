"""Publish live ticker updates to the channel layer and keep ``Ticker`` rows current.

    manage.py stream_tickers --source bithumb            # ccxt, polls fetch_tickers
    manage.py stream_tickers --source ws --exchange upbit [--max-symbols 100] [--url ws://...]
        # the exchange's WebSocket (tickers + trades), REST polling only while the socket is down
    manage.py stream_tickers --source replay --dataset upbit_top20 --speed 225
    manage.py stream_tickers --source replay --dataset krx_daily --demo-clock   # on the shared demo clock
    manage.py stream_tickers --source kis                # KIS realtime WebSocket (settings.KIS_REALTIME)
    manage.py stream_tickers --source kis_replay --file ../shared/data/kis/recordings/kis_20250718_day.sqlite3 \
        --speed 2 --start 2025-07-18T14:03:50+09:00 [--loop]   # a recorded KIS session, the same parser

One process per source. With the in-memory channel layer (no ``REDIS_URL``) the pushes reach
no other process: use ``manage.py serve`` for the embedded demo, which runs the feed inside
the web process.
"""

import asyncio

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.module_loading import import_string

from markets import exchanges
from markets.feed import run_feed, run_feed_forever
from markets.replay_files import replay_data_dir
from markets.sources import get_source
from markets.sources.replay import DATASETS


async def _beside(main, handlers):
    """Run ``main`` with the trade handlers' ``run()`` loops beside it; returns its result."""
    loops = [asyncio.create_task(h.run()) for h in handlers if hasattr(h, "run")]
    try:
        return await main
    finally:
        for task in loops:
            task.cancel()
        await asyncio.gather(*loops, return_exceptions=True)


LIVE_SOURCES = list(exchanges.ccxt_rest_ids())  # the venue registry, markets/exchanges.py
WS_EXCHANGES = list(exchanges.websocket_ids())


class Command(BaseCommand):
    help = "Stream tickers from an exchange (ccxt) or a recorded replay into Ticker rows and /ws/tickers/."

    def add_arguments(self, parser):
        parser.add_argument("--source", required=True, choices=["replay", "kis", "kis_replay", "ws", *LIVE_SOURCES])
        parser.add_argument("--dataset", default="upbit_top20", choices=sorted(DATASETS), help="replay only")
        parser.add_argument("--speed", type=float, default=None, help="replay speed-up factor (default: 1 batch/s)")
        parser.add_argument("--file", help="kis_replay only: a recorded session (kis_<YYYYMMDD>_<day|night>.sqlite3)")
        parser.add_argument(
            "--start", help="kis_replay only: where to begin, ISO 8601 with offset (default: the first record)"
        )
        parser.add_argument("--loop", action="store_true", help="kis_replay only: start over after the last record")
        parser.add_argument("--exchange", choices=WS_EXCHANGES, help="ws only: the venue whose WebSocket to stream")
        parser.add_argument(
            "--url", help="ws only: the WebSocket URL (default: the exchange's documented public stream)"
        )
        parser.add_argument(
            "--max-symbols",
            type=int,
            default=100,
            help="ws only: without --symbols, subscribe this many stored instruments (most traded first)",
        )
        parser.add_argument("--symbols", nargs="*", help="limit to these unified symbols, e.g. BTC/KRW")
        parser.add_argument("--batches", type=int, default=None, help="stop after N batches (for checks)")
        parser.add_argument(
            "--demo-clock",
            action="store_true",
            help="replay only: follow the demo clock installed in the cache (markets.clock; shared through Redis), "
            "installing MARKETS['DEMO_CLOCK'] from now when there is none",
        )

    def handle(self, *args, **opts):
        if "InMemoryChannelLayer" in settings.CHANNEL_LAYERS["default"]["BACKEND"]:
            self.stderr.write(
                "REDIS_URL is not set: tickers are stored, but pushes stay inside this process. "
                "Use `manage.py serve` for the embedded demo."
            )
        if opts["source"] == "replay":
            try:
                data_dir = replay_data_dir(opts["dataset"])
            except FileNotFoundError as exc:
                raise CommandError(str(exc)) from exc

            clock = None
            if opts["demo_clock"]:
                from datetime import UTC, datetime

                from markets.clock import demo_clock, demo_clock_from_settings, demo_clock_install

                clock = demo_clock()
                if clock is None:
                    clock = demo_clock_from_settings(wall_start=datetime.now(UTC), speed=opts["speed"])
                    demo_clock_install(clock=clock)
                self.stdout.write(f"demo clock: {clock.labels(datetime.now(UTC))[0]}")

            def factory():
                return get_source(
                    "replay",
                    dataset=opts["dataset"],
                    data_dir=data_dir,
                    speed=None if clock else opts["speed"],
                    demo_clock=clock,
                )
        elif opts["source"] == "kis":
            from markets.kis_realtime import approval_key_function, build_source

            try:  # fail fast on a missing column list or approval key function
                build_source()
                approval_key_function()
            except (FileNotFoundError, ImportError) as exc:
                raise CommandError(str(exc)) from exc

            def factory():
                return build_source()
        elif opts["source"] == "kis_replay":
            factory = self._kis_replay(opts)
        elif opts["source"] == "ws":
            factory = self._ws(opts)
        else:

            def factory():
                return get_source(opts["source"])

        self.stdout.write(f"streaming {opts['source']} tickers (Ctrl-C stops)")
        handlers = getattr(factory, "trade_handlers", [])
        try:
            if opts["batches"]:
                handled = asyncio.run(
                    _beside(run_feed(factory(), symbols=opts["symbols"], max_batches=opts["batches"]), handlers)
                )
                self.stdout.write(f"{handled} batches published")
            else:
                asyncio.run(_beside(run_feed_forever(factory, symbols=opts["symbols"]), handlers))
        except KeyboardInterrupt:
            self.stdout.write("stopped")

    @staticmethod
    def _ws(opts):
        from markets import selectors
        from markets.breakers import breakers
        from markets.sources.ws_source import WsSource

        if not opts["exchange"]:
            raise CommandError(f"--source ws needs --exchange (one of {', '.join(WS_EXCHANGES)})")
        if opts["max_symbols"] < 1:
            raise CommandError("--max-symbols must be at least 1")
        if not opts["symbols"]:  # the stored instruments, so a start without the network still subscribes
            opts["symbols"] = selectors.stream_symbols(exchange=opts["exchange"], limit=opts["max_symbols"]) or None

        handlers = [
            handler
            for path in settings.MARKETS.get("TRADE_HANDLERS", [])
            if (handler := import_string(path)(exchange=opts["exchange"])) is not None
        ]

        def factory():
            return WsSource(opts["exchange"], url=opts["url"], breakers=breakers(), trade_handlers=handlers)

        factory.trade_handlers = handlers
        return factory

    @staticmethod
    def _kis_replay(opts):
        from datetime import datetime

        from markets.kis_realtime import build_replay_source
        from markets.sources.kis.recording import RecordingError

        if not opts["file"]:
            raise CommandError("--source kis_replay needs --file (a recorded session)")
        start = None
        if opts["start"]:
            try:
                start = datetime.fromisoformat(opts["start"])
            except ValueError as exc:
                raise CommandError(f"--start {opts['start']!r}: not an ISO 8601 datetime") from exc
        kwargs = {"speed": opts["speed"] or 1.0, "start": start, "loop": opts["loop"]}
        try:  # fail fast on a missing file, a bad speed or start
            build_replay_source(opts["file"], **kwargs)
        except (FileNotFoundError, RecordingError, ValueError, OSError) as exc:
            raise CommandError(str(exc)) from exc

        def factory():
            return build_replay_source(opts["file"], **kwargs)

        return factory
