"""``/derivatives/`` without any KOSPI200 derivative listed: it renders and says what to import."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_page_without_derivatives_says_what_to_import(client):
    response = client.get(reverse("derivatives"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "No KOSPI200 future is listed" in html and "import_instruments --format kis_fo_master" in html
    assert "Read-only: derivatives are not paper-traded" in html
    assert response.context["board"]["future"] is None and response.context["board"]["rows"] == []
