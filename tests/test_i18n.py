"""Korean and English through Django's i18n (issue 16): LocaleMiddleware picks Korean for a browser
preferring it and English otherwise, the header's switch (Django's set_language) overrides both,
<html lang> follows, the quiz asks for questions in the active language, and the committed .mo
files hold exactly what their .po files say (CI and `make demo` do not compile them)."""

import re
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation

from tests.accounts.factories import UserFactory

LOCALE = Path(settings.BASE_DIR) / "locale"
PO_FILES = sorted(LOCALE.glob("*/LC_MESSAGES/*.po"))


def _html_lang(html: str) -> str:
    match = re.search(r'<html lang="([^"]+)"', html)
    assert match, "no <html lang>"
    return match.group(1)


@pytest.mark.django_db
def test_a_browser_preferring_korean_gets_the_page_in_korean():
    html = Client().get(reverse("login"), HTTP_ACCEPT_LANGUAGE="ko-KR,ko;q=0.9,en;q=0.8").content.decode()

    assert _html_lang(html) == "ko"
    assert ">시세판</a>" in html and ">Board</a>" not in html
    assert ">로그인</a>" in html


@pytest.mark.django_db
@pytest.mark.parametrize("accept", ["en-US,en;q=0.9", "en-US,en;q=0.9,ko;q=0.5", "fr-FR,fr;q=0.9", None])
def test_every_other_browser_gets_the_page_in_english(accept):
    headers = {"HTTP_ACCEPT_LANGUAGE": accept} if accept else {}
    html = Client().get(reverse("login"), **headers).content.decode()

    assert _html_lang(html) == "en"
    assert ">Board</a>" in html and "시세판" not in html


@pytest.mark.django_db
def test_the_switch_marks_the_current_language_and_posts_to_set_language():
    html = Client().get(reverse("glossary"), HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    form = html[html.index('class="lang-switch"') : html.index("</form>", html.index('class="lang-switch"'))]

    assert f'action="{reverse("set_language")}"' in html
    assert 'name="csrfmiddlewaretoken"' in form
    assert 'name="next" value="/glossary/"' in form
    assert re.search(r'value="ko" lang="ko" class="current" aria-current="true">한국어</button>', form)
    assert re.search(r'value="en" lang="en">English</button>', form)


@pytest.mark.django_db
def test_the_switch_sets_the_language_and_the_next_page_is_in_it():
    client = Client(enforce_csrf_checks=True)
    page = client.get(reverse("glossary"), HTTP_ACCEPT_LANGUAGE="en")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)

    response = client.post(
        reverse("set_language"), {"language": "ko", "next": "/glossary/", "csrfmiddlewaretoken": token}
    )

    assert response.status_code == 302 and response["Location"] == "/glossary/"
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ko"
    # the cookie beats the browser's English
    html = client.get("/glossary/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert _html_lang(html) == "ko" and ">시세판</a>" in html

    client.post(reverse("set_language"), {"language": "en", "next": "/", "csrfmiddlewaretoken": token})
    html = client.get("/glossary/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert _html_lang(html) == "en" and ">Board</a>" in html


@pytest.mark.django_db
def test_the_switch_refuses_a_post_without_the_csrf_token_and_changes_nothing():
    client = Client(enforce_csrf_checks=True)

    response = client.post(reverse("set_language"), {"language": "ko", "next": "/"})

    assert response.status_code == 403
    assert settings.LANGUAGE_COOKIE_NAME not in client.cookies


@pytest.mark.django_db
def test_the_switch_does_not_redirect_off_site():
    client = Client()
    response = client.post(reverse("set_language"), {"language": "ko", "next": "https://evil.example/"})

    assert response.status_code == 302 and response["Location"] == "/"


@pytest.mark.django_db
@pytest.mark.parametrize(("accept", "language"), [("ko", "ko"), ("en", "en")])
def test_the_quiz_asks_for_questions_in_the_active_language(accept, language):
    client = Client()
    client.force_login(UserFactory())
    html = client.get(reverse("quiz"), HTTP_ACCEPT_LANGUAGE=accept).content.decode()

    # quiz.js sends the filter form's fields as the query of quiz/next/: language=<active>
    select = html[html.index('<select name="language">') : html.index("</select>", html.index('name="language"'))]
    assert re.findall(r'<option value="(\w+)" selected>', select) == [language]


@pytest.mark.django_db
def test_the_500_page_follows_the_active_language():
    from django.template import loader

    with translation.override("ko"):
        html = loader.render_to_string("500.html")
    assert _html_lang(html) == "ko" and "서버 오류" in html
    with translation.override("en"):
        html = loader.render_to_string("500.html")
    assert _html_lang(html) == "en" and "Server error" in html and "서버 오류" not in html


def test_the_languages_are_korean_and_english_with_english_the_default():
    assert [code for code, _ in settings.LANGUAGES] == ["ko", "en"]
    assert settings.LANGUAGE_CODE == "en"
    middleware = settings.MIDDLEWARE
    locale = middleware.index("django.middleware.locale.LocaleMiddleware")
    assert middleware.index("django.contrib.sessions.middleware.SessionMiddleware") < locale
    assert locale < middleware.index("django.middleware.common.CommonMiddleware")


@pytest.mark.parametrize("po_path", PO_FILES, ids=lambda p: str(p.relative_to(LOCALE)))
def test_each_committed_mo_holds_exactly_the_translations_of_its_po(po_path):
    # msgfmt writes the non-fuzzy, translated entries; a .po edited without `make messages` differs
    mo_path = po_path.with_suffix(".mo")
    assert mo_path.exists(), f"{mo_path} is not compiled: run `make messages`"
    po = polib.pofile(str(po_path))
    mo = polib.mofile(str(mo_path))

    def catalog(entries):
        return {
            (e.msgctxt, e.msgid): (e.msgstr_plural and tuple(sorted(e.msgstr_plural.items()))) or e.msgstr
            for e in entries
            if e.msgid
        }

    expected = catalog(e for e in po.translated_entries() if not e.obsolete)
    assert catalog(mo) == expected


def test_the_korean_po_translates_every_msgid():
    po = polib.pofile(str(LOCALE / "ko" / "LC_MESSAGES" / "django.po"))

    assert [e.msgid for e in po.untranslated_entries()] == []
    assert [e.msgid for e in po.fuzzy_entries()] == []


def test_every_translate_tag_in_the_templates_has_a_korean_msgid():
    # a template string added without `make messages` shows in English on a Korean page
    msgids = {e.msgid for e in polib.pofile(str(LOCALE / "ko" / "LC_MESSAGES" / "django.po"))}
    base = Path(settings.BASE_DIR)
    # the overrides of DRF's and drf-spectacular's pages keep their library's own msgids and catalogs
    libraries = {"rest_framework", "drf_spectacular"}
    templates = [
        p
        for p in base.glob("**/templates/**/*.html")
        if ".venv" not in p.parts and "node_modules" not in p.parts and not libraries & set(p.parts)
    ]
    tag = re.compile(r"""{%\s*(?:translate|trans)\s+(["'])(.*?)\1(?:\s+[^%]*)?%}""")
    missing = [
        (str(p.relative_to(base)), m.group(2))
        for p in templates
        for m in tag.finditer(p.read_text(encoding="utf-8"))
        if m.group(2).replace("%", "%%") not in msgids  # as Django looks it up
    ]
    assert missing == []
