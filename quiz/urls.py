from django.urls import path

from quiz import api

urlpatterns = [
    path("quiz/next/", api.NextQuestionView.as_view(), name="quiz-next"),
    path("quiz/attempts/<int:pk>/answer/", api.AnswerView.as_view(), name="quiz-answer"),
    path("quiz/attempts/<int:pk>/give-up/", api.GiveUpView.as_view(), name="quiz-give-up"),
    path("quiz/stats/", api.StatsView.as_view(), name="quiz-stats"),
    path("glossary/", api.GlossaryListView.as_view(), name="glossary-list"),
]
