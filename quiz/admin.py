"""Quiz admin: questions (filters, search, per-question accuracy, CSV import reporting bad
rows by line) and attempts (read-only: they are the record of what was paid)."""

import io

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import F, FloatField
from django.db.models.functions import Cast, NullIf
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from core.admin import ReadOnlyAdmin
from quiz import glossary, rules, selectors, services
from quiz.importers import FORMATS
from quiz.models import Attempt, Question

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_PROBLEMS_SHOWN = 200


class QuestionForm(forms.ModelForm):
    """Choices as up to five text boxes instead of raw JSON; ``correct choice`` is 0-based."""

    choice_1 = forms.CharField(required=False, max_length=rules.MAX_CHOICE_LENGTH, help_text="O/X questions: O")
    choice_2 = forms.CharField(required=False, max_length=rules.MAX_CHOICE_LENGTH, help_text="O/X questions: X")
    choice_3 = forms.CharField(required=False, max_length=rules.MAX_CHOICE_LENGTH)
    choice_4 = forms.CharField(required=False, max_length=rules.MAX_CHOICE_LENGTH)
    choice_5 = forms.CharField(required=False, max_length=rules.MAX_CHOICE_LENGTH)

    class Meta:
        model = Question
        # choices is edited as the five choice_N fields above
        fields = [
            "text",
            "kind",
            "correct_choice",
            "hint",
            "explanation",
            "terms",
            "difficulty",
            "category",
            "language",
            "source",
            "external_id",
            "attribution",
            "licence",
            "active",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for index, text in enumerate((self.instance.choices or [])[: rules.MC_MAX_CHOICES]):
            self.initial[f"choice_{index + 1}"] = text

    def clean(self):
        data = super().clean()
        choices = [
            data[f"choice_{n}"].strip()
            for n in range(1, rules.MC_MAX_CHOICES + 1)
            if (data.get(f"choice_{n}") or "").strip()
        ]
        problems = rules.question_problems(
            text=data.get("text", ""),
            kind=data.get("kind", ""),
            choices=choices,
            correct_choice=data.get("correct_choice"),
            explanation=data.get("explanation", ""),
            difficulty=data.get("difficulty"),
            category=data.get("category", ""),
            language=data.get("language", ""),
        )
        correct = data.get("correct_choice")
        hint = rules.hint_problems(
            hint=data.get("hint") or "",
            kind=data.get("kind", ""),
            choices=choices,
            correct_choice=correct if isinstance(correct, int) else -1,
            explanation=data.get("explanation", ""),
        )
        if hint:
            problems["hint"] = " ".join(hint)
        unknown = [slug for slug in data.get("terms") or [] if slug not in glossary.by_slug()]
        if not isinstance(data.get("terms") or [], list):
            problems["terms"] = 'A list of glossary slugs, e.g. ["tick-size"].'
        elif unknown:
            problems["terms"] = f"Not in the glossary: {', '.join(map(str, unknown))}."
        for name, message in problems.items():
            if name == "choices":
                self.add_error("choice_1", message)
            elif name in self.fields and name not in self.errors:
                self.add_error(name, message)
        self.instance.choices = choices
        return data


class QuestionImportForm(forms.Form):
    format = forms.ChoiceField(
        choices=[
            (
                "csv",
                "Quiz CSV (external_id, language, category, difficulty, kind, text, choice_1..5, answer, explanation)",
            ),
            ("mmlu", "MMLU economics/business CSV"),
        ],
    )
    file = forms.FileField(help_text="UTF-8 CSV with a header row")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(f"At most {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError("Not UTF-8 text.") from None


@admin.action(description="Serve the selected questions (active)")
def activate(modeladmin, request, queryset):
    changed = services.questions_set_active(question_ids=queryset.values_list("pk", flat=True), active=True)
    modeladmin.message_user(request, f"{changed} question(s) activated.", messages.SUCCESS)


@admin.action(description="Stop serving the selected questions (inactive)")
def deactivate(modeladmin, request, queryset):
    changed = services.questions_set_active(question_ids=queryset.values_list("pk", flat=True), active=False)
    modeladmin.message_user(request, f"{changed} question(s) deactivated.", messages.SUCCESS)


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    form = QuestionForm
    list_display = [
        "id",
        "short_text",
        "language",
        "category",
        "difficulty",
        "kind",
        "reward",
        "answered",
        "accuracy",
        "active",
        "source",
    ]
    list_filter = ["active", "language", "category", "difficulty", "kind", "source"]
    search_fields = ["text", "explanation", "external_id"]
    readonly_fields = ["twin_key", "created_at", "updated_at"]
    actions = [activate, deactivate]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "text",
                    "kind",
                    "choice_1",
                    "choice_2",
                    "choice_3",
                    "choice_4",
                    "choice_5",
                    "correct_choice",
                    "hint",
                    "explanation",
                    "terms",
                ]
            },
        ),
        ("Serving", {"fields": ["difficulty", "category", "language", "active"]}),
        (
            "Source",
            {"fields": ["source", "external_id", "twin_key", "attribution", "licence", "created_at", "updated_at"]},
        ),
    ]

    def get_queryset(self, request):
        return selectors.question_list_with_accuracy()

    @admin.display(description="question")
    def short_text(self, obj):
        return obj.text if len(obj.text) <= 80 else obj.text[:79] + "…"

    @admin.display(description="reward (KRW)")
    def reward(self, obj):
        return f"{obj.reward:,.0f}"

    @admin.display(description="answered", ordering="answered")
    def answered(self, obj):
        return obj.answered

    # NULLIF: unanswered questions sort as NULL instead of dividing by zero (PostgreSQL raises)
    @admin.display(description="accuracy", ordering=Cast("correct_answers", FloatField()) / NullIf(F("answered"), 0))
    def accuracy(self, obj):
        return (
            f"{obj.correct_answers / obj.answered:.0%} ({obj.correct_answers}/{obj.answered})" if obj.answered else "-"
        )

    def get_urls(self):
        return [
            path("import-csv/", self.admin_site.admin_view(self.import_csv_view), name="quiz_question_import_csv"),
            *super().get_urls(),
        ]

    def import_csv_view(self, request):
        """Upload a CSV; every bad row is reported by line and then nothing is written."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = QuestionImportForm(request.POST or None, request.FILES or None)
        problems: list[str] = []
        if request.method == "POST" and form.is_valid():
            parsed = FORMATS[form.cleaned_data["format"]](io.StringIO(form.cleaned_data["file"], newline=""))
            if parsed.problems:
                problems = [str(p) for p in parsed.problems]
                messages.error(request, f"{len(problems)} problem(s) found; nothing was imported.")
            else:
                result = services.question_upsert_many(rows=parsed.rows)
                for note in parsed.notes:
                    messages.info(request, note)
                messages.success(
                    request,
                    f"Imported {len(parsed.rows)} question(s): {result.created} created, {result.updated} updated, {result.unchanged} unchanged.",
                )
                return redirect(reverse("admin:quiz_question_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Import questions from CSV",
            "form": form,
            "problems": problems[:MAX_PROBLEMS_SHOWN],
            "more_problems": max(0, len(problems) - MAX_PROBLEMS_SHOWN),
        }
        return TemplateResponse(request, "admin/quiz/question/import_csv.html", context)


@admin.register(Attempt)
class AttemptAdmin(ReadOnlyAdmin):
    """Attempts are the record of what the quiz paid: visible, never edited by hand."""

    list_display = ["id", "user", "question", "status", "choice", "first_answer", "reward", "created_at", "answered_at"]
    list_filter = ["status", "first_answer", "question__language", "question__category", "question__difficulty"]
    search_fields = ["user__username", "question__text", "question__external_id"]
    list_select_related = ["user", "question"]
    raw_id_fields = ["user", "question", "cash_entry"]
    date_hierarchy = "created_at"
