"""Quiz API (authenticated; a user sees only their own attempts):

- ``GET  /api/v1/quiz/next/?difficulty=&category=&language=`` -> a question, its ``hint`` and
  glossary ``terms``, and its ``attempt_id`` (never the answer or the explanation);
- ``POST /api/v1/quiz/attempts/{id}/answer/`` ``{"choice": n}`` -> ``{"correct", "reward",
  "hint" (wrong) | "explanation" + "correct_choice" (right), "cash", ...}``;
- ``POST /api/v1/quiz/attempts/{id}/give-up/`` -> ``{"correct_choice", "explanation", "terms"}``
  (an unanswered attempt closes as given up and pays nothing, nor does its language twin);
- ``GET  /api/v1/quiz/stats/`` -> accuracy, earnings, streaks.

Glossary (public, read-only): ``GET /api/v1/glossary/?q=&category=`` -> the terms, paginated.
"""

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, permissions, serializers
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from core.serializers import PlainDecimalField
from quiz import glossary, selectors, services
from quiz.models import Category, Language, Question


class QuizAnswerThrottle(UserRateThrottle):
    """Answers per user; the rate is read per request from ``QUIZ["ANSWER_THROTTLE_RATE"]``."""

    scope = "quiz_answer"

    def get_rate(self):
        return settings.QUIZ["ANSWER_THROTTLE_RATE"]


class QuizNextThrottle(UserRateThrottle):
    scope = "quiz_next"

    def get_rate(self):
        return settings.QUIZ["NEXT_THROTTLE_RATE"]


def _krw(**kwargs):
    return PlainDecimalField(max_digits=30, decimal_places=8, **kwargs)


class NextQuerySerializer(serializers.Serializer):
    """Filters; absent or blank (``?difficulty=``) means any."""

    difficulty = serializers.ChoiceField(choices=Question.Difficulty.choices, required=False, allow_blank=True)
    category = serializers.ChoiceField(choices=Category.choices, required=False, allow_blank=True)
    language = serializers.ChoiceField(choices=Language.choices, required=False, allow_blank=True)


class GlossaryTermSerializer(serializers.Serializer):
    """One glossary term (``quiz/data/glossary.json``); ``url`` is its anchor on ``/glossary/``."""

    slug = serializers.CharField()
    category = serializers.ChoiceField(choices=glossary.CATEGORIES)
    term_ko = serializers.CharField()
    term_en = serializers.CharField()
    definition_ko = serializers.CharField()
    definition_en = serializers.CharField()
    example_ko = serializers.CharField()
    example_en = serializers.CharField()
    anchor = serializers.CharField()
    url = serializers.CharField()


@extend_schema_field(GlossaryTermSerializer(many=True))
class TermsField(serializers.Field):
    """Glossary slugs -> their terms (unknown slugs left out)."""

    def to_representation(self, value):
        return [term.as_dict() for term in glossary.terms_for(value or [])]


class ServedQuestionSerializer(serializers.ModelSerializer):
    """What a player sees of a question: its hint and glossary terms, deliberately no correct
    choice and no explanation."""

    terms = TermsField(read_only=True)

    class Meta:
        model = Question
        fields = [
            "id",
            "text",
            "kind",
            "choices",
            "hint",
            "terms",
            "difficulty",
            "category",
            "language",
            "source",
            "attribution",
            "licence",
        ]
        read_only_fields = fields


class ServedAttemptSerializer(serializers.Serializer):
    attempt_id = serializers.IntegerField(source="attempt.pk")
    expires_at = serializers.DateTimeField(source="attempt.expires_at")
    reward = _krw(help_text="KRW a right answer pays if given now (0 when answered before or over today's cap)")
    question = ServedQuestionSerializer(source="attempt.question")


class AnswerSerializer(serializers.Serializer):
    choice = serializers.IntegerField(min_value=0, help_text="0-based index of the chosen choice")


class AnswerResultSerializer(serializers.Serializer):
    attempt_id = serializers.IntegerField()
    correct = serializers.BooleanField()
    reward = _krw(help_text="KRW credited by this answer")
    hint = serializers.CharField(required=False, help_text="when wrong: the hint (never the answer)")
    explanation = serializers.CharField(required=False, help_text="when right: states the answer")
    correct_choice = serializers.IntegerField(required=False, help_text="when right")
    cash = _krw(help_text="the KRW wallet's cash after the answer")
    no_reward_reason = serializers.CharField(
        allow_null=True, help_text='why a right answer paid 0: "answered_before" | "daily_cap"'
    )


class GiveUpResultSerializer(serializers.Serializer):
    attempt_id = serializers.IntegerField()
    status = serializers.CharField(help_text='"gave_up", or the status the attempt already had')
    correct_choice = serializers.IntegerField()
    explanation = serializers.CharField()
    terms = TermsField(read_only=True)


class CategoryStatsSerializer(serializers.Serializer):
    category = serializers.CharField()
    answered = serializers.IntegerField()
    correct = serializers.IntegerField()


class StatsSerializer(serializers.Serializer):
    answered = serializers.IntegerField()
    correct = serializers.IntegerField()
    accuracy = PlainDecimalField(max_digits=6, decimal_places=4, allow_null=True, help_text="fraction right")
    questions_solved = serializers.IntegerField()
    earned_total = _krw()
    earned_today = _krw(help_text="Asia/Seoul day")
    daily_cap = _krw(allow_null=True)
    remaining_today = _krw(allow_null=True)
    streak = serializers.IntegerField(help_text="right answers in a row up to the latest")
    best_streak = serializers.IntegerField()
    day_streak = serializers.IntegerField(help_text="Asia/Seoul days in a row with a right answer")
    by_category = CategoryStatsSerializer(many=True)


def _no_store(response: Response) -> Response:
    # a served question is per user and per moment: never from a shared or browser cache
    response["Cache-Control"] = "no-store"
    return response


class NextQuestionView(APIView):
    """Serve a question not yet answered correctly (404 ``no_question`` when none is left)."""

    permission_classes = [permissions.IsAuthenticated]
    throttle_classes = [QuizNextThrottle]

    @extend_schema(
        parameters=[
            OpenApiParameter("difficulty", int, enum=[1, 2, 3]),
            OpenApiParameter("category", str, enum=Category.values),
            OpenApiParameter("language", str, enum=Language.values),
        ],
        responses=ServedAttemptSerializer,
    )
    def get(self, request):
        query = NextQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        filters = {name: value for name, value in query.validated_data.items() if value != ""}
        now = timezone.now()
        attempt = services.quiz_attempt_start(user=request.user, now=now, **filters)
        reward = selectors.attempt_reward_preview(attempt=attempt, now=now)
        return _no_store(Response(ServedAttemptSerializer({"attempt": attempt, "reward": reward}).data))


class AnswerView(APIView):
    """Answer an attempt once: right pays (first answer only, within the daily cap), wrong
    returns the hint."""

    permission_classes = [permissions.IsAuthenticated]
    throttle_classes = [QuizAnswerThrottle]

    @extend_schema(request=AnswerSerializer, responses=AnswerResultSerializer)
    def post(self, request, pk: int):
        data = AnswerSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.quiz_attempt_answer(user=request.user, attempt_id=pk, choice=data.validated_data["choice"])
        body = {
            "attempt_id": result.attempt.pk,
            "correct": result.correct,
            "reward": result.reward,
            "cash": result.cash,
            "no_reward_reason": result.no_reward_reason,
        }
        if result.correct:
            body.update(explanation=result.text, correct_choice=result.attempt.choice)
        else:
            body["hint"] = result.text
        return _no_store(Response(AnswerResultSerializer(body).data))


class GiveUpView(APIView):
    """Show the answer and the explanation. An attempt not answered yet closes as given up:
    it counts as the first answer to this question and its language twin, so neither pays."""

    permission_classes = [permissions.IsAuthenticated]
    throttle_classes = [QuizAnswerThrottle]

    @extend_schema(request=None, responses=GiveUpResultSerializer)
    def post(self, request, pk: int):
        result = services.quiz_attempt_give_up(user=request.user, attempt_id=pk)
        body = {
            "attempt_id": result.attempt.pk,
            "status": result.attempt.status,
            "correct_choice": result.correct_choice,
            "explanation": result.explanation,
            "terms": result.attempt.question.terms,
        }
        return _no_store(Response(GiveUpResultSerializer(body).data))


class GlossaryQuerySerializer(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, max_length=100, help_text="search text (ko or en)")
    category = serializers.ChoiceField(choices=glossary.CATEGORIES, required=False, allow_blank=True)


class GlossaryListView(generics.GenericAPIView):
    """The beginner's glossary: terms whose name, definition or example (Korean or English)
    contains ``q``, name matches first; ``category`` narrows. Paginated (``limit``, ``offset``)."""

    permission_classes = [permissions.AllowAny]
    serializer_class = GlossaryTermSerializer
    filter_backends: list = []

    @extend_schema(parameters=[GlossaryQuerySerializer], responses=GlossaryTermSerializer(many=True))
    def get(self, request):
        query = GlossaryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        terms = glossary.search(q=query.validated_data.get("q", ""), category=query.validated_data.get("category", ""))
        page = self.paginate_queryset([term.as_dict() for term in terms])
        return self.get_paginated_response(GlossaryTermSerializer(page, many=True).data)


class StatsView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=StatsSerializer)
    def get(self, request):
        return Response(StatsSerializer(selectors.quiz_stats(user=request.user, now=timezone.now())).data)
