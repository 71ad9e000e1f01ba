from django import forms
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render

from accounts import services


class SignUpForm(forms.Form):
    username = forms.RegexField(r"^[\w.@+-]+\Z", max_length=150)
    email = forms.EmailField()
    password = forms.CharField(
        widget=forms.PasswordInput, help_text="At least 8 characters, not common, not all digits."
    )


def signup_page(request):
    """Sign up (the same service as ``POST /api/v1/auth/register/``), log in, go trade."""
    form = SignUpForm(request.POST or None)
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
