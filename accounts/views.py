from django import forms
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render

from accounts import services
from core.throttles import ScopedRateThrottle


class _SignUpThrottleView:
    """The register API's scope: the page and ``POST /api/v1/auth/register/`` share one budget
    per client address (``auth_register``, default 5/hour)."""

    throttle_scope = "auth_register"


def signup_throttle_wait(request) -> float | None:
    """``None`` when this sign-up POST may proceed (and is counted), else the seconds to wait."""
    throttle = ScopedRateThrottle()
    if throttle.allow_request(request, _SignUpThrottleView()):
        return None
    return throttle.wait() or 0.0


class SignUpForm(forms.Form):
    username = forms.RegexField(r"^[\w.@+-]+\Z", max_length=150)
    email = forms.EmailField()
    password = forms.CharField(
        widget=forms.PasswordInput, help_text="At least 8 characters, not common, not all digits."
    )


def signup_page(request):
    """Sign up (the same service as ``POST /api/v1/auth/register/``), log in, go trade."""
    form = SignUpForm(request.POST or None)
    if request.method == "POST":
        wait = signup_throttle_wait(request)
        if wait is not None:
            form.add_error(None, f"Too many sign-ups from this address; try again in {int(wait) + 1} seconds.")
            response = render(request, "registration/signup.html", {"form": form}, status=429)
            response["Retry-After"] = str(int(wait) + 1)
            return response
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_create(**form.cleaned_data)
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                for message in messages:
                    form.add_error(field if field in form.fields else None, message)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("portfolio-page")
    return render(request, "registration/signup.html", {"form": form})
