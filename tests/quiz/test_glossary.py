"""The beginner's glossary (quiz/data/glossary.json): its contents, ``GET /api/v1/glossary/``
and the ``/glossary/`` page."""

import pytest

from quiz import glossary

URL = "/api/v1/glossary/"


def test_the_glossary_has_at_least_80_complete_bilingual_terms_in_every_field():
    terms = glossary.load()

    assert len(terms) >= 80
    assert len({t.slug for t in terms}) == len(terms)
    for t in terms:
        for name in glossary.TEXT_FIELDS:
            assert getattr(t, name).strip(), (t.slug, name)
        assert any("\uac00" <= ch <= "\ud7a3" for ch in t.definition_ko + t.example_ko), t.slug  # Hangul
        assert t.definition_ko != t.definition_en and t.example_ko != t.example_en
    covered = {t.category for t in terms}
    assert {"stocks", "crypto", "derivatives", "trading"} <= covered


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"slug": "Tick Size"}, "slug"),
        ({"category": "astrology"}, "category"),
        ({"example_en": " "}, "example_en is required"),
    ],
)
def test_a_malformed_entry_is_refused_naming_it(entry, problem):
    good = {
        "slug": "tick-size",
        "category": "trading",
        "term_ko": "호가단위",
        "term_en": "Tick size",
        "definition_ko": "가격의 최소 단위",
        "definition_en": "Smallest price step",
        "example_ko": "100원",
        "example_en": "100 KRW",
    }
    with pytest.raises(glossary.GlossaryError, match=problem):
        glossary.parse({"terms": [{**good, **entry}]})
    with pytest.raises(glossary.GlossaryError, match="appears twice"):
        glossary.parse({"terms": [good, good]})


def test_the_ticket_and_model_terms_exist():
    known = glossary.by_slug()
    for slug in ("tick-size", "slippage", "trading-fee", "securities-transaction-tax", "auc", "precision-at-n"):
        assert slug in known


@pytest.mark.django_db
def test_api_lists_terms_paginated(api_client):
    body = api_client.get(URL, {"limit": 10}).json()

    assert body["count"] == len(glossary.load()) and len(body["results"]) == 10
    first = body["results"][0]
    assert first["url"] == f"/glossary/#term-{first['slug']}"
    assert set(first) >= {"term_ko", "term_en", "definition_ko", "definition_en", "example_ko", "example_en"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("q", "slug"), [("호가단위", "tick-size"), ("SLIPPAGE", "slippage"), ("미결제", "open-interest")]
)
def test_api_searches_korean_and_english_names_first(api_client, q, slug):
    body = api_client.get(URL, {"q": q}).json()

    assert body["results"][0]["slug"] == slug
    for row in body["results"]:
        text = " ".join(str(v) for v in row.values()).casefold()
        assert q.casefold() in text


@pytest.mark.django_db
def test_api_filters_by_category_and_rejects_an_unknown_one_naming_it(api_client):
    body = api_client.get(URL, {"category": "derivatives", "limit": 100}).json()
    assert body["count"] == sum(1 for t in glossary.load() if t.category == "derivatives")
    assert {r["category"] for r in body["results"]} == {"derivatives"}

    response = api_client.get(URL, {"category": "astrology"})
    assert response.status_code == 400 and "category" in response.json()["error"]["fields"]
    assert api_client.get(URL, {"limit": 0}).status_code == 400


@pytest.mark.django_db
def test_glossary_page_anchors_every_term_and_searches(client):
    html = client.get("/glossary/").content.decode()
    assert "Beginner's glossary" in html
    assert "초보자 용어 사전" in client.get("/glossary/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    for t in glossary.load():
        assert f'id="term-{t.slug}"' in html

    found = client.get("/glossary/", {"q": "슬리피지"}).content.decode()
    assert 'id="term-slippage"' in found and 'id="term-auc"' not in found


def test_every_term_tag_in_the_templates_names_a_glossary_term():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    used = {
        slug
        for path in root.glob("**/templates/**/*.html")
        if ".venv" not in path.parts
        for slug in re.findall(r'{%\s*term\s+"([^"]+)"', path.read_text(encoding="utf-8"))
    }
    assert {"tick-size", "slippage", "trading-fee", "securities-transaction-tax", "auc"} <= used
    assert used - set(glossary.by_slug()) == set()


@pytest.mark.django_db
def test_the_order_ticket_links_its_terms_to_the_glossary(client, user):
    client.force_login(user)

    html = client.get("/portfolio/").content.decode()

    for slug in ("tick-size", "slippage", "trading-fee", "securities-transaction-tax"):
        assert f'href="/glossary/#term-{slug}"' in html
