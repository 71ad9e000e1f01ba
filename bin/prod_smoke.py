"""The production topology, started and proved as one system (``make prod-smoke``; run by CI).

Starts what the README's "Running for real" describes, on PostgreSQL and Redis:

    uvicorn tradesite.asgi:application --workers N     web: HTTP + WebSocket
    celery -A tradesite worker                          jobs
    celery -A tradesite beat                            schedule (DatabaseScheduler)
    manage.py stream_tickers --source replay            the live ticker feed (recorded real prices)

on a fresh database (``SMOKE_DATABASE_URL``, default ``postgres://postgres@127.0.0.1:5432/
tradesite_smoke``, dropped and created) and Redis db 12 (``SMOKE_REDIS_URL``), after
``migrate``, ``setup_periodic_tasks`` and ``load_demo_data``. Then it checks, each with a deadline:

1. a beat job runs through the worker (the 15-second bot check's success, in /api/v1/status/);
2. a WebSocket client on ``/ws/tickers/`` receives a board pushed by the feed process;
3. an order placed over HTTP (JWT) arrives on that user's ``/ws/account/``;
4. SIGTERM while orders are in flight stops every process within 10 s, and the ledger reconciles
   afterwards (``check_ledgers``): nothing half-written.

Prints one line per check and exits 1 on the first failure (with the failing process's log tail).
Needs PostgreSQL and Redis running (see README). Logs: ``var/smoke/<process>.log``.

    .venv/bin/python bin/prod_smoke.py [--web-workers 2] [--port 8765]
"""

import argparse
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import psycopg
import redis
import requests
import websockets

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
BIN = Path(PY).parent
LOGS = ROOT / "var" / "smoke"
STOP_WITHIN_SECONDS = 10


class SmokeFailed(Exception):
    pass


def _fresh_database(url: str) -> None:
    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    if not re.fullmatch(r"[a-z0-9_]+", name):
        raise SmokeFailed(f"refusing to drop a database named {name!r}")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def _manage(env: dict, *args: str) -> None:
    print(f"$ manage.py {' '.join(args)}", flush=True)
    subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, check=True)


class Process:
    def __init__(self, name: str, argv: list[str], env: dict):
        self.name = name
        self.log_path = LOGS / f"{name}.log"
        self._log = self.log_path.open("w")
        # its own process group: SIGTERM reaches the process (and uvicorn's or celery's children)
        self.popen = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def alive(self) -> bool:
        return self.popen.poll() is None

    def terminate(self) -> None:
        if self.alive():
            os.killpg(self.popen.pid, signal.SIGTERM)

    def wait_stopped(self, deadline: float) -> float | None:
        """Seconds until the process exited, or None if it outlived ``deadline``."""
        start = time.monotonic()
        try:
            self.popen.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            return None
        return time.monotonic() - start

    def kill(self) -> None:
        if self.alive():
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()


def _wait_for(what: str, check, seconds: float, processes: list[Process]) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for process in processes:
            if not process.alive():
                raise SmokeFailed(f"{process.name} exited while waiting for {what}:\n{process.tail()}")
        if check():
            return
        time.sleep(0.5)
    raise SmokeFailed(f"no {what} within {seconds:.0f} s")


def _origin(ws_base: str):
    # the sockets check Origin against ALLOWED_HOSTS, as a browser on the site would send it
    return websockets.Origin(ws_base.replace("ws://", "http://", 1))


async def _board(ws_base: str, seconds: float) -> int:
    """The number of tickers in the first board pushed after the connect snapshot."""
    async with websockets.connect(f"{ws_base}/ws/tickers/", origin=_origin(ws_base), open_timeout=10) as socket:
        async with asyncio.timeout(seconds):
            while True:
                message = json.loads(await socket.recv())
                if message["type"] == "tickers":
                    return len(message["tickers"])


async def _order_event(ws_base: str, http: str, token: str, instrument_id: int, seconds: float) -> dict:
    async with websockets.connect(
        f"{ws_base}/ws/account/?token={token}", origin=_origin(ws_base), open_timeout=10
    ) as socket:
        response = await asyncio.to_thread(
            requests.post,
            f"{http}/api/v1/orders/",
            json={"instrument": instrument_id, "side": "buy", "type": "market", "quantity": "0.0001"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        if response.status_code != 201:
            raise SmokeFailed(f"POST /api/v1/orders/ -> {response.status_code}: {response.text[:300]}")
        order_id = response.json()["id"]
        async with asyncio.timeout(seconds):
            while True:
                event = json.loads(await socket.recv())
                if event.get("order_id") == order_id:
                    return event


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()

    database_url = os.environ.get("SMOKE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tradesite_smoke")
    redis_url = os.environ.get("SMOKE_REDIS_URL", "redis://127.0.0.1:6379/12")
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": "prod-smoke-" + os.urandom(16).hex(),
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("CELERY_BROKER_URL", None)
    LOGS.mkdir(parents=True, exist_ok=True)
    http = f"http://127.0.0.1:{args.port}"
    ws_base = f"ws://127.0.0.1:{args.port}"

    _fresh_database(database_url)
    redis.Redis.from_url(redis_url).flushdb()
    _manage(env, "migrate", "--noinput", "--verbosity", "0")
    _manage(env, "setup_periodic_tasks")
    _manage(env, "load_demo_data", "--verbosity", "0")

    processes = [
        Process(
            "web",
            [
                str(BIN / "uvicorn"),
                "tradesite.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(args.port),
                "--workers",
                str(args.web_workers),
                "--timeout-graceful-shutdown",
                "5",
                "--no-access-log",
            ],
            env,
        ),
        Process("worker", [str(BIN / "celery"), "-A", "tradesite", "worker", "-l", "info", "--concurrency", "2"], env),
        Process("beat", [str(BIN / "celery"), "-A", "tradesite", "beat", "-l", "info"], env),
        Process("feed", [PY, "manage.py", "stream_tickers", "--source", "replay"], env),
    ]
    failed = False
    try:
        started = time.monotonic()

        def web_up() -> bool:
            try:
                return requests.get(f"{http}/api/v1/", timeout=2).status_code == 200
            except requests.ConnectionError:
                return False

        _wait_for("web answer", web_up, 60, processes)
        print(f"web: {args.web_workers} uvicorn workers answering after {time.monotonic() - started:.1f} s", flush=True)

        # 1. a beat job through the worker: the 15-second bot check's run recorded by the worker
        bot_job = "trading: breakout bots (day roll, entries)"

        def bot_check_ran() -> bool:
            jobs = requests.get(f"{http}/api/v1/status/", timeout=5).json()["jobs"]
            return any(j["job"] == bot_job and j["last_success_at"] and j["runs"] >= 1 for j in jobs)

        _wait_for("bot check run by the worker", bot_check_ran, 60, processes)
        print(f"beat job through the worker: ok ({bot_job!r} succeeded, per /api/v1/status/)", flush=True)

        # 2. the board from the feed process over channels-redis
        count = asyncio.run(_board(ws_base, 30))
        print(f"board over /ws/tickers/ from the feed process: ok ({count} tickers)", flush=True)

        # 3. an order over HTTP arrives on /ws/account/
        user = {"username": "smoke", "email": "smoke@example.com", "password": "smoke-" + os.urandom(8).hex()}
        response = requests.post(f"{http}/api/v1/auth/register/", json=user, timeout=10)
        if response.status_code != 201:
            raise SmokeFailed(f"register -> {response.status_code}: {response.text[:300]}")
        tokens = requests.post(
            f"{http}/api/v1/auth/token/", json={"username": user["username"], "password": user["password"]}, timeout=10
        ).json()
        token = tokens["access"]
        found = requests.get(f"{http}/api/v1/instruments/", params={"search": "BTC/KRW"}, timeout=10).json()
        rows = found["results"] if isinstance(found, dict) else found
        btc = next(r for r in rows if r["symbol"] == "BTC/KRW" and r["exchange"] == "upbit")
        event = asyncio.run(_order_event(ws_base, http, token, btc["id"], 15))
        print(f"order over HTTP on /ws/account/: ok (a {event['type']} event of order {event['order_id']})", flush=True)

        # 4. SIGTERM under load
        stop = threading.Event()
        answered = {"placed": 0, "refused": 0, "unreachable": 0}

        def load() -> None:
            session = requests.Session()
            while not stop.is_set():
                try:
                    r = session.post(
                        f"{http}/api/v1/orders/",
                        json={"instrument": btc["id"], "side": "buy", "type": "market", "quantity": "0.0001"},
                        headers={"Authorization": f"Bearer {token}"},
                        timeout=10,
                    )
                    answered["placed" if r.status_code == 201 else "refused"] += 1
                except requests.RequestException:  # the server stopped listening
                    answered["unreachable"] += 1
                    time.sleep(0.05)

        loaders = [threading.Thread(target=load) for _ in range(4)]
        for thread in loaders:
            thread.start()
        time.sleep(2)
        deadline = time.monotonic() + STOP_WITHIN_SECONDS
        for process in processes:
            process.terminate()
        took = {p.name: p.wait_stopped(deadline) for p in processes}
        stop.set()
        for thread in loaders:
            thread.join()
        late = [name for name, seconds in took.items() if seconds is None]
        print(
            "SIGTERM under load: "
            + ", ".join(f"{name} {'did not stop' if s is None else f'exited in {s:.1f} s'}" for name, s in took.items())
            + f" ({answered['placed']} orders placed, {answered['refused']} answered non-201,"
            f" {answered['unreachable']} attempts after the server closed)",
            flush=True,
        )
        if late:
            raise SmokeFailed(f"still running {STOP_WITHIN_SECONDS} s after SIGTERM: {', '.join(late)}")
        result = subprocess.run([PY, "manage.py", "check_ledgers"], cwd=ROOT, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            raise SmokeFailed(f"check_ledgers after the stop:\n{result.stdout}{result.stderr}")
        print("ledger check after the run: reconciles", flush=True)
        print("prod-smoke: ok", flush=True)
    except Exception as exc:  # any failure: report it with the logs, stop everything, exit 1
        failed = True
        print(f"prod-smoke FAILED: {exc!r}", file=sys.stderr)
        for process in processes:
            print(f"--- {process.name} ({process.log_path}) ---\n{process.tail()}", file=sys.stderr)
    finally:
        for process in processes:
            process.kill()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
