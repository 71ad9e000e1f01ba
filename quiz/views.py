from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie

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
