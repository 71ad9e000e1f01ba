from django.shortcuts import render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.csrf import ensure_csrf_cookie

from quiz import glossary
from quiz.models import Category, Language


def _js_strings() -> dict[str, str]:
    """The texts quiz.js writes, in the active language (the page passes them as json_script)."""
    return {
        "glossary": _("Glossary:"),
        "right_badge": _("✓ right"),
        "your_answer": _("✗ your answer"),
        "answer": _("Answer:"),
        "right": _("Right!"),
        "not_quite": _("Not quite. Hint:"),
        "answered_before": _("(answered before: no reward)"),
        "daily_cap": _("(daily cap reached)"),
        "try_again": _("(Try again with Next question, or give up to see the answer.)"),
        "cash": _("Cash:"),
        "difficulty": _("difficulty"),
        "pays_if_right": _("pays %(amount)s KRW if right"),
    }


@ensure_csrf_cookie  # the page's script sends the cookie's token back as X-CSRFToken
def quiz_page(request):
    """The quiz for people (templates: quiz/quiz.html): plain JS on the quiz API with the
    session cookie; anonymous visitors get a login link. The language filter starts at the page's
    active language (``ko`` or ``en``), so the script asks ``quiz/next/?language=<it>``."""
    active = get_language() or ""
    return render(
        request,
        "quiz/quiz.html",
        {
            "categories": Category.choices,
            "languages": Language.choices,
            "quiz_language": active if active in Language.values else "",
            "js_strings": _js_strings(),
            "login_url": "/api-auth/login/?next=/quiz/",
        },
    )


def glossary_page(request):
    """The beginner's glossary (templates: quiz/glossary.html): every term with its Korean and
    English definition and example, anchored ``#term-<slug>``; ``?q=`` searches both languages,
    ``?category=`` narrows (an unknown category shows every term)."""
    q = request.GET.get("q", "")[:100]
    category = request.GET.get("category", "")
    if category not in glossary.CATEGORIES:
        category = ""
    return render(
        request,
        "quiz/glossary.html",
        {
            "terms": glossary.search(q=q, category=category),
            "total": len(glossary.load()),
            "q": q,
            "category": category,
            "categories": glossary.CATEGORIES,
        },
    )
