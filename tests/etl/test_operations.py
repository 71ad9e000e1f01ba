"""The command, the admin pages, the Celery tasks and their beat entry."""

import pytest
from django.core.management import CommandError, call_command
from django_celery_beat.models import PeriodicTask

from etl import services, tasks
from etl.extract import ExtractNetworkError
from etl.models import IngestRun, PairState, TakerVolume
from etl.pairs import get_pair
from tests.accounts.factories import UserFactory
from tests.etl.conftest import BINANCE_CSV, BITMEX_WS, BYBIT_V2_WS
from tests.etl.factories import PairStateFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    return client


def test_command_imports_files_and_reports(capsys):
    call_command("etl_taker_volume", "--exchange", "bitmex", "--file", str(BITMEX_WS))
    call_command(
        "etl_taker_volume",
        "--exchange",
        "bybit",
        "--symbol",
        "BTCUSD",
        "--file",
        str(BYBIT_V2_WS),
        "--format",
        "bybit_ws",
    )

    out = capsys.readouterr().out
    assert "bitmex:XBTUSD file" in out and "16 trades" in out
    assert "bybit:BTCUSD file" in out and "131 trades" in out
    assert TakerVolume.objects.filter(exchange="bitmex").count() == 2
    assert TakerVolume.objects.filter(exchange="bybit", symbol="BTCUSD").count() == 1


def test_command_refuses_bad_arguments_and_writes_nothing(tmp_path):
    with pytest.raises(CommandError, match="has no symbol"):
        call_command("etl_taker_volume", "--exchange", "binance", "--symbol", "DOGEUSDT", "--file", str(BINANCE_CSV))
    with pytest.raises(CommandError, match="--since applies to live runs"):
        call_command("etl_taker_volume", "--exchange", "binance", "--file", str(BINANCE_CSV), "--since", "2024-01-01")
    with pytest.raises(CommandError, match="no such file"):
        call_command("etl_taker_volume", "--exchange", "binance", "--file", str(tmp_path / "missing.csv"))
    with pytest.raises(CommandError, match="nothing was written"):
        call_command("etl_taker_volume", "--exchange", "binance", "--file", str(BITMEX_WS), "--format", "binance_csv")

    assert TakerVolume.objects.count() == 0


def test_command_live_run_reports_network_trouble_as_a_command_error(monkeypatch):
    def unreachable(**kwargs):
        raise ExtractNetworkError("bitmex: /api/v1/trade: ConnectionError")

    monkeypatch.setattr(services, "taker_volume_live_run", unreachable)

    with pytest.raises(CommandError, match="can't reach bitmex"):
        call_command("etl_taker_volume", "--exchange", "bitmex")


def test_beat_runs_the_live_extraction_every_minute():
    task = PeriodicTask.objects.get(name="etl: taker volume live")

    assert task.task == "etl.tasks.taker_volume_live_all" and task.enabled
    assert (task.interval.every, task.interval.period) == (1, "minutes")
    assert PeriodicTask.objects.get(name="etl: staged trades purge").task == "etl.tasks.staged_trades_purge"


def test_live_all_queues_one_run_per_configured_pair(settings, monkeypatch):
    settings.ETL = {"LIVE_PAIRS": "binance:BTCUSDT,bitmex:XBTUSD"}
    queued = []
    monkeypatch.setattr(tasks.taker_volume_live_pair, "delay", lambda *args: queued.append(args))

    assert tasks.taker_volume_live_all() == 2
    assert queued == [("binanceusdm", "BTCUSDT"), ("bitmex", "XBTUSD")]


def test_the_live_task_runs_the_service_for_its_pair(monkeypatch):
    called = []
    monkeypatch.setattr(services, "taker_volume_live_run", lambda *, pair: called.append(pair.label) or IngestRun(pk=7))

    assert tasks.taker_volume_live_pair.run("bitmex", "XBTUSD") == 7
    assert called == ["bitmex:XBTUSD"]


def test_the_live_task_leaves_network_retries_to_the_run():
    # retries happen inside the run (capped backoff, the exchange's breaker); a task-level
    # autoretry would multiply the requests to a host that is down
    assert not getattr(tasks.taker_volume_live_pair, "autoretry_for", ())


def test_admin_pair_cursor_page_shows_cursor_coverage_and_last_error(staff_client):
    services.taker_volume_import_file(pair=get_pair("binance"), path=BINANCE_CSV)
    PairStateFactory()  # a failed BitMEX run

    response = staff_client.get("/admin/etl/pairstate/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "binanceusdm:BTCUSDT" in page and "2 span(s)" in page
    assert "connection refused" in page and "Failed" in page
    detail = staff_client.get(f"/admin/etl/pairstate/{PairState.objects.get(exchange='binanceusdm').pk}/change/")
    assert "3535186032 .. 3535198966" in detail.content.decode()


def test_admin_chart_shows_buy_and_sell_of_the_chosen_pair_and_range(staff_client):
    services.taker_volume_import_file(pair=get_pair("binance"), path=BINANCE_CSV)

    response = staff_client.get(
        "/admin/etl/takervolume/chart/",
        {"pair": "binanceusdm:BTCUSDT", "window": "min", "from": "2023-04-05T00:00", "to": "2023-04-05T00:03"},
    )

    assert response.status_code == 200
    points = response.context["points"]
    assert [p["time"] for p in points] == [1680652800, 1680652860, 1680652920]
    assert points[0]["buy"] == pytest.approx(75.983) and points[0]["sell"] == pytest.approx(85.944)
    page = response.content.decode()
    assert "lightweight-charts.standalone.production.js" in page and 'id="tv-data"' in page


def test_admin_chart_defaults_to_the_latest_data_and_reports_bad_input(staff_client):
    services.taker_volume_import_file(pair=get_pair("binance"), path=BINANCE_CSV)

    response = staff_client.get("/admin/etl/takervolume/chart/", {"window": "fortnight", "from": "soon"})

    assert response.status_code == 200
    assert len(response.context["errors"]) == 2
    assert response.context["points"][-1]["time"] == 1721347500  # 2024-07-19 00:05, the newest minute


def test_admin_minute_rows_are_read_only(staff_client):
    services.taker_volume_import_file(pair=get_pair("bitmex"), path=BITMEX_WS)
    row = TakerVolume.objects.first()

    assert staff_client.get("/admin/etl/takervolume/").status_code == 200
    assert staff_client.post(f"/admin/etl/takervolume/{row.pk}/delete/", {"post": "yes"}).status_code == 403
    assert TakerVolume.objects.filter(pk=row.pk).exists()


def test_ingest_runs_are_listed_with_their_errors(staff_client):
    PairStateFactory()

    response = staff_client.get("/admin/etl/ingestrun/", {"status": "failed"})

    assert response.status_code == 200 and "connection refused" in response.content.decode()


def test_admin_action_runs_a_live_extraction_through_the_service(staff_client, monkeypatch):
    state = PairStateFactory()
    called = []
    monkeypatch.setattr(
        services,
        "taker_volume_live_run",
        lambda *, pair: called.append(pair.label) or IngestRun(trades_read=0, minutes_written=0),
    )

    response = staff_client.post(
        "/admin/etl/pairstate/", {"action": "run_live_now", "_selected_action": [state.pk]}, follow=True
    )

    assert response.status_code == 200
    assert called == ["bitmex:XBTUSD"]
    assert "0 trades, 0 minutes written" in response.content.decode()
