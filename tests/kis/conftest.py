import pytest
from django.core.management import call_command

from markets.models import Candle, Instrument, Tick
from tests.kis.test_fo_master import load_masters
from tests.kis.test_frames import kis_file

NIGHT, DAY = "recordings/kis_20250714_night.sqlite3", "recordings/kis_20250718_day.sqlite3"


@pytest.fixture(scope="module")
def recorded(django_db_setup, django_db_blocker):
    """The KIS masters and both recorded sessions imported once per module (real data from
    ../shared/data/kis; skips when absent); removed afterwards."""
    paths = [str(kis_file(NIGHT)), str(kis_file(DAY))]
    with django_db_blocker.unblock():
        load_masters()
        call_command("import_kis_recording", *paths, verbosity=0)
        yield
        Tick.objects.all().delete()
        Candle.objects.filter(instrument__market="krx_derivatives").delete()
        Instrument.objects.filter(market="krx_derivatives").delete()
