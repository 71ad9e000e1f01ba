"""Importing the project stays cheap: ``django.setup()`` (every app, admin autodiscovery, the
URLconf) imports no ccxt, which alone takes about 0.4 s; it is imported when a live source or
feed is first built."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradesite.settings")
import django
django.setup()
from django.urls import get_resolver
get_resolver().url_patterns  # the URLconf imports every app's api and views
from django.contrib import admin
admin.autodiscover()
print(",".join(sorted(m for m in ("ccxt", "ccxt.async_support") if m in sys.modules)) or "none")
"""


def test_django_setup_imports_no_ccxt():
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "none"


def test_building_a_live_source_imports_ccxt_on_first_use():
    probe = PROBE.replace(
        'print(",".join', 'from markets.sources import CcxtSource\nCcxtSource("upbit")\nprint(",".join'
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "ccxt,ccxt.async_support"
