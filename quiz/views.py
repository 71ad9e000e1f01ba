from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie

from quiz import glossary
from quiz.models import Category, Language


@ensure_csrf_cookie  # the page's script sends the cookie's token back as X-CSRFToken
def quiz_page(request):
    """The quiz for people (templates: quiz/quiz.html): plain JS on the quiz API with the
    session cookie; anonymous visitors get a login link."""
    return render(
        request,
        "quiz/quiz.html",
        {"categories": Category.choices, "languages": Language.choices, "login_url": "/api-auth/login/?next=/quiz/"},
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
