"""Settings read the environment: embedded default with nothing set, services when set."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBE = """
import json
from django.conf import settings
print(json.dumps({
    "db": settings.DATABASES["default"]["ENGINE"],
    "db_name": str(settings.DATABASES["default"]["NAME"]),
    "db_init": settings.DATABASES["default"].get("OPTIONS", {}).get("init_command", ""),
    "layer": settings.CHANNEL_LAYERS["default"]["BACKEND"],
    "layer_hosts": settings.CHANNEL_LAYERS["default"].get("CONFIG", {}).get("hosts"),
    "eager": settings.CELERY_TASK_ALWAYS_EAGER,
    "broker": settings.CELERY_BROKER_URL,
    "debug": settings.DEBUG,
    "secret_len": len(settings.SECRET_KEY),
    "hosts": settings.ALLOWED_HOSTS,
}))
"""
SERVICE_VARS = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS")


def _settings(tmp_path, **env):
    clean = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
    clean.update({"DJANGO_SETTINGS_MODULE": "tradesite.settings", "TRADESITE_VAR_DIR": str(tmp_path), **env})
    code = "import django; django.setup()\n" + PROBE
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_nothing_set_gives_the_embedded_default(tmp_path):
    s = _settings(tmp_path)

    assert s["db"] == "django.db.backends.sqlite3"
    assert s["db_name"] == str(tmp_path / "db.sqlite3")
    assert "journal_mode=WAL" in s["db_init"]
    assert s["layer"] == "core.channel_layers.FanoutInMemoryChannelLayer"  # Channels' in-memory layer, not quadratic
    assert s["eager"] is True and s["broker"] == "memory://"
    assert s["debug"] is False
    # a generated key, kept outside the code, stable across starts
    assert s["secret_len"] >= 50 and (tmp_path / "secret_key").exists()
    assert _settings(tmp_path)["secret_len"] == s["secret_len"]


def test_service_urls_switch_to_postgres_redis_and_a_real_broker(tmp_path):
    s = _settings(
        tmp_path,
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/tradesite",
        REDIS_URL="redis://127.0.0.1:6379/3",
        SECRET_KEY="x" * 60,
        DEBUG="true",
        ALLOWED_HOSTS="trade.example.com,api.example.com",
    )

    assert s["db"] == "django.db.backends.postgresql" and s["db_name"] == "tradesite"
    assert s["layer"] == "channels_redis.core.RedisChannelLayer"
    assert s["layer_hosts"] == ["redis://127.0.0.1:6379/3"]
    assert s["eager"] is False and s["broker"] == "redis://127.0.0.1:6379/3"
    assert s["debug"] is True and s["secret_len"] == 60
    assert s["hosts"] == ["trade.example.com", "api.example.com"]
    assert not (tmp_path / "secret_key").exists()
