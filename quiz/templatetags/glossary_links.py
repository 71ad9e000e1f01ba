"""``{% load glossary_links %}`` then ``{% term "tick-size" %}``: a link to the term on
``/glossary/`` labelled with its Korean and English names (``{% term "tick-size" "tick" %}``
labels it yourself). An unknown slug raises ``TemplateSyntaxError`` at render, so a typo fails
the page's test instead of linking nowhere."""

from django import template
from django.utils.html import format_html

from quiz import glossary

register = template.Library()


@register.simple_tag
def term(slug: str, label: str = ""):
    found = glossary.by_slug().get(slug)
    if found is None:
        raise template.TemplateSyntaxError(f"no glossary term {slug!r} (quiz/data/glossary.json)")
    return format_html(
        '<a class="glossary-link" href="{}" title="{}">{}</a>',
        found.url,
        found.definition_en,
        label or f"{found.term_ko} · {found.term_en}",
    )
