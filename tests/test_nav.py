"""The site nav (templates/base.html): every link reversed with {% url %}, prediction backtests
included."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.accounts.factories import UserFactory

BASE = Path(settings.BASE_DIR) / "templates" / "base.html"


def test_every_nav_link_in_base_html_is_a_url_tag():
    source = BASE.read_text(encoding="utf-8")
    header = source[source.index('<header class="site-header">') : source.index("</header>")]
    targets = re.findall(r'(?:href|action)="([^"]*)"', header)

    assert len(targets) >= 10
    assert all(target.startswith("{% url '") for target in targets), targets


@pytest.mark.django_db
def test_the_nav_links_the_prediction_backtests_page_which_answers():
    client = Client()
    html = client.get(reverse("login")).content.decode()
    url = reverse("prediction-backtest-list-page")

    assert f'<a href="{url}">Prediction backtests</a>' in html
    assert url == "/predictions/backtests/"
    client.force_login(UserFactory())
    assert client.get(url).status_code == 200


@pytest.mark.django_db
def test_the_nav_of_a_logged_in_user_posts_log_out_to_the_logout_url():
    client = Client()
    client.force_login(UserFactory())
    html = client.get(reverse("glossary")).content.decode()

    assert f'action="{reverse("logout")}"' in html
    assert f'href="{reverse("admin:index")}"' in html and f'href="{reverse("swagger-ui")}"' in html
