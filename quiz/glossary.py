"""The beginner's glossary: ``quiz/data/glossary.json`` (written for tradesite; Korean and
English definitions and an example per term). Pure: no Django, read once and cached.

A term is a ``Term`` with a ``slug`` (its anchor: ``/glossary/#term-<slug>``), a ``category``
(one of ``CATEGORIES``), ``term_ko``/``term_en``, ``definition_ko``/``definition_en`` and
``example_ko``/``example_en``. ``load`` raises ``GlossaryError`` naming the entry when the file
is malformed (a missing text, a duplicate or badly formed slug, an unknown category).
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

GLOSSARY_PATH = Path(__file__).resolve().parent / "data" / "glossary.json"
CATEGORIES = ("stocks", "trading", "crypto", "derivatives", "investing", "economics", "accounting", "models")
TEXT_FIELDS = ("term_ko", "term_en", "definition_ko", "definition_en", "example_ko", "example_en")
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class GlossaryError(ValueError):
    """The glossary file is malformed; the message names the entry."""


@dataclass(frozen=True)
class Term:
    slug: str
    category: str
    term_ko: str
    term_en: str
    definition_ko: str
    definition_en: str
    example_ko: str
    example_en: str

    @property
    def anchor(self) -> str:
        return f"term-{self.slug}"

    @property
    def url(self) -> str:
        return f"/glossary/#{self.anchor}"

    def as_dict(self) -> dict:
        return {**asdict(self), "anchor": self.anchor, "url": self.url}


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def parse(data: dict) -> tuple[Term, ...]:
    """The terms of a glossary document ``{"terms": [...]}``, in file order, validated."""
    terms, seen = [], set()
    for index, entry in enumerate(data.get("terms", [])):
        where = f"terms[{index}] ({entry.get('slug', '?')})"
        slug = entry.get("slug", "")
        if not isinstance(slug, str) or not _SLUG.match(slug):
            raise GlossaryError(f"{where}: slug must be lowercase words joined by '-'")
        if slug in seen:
            raise GlossaryError(f"{where}: slug {slug!r} appears twice")
        if entry.get("category") not in CATEGORIES:
            raise GlossaryError(f"{where}: category must be one of {', '.join(CATEGORIES)}")
        for name in TEXT_FIELDS:
            value = entry.get(name)
            if not isinstance(value, str) or not value.strip():
                raise GlossaryError(f"{where}: {name} is required")
        seen.add(slug)
        terms.append(Term(slug=slug, category=entry["category"], **{n: entry[n].strip() for n in TEXT_FIELDS}))
    return tuple(terms)


@lru_cache(maxsize=1)
def load(path: Path = GLOSSARY_PATH) -> tuple[Term, ...]:
    """Every term of the shipped glossary (cached)."""
    return parse(json.loads(Path(path).read_text(encoding="utf-8")))


def by_slug() -> dict[str, Term]:
    return {term.slug: term for term in load()}


def search(*, q: str = "", category: str = "") -> list[Term]:
    """Terms whose name, definition or example (either language) contains ``q`` (case- and
    width-insensitive); name matches first, then the rest, each in file order. ``category``
    narrows to one category. Blank ``q`` = every term."""
    terms = [t for t in load() if not category or t.category == category]
    needle = _fold(q.strip())
    if not needle:
        return terms
    named = [t for t in terms if needle in _fold(f"{t.slug} {t.term_ko} {t.term_en}")]
    rest = [t for t in terms if t not in named and needle in _fold(" ".join(getattr(t, n) for n in TEXT_FIELDS[2:]))]
    return named + rest


def terms_for(slugs) -> list[Term]:
    """The terms of ``slugs`` in that order; unknown slugs are left out."""
    known = by_slug()
    return [known[s] for s in slugs if s in known]
