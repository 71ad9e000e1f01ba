"""Serve the site (HTTP + WebSocket, daphne) with replay ticker feeds in the same process.

    manage.py serve [--host 127.0.0.1] [--port $PORT|8000] [--speed 60] [--replay DATASET ...] [--no-feed]

By default the replays of ``MARKETS["DEMO_CLOCK"]["DATASETS"]`` (Upbit BTC/DOGE/ETH/XRP 15-min,
Binance USDT pairs 1 h and 4 h, KRX daily) run on one demo clock (``markets.clock``) over the
window START..END of that setting at SPEED x (``--speed`` overrides); the clock is installed for
the header, ``/api/v1/clock/``, the charts and the bots. ``--replay`` picks other datasets: those
covering the clock's window follow it, the others (e.g. ``upbit_top20``, 2026-06-28) run on their
own pacing and then no clock is installed. On the clock, the recorded KIS derivatives session
``MARKETS["DEMO_CLOCK"]["KIS_RECORDING"]`` (in SHARED_DATA_DIR; unlicensed, never shipped) runs
too, as the ``kis_replay`` source: another date than the window, so it loops,
``recorded_now = kis_start + (clock.now - clock.start) mod span`` (``markets.clock.looped_instant``),
and /derivatives/ says so; without the recording the page says no derivatives replay is available.

The embedded demo has no Redis, so the feed must share the web process's event loop and its
in-memory channel layer; this command starts daphne and schedules the feeds on that loop, and
runs the due periodic jobs in-process (``tradesite.inline_beat``; no broker in the demo).
Ctrl-C stops both. In production run daphne workers and ``stream_tickers`` separately.
"""

import asyncio
import logging
import os
import threading
from datetime import UTC, datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from markets.replay_files import replay_data_dir
from markets.sources.clock import KST
from markets.sources.replay import DATASETS

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Serve tradesite with daphne and replay feeds of recorded real prices in-process."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument(
            "--replay",
            action="append",
            choices=sorted(DATASETS),
            help="replay dataset(s); default MARKETS['DEMO_CLOCK']['DATASETS'] on the demo clock",
        )
        parser.add_argument(
            "--speed", type=float, default=None, help="demo clock speed (default MARKETS['DEMO_CLOCK']['SPEED'], 60)"
        )
        parser.add_argument("--no-feed", action="store_true", help="serve only")
        parser.add_argument("--no-jobs", action="store_true", help="do not run the periodic jobs in-process")

    def handle(self, *args, **opts):
        from daphne.endpoints import build_endpoint_description_strings
        from daphne.server import Server  # installs Twisted's asyncio reactor
        from twisted.internet import reactor

        from markets.clock import demo_clock_clear, demo_clock_from_settings, demo_clock_install, kis_replay_clear
        from markets.feed import run_feed_forever
        from markets.sources import get_source
        from tradesite.asgi import application
        from tradesite.inline_beat import run_inline_beat

        datasets = [] if opts["no_feed"] else (opts["replay"] or settings.MARKETS["DEMO_CLOCK"]["DATASETS"])
        clock = demo_clock_from_settings(wall_start=datetime.now(UTC), speed=opts["speed"])
        sources = {}
        probes = {}
        on_clock = []
        for dataset in datasets:
            try:
                data_dir = replay_data_dir(dataset)
            except FileNotFoundError as exc:
                raise CommandError(str(exc)) from exc
            probes[dataset] = (get_source("replay", dataset=dataset, data_dir=data_dir, demo_clock=clock), data_dir)
            on_clock.append(probes[dataset][0].covers(clock.start, clock.end))
        shared = bool(datasets) and all(on_clock)  # one clock for all, or each on its own pacing

        unused = set(datasets) if shared else set()

        def factory(dataset):
            probe, data_dir = probes[dataset]
            if dataset in unused:  # the source read at startup serves the first run
                unused.discard(dataset)
                return probe
            return get_source(
                "replay",
                dataset=dataset,
                data_dir=data_dir,
                speed=None if shared else opts["speed"],
                demo_clock=clock if shared else None,
            )

        for dataset in datasets:
            sources[dataset] = lambda d=dataset: factory(d)
        kis_replay_clear()
        if shared:
            demo_clock_install(clock=clock)
            kis = _kis_replay(clock)
            if kis is not None:
                sources["kis_replay"] = kis
                self.stdout.write(f"derivatives: {kis.label}")
            else:
                self.stdout.write("derivatives: no KIS recording in SHARED_DATA_DIR, no derivatives replay")
            label, _ = clock.labels(clock.wall_start)
            self.stdout.write(
                f"demo clock: {label} (window {clock.start:%Y-%m-%d %H:%M} .. {clock.end:%Y-%m-%d %H:%M} UTC)"
            )
        else:
            demo_clock_clear()
            own = [d for d, follows in zip(datasets, on_clock, strict=True) if not follows]
            if own:
                self.stdout.write(f"no demo clock: {', '.join(own)} do not cover the clock's window; own pacing")

        def start_feeds():
            # daphne calls this just before the reactor runs, with its asyncio loop set current
            loop = asyncio.get_event_loop()
            tasks = [loop.create_task(run_feed_forever(factory)) for factory in sources.values()]
            if not opts["no_jobs"]:
                tasks.append(loop.create_task(run_inline_beat()))
            reactor.addSystemEventTrigger("before", "shutdown", lambda: [task.cancel() for task in tasks])
            url = f"http://{opts['host']}:{opts['port']}/"
            self.stdout.write(
                self.style.SUCCESS(f"tradesite is serving {url}  (feeds: {', '.join(sources) or 'none'}; Ctrl-C stops)")
            )
            for line in jobs_banner(no_jobs=opts["no_jobs"]):
                self.stdout.write(line)

        # the KRX calendar takes seconds to build: build it now, not in the first KRX order
        threading.Thread(target=_warm_calendars, daemon=True).start()
        server = Server(
            application=application,
            endpoints=build_endpoint_description_strings(host=opts["host"], port=opts["port"]),
            ready_callable=start_feeds,
            verbosity=0,
        )
        server.run()
        self.stdout.write("stopped")


class _KisReplayFactory:
    """Builds the ``kis_replay`` source of ``path`` on ``clock`` (``looped_instant``), for
    ``run_feed_forever``; ``label`` says what it replays."""

    def __init__(self, clock, path, start, end):
        self.clock, self.path, self.start, self.end = clock, path, start, end
        minutes, seconds = divmod(int((end - start).total_seconds() + 1), 60)
        self.label = (
            f"replay of the KIS session {start.astimezone(KST):%Y-%m-%d %H:%M}-{end.astimezone(KST):%H:%M} KST,"
            f" looping every {minutes} min {seconds} s of the demo clock"
        )

    def __call__(self):
        from markets.clock import looped_instant
        from markets.kis_realtime import build_replay_source

        clock, start, end = self.clock, self.start, self.end
        return build_replay_source(
            self.path,
            recorded_now=lambda: looped_instant(clock, datetime.now(UTC), start=start, end=end),
            loop=True,
        )


def _kis_replay(clock):
    """The KIS derivatives replay on ``clock`` (``MARKETS["DEMO_CLOCK"]["KIS_RECORDING"]`` in
    SHARED_DATA_DIR, with the KIS column lists), installed for /derivatives/; ``None`` when the
    recording or the column lists are absent (they are unlicensed, never shipped)."""
    from pathlib import Path

    from markets.clock import kis_replay_install
    from markets.sources.kis.frames import load_spec
    from markets.sources.kis.replay import wire_frames

    rel = settings.MARKETS["DEMO_CLOCK"].get("KIS_RECORDING")
    path = Path(settings.MARKETS["SHARED_DATA_DIR"]) / rel if rel else None
    spec_file = Path(settings.KIS_REALTIME["SPEC_FILE"])
    if path is None or not path.is_file() or not spec_file.is_file():
        return None
    frames = wire_frames(path, load_spec(spec_file))
    if not frames:
        return None
    start, end = frames[0].received, frames[-1].received
    kis_replay_install(path=str(path), start=start, end=end)
    return _KisReplayFactory(clock, path, start, end)


def jobs_banner(*, no_jobs: bool = False) -> list[str]:
    """The startup lines about the periodic jobs: how many run here, which are off and why."""
    from tradesite.schedule import JOBS, jobs_off

    if no_jobs:
        return ["periodic jobs: off (--no-jobs)"]
    off = jobs_off()
    lines = [f"periodic jobs: {len(JOBS) - len(off)} of {len(JOBS)} run in this process"]
    lines += [f"  off: {name}: {reason}" for name, reason in off.items()]
    return lines


def _warm_calendars() -> None:
    from trading import rules

    rules.krx_is_open(datetime.now(UTC))
