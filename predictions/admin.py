from django.contrib import admin

from core.admin import ReadOnlyAdmin
from predictions.models import Prediction, PredictionBacktest, Predictor


@admin.register(Predictor)
class PredictorAdmin(admin.ModelAdmin):
    """Trained model versions. Their metadata describe an artifact file, so only ``active`` is
    editable (to retire or reinstate a version)."""

    list_display = ["name", "kind", "market", "train_start", "train_end", "active", "created_at"]
    list_filter = ["kind", "market", "active"]
    search_fields = ["name"]
    readonly_fields = [
        "name",
        "kind",
        "market",
        "horizon",
        "up_threshold",
        "window",
        "features",
        "train_start",
        "train_end",
        "metrics",
        "params",
        "library_versions",
        "artifact",
        "artifact_sha256",
        "created_at",
    ]

    def has_add_permission(self, request):
        return False


@admin.register(Prediction)
class PredictionAdmin(ReadOnlyAdmin):
    """What the predictors said: read-only and kept (the track record is scored on them)."""

    list_display = ["session_date", "predictor", "instrument", "probability_up", "rank"]
    list_filter = ["predictor", "predictor__market"]
    search_fields = ["instrument__symbol", "instrument__name_ko"]
    list_select_related = ["predictor", "instrument"]
    raw_id_fields = ["instrument", "predictor"]
    date_hierarchy = "session_date"
    show_full_result_count = False


@admin.register(PredictionBacktest)
class PredictionBacktestAdmin(ReadOnlyAdmin):
    """Users' backtests: read-only results."""

    list_display = [
        "id",
        "user",
        "predictor",
        "start",
        "end",
        "top_n",
        "total_return",
        "benchmark_total_return",
        "created_at",
    ]
    list_filter = ["market", "predictor"]
    search_fields = ["user__username", "predictor__name"]
    list_select_related = ["user", "predictor"]
    raw_id_fields = ["user", "predictor"]
    exclude = ["curve"]
    deletable = True  # a user's stored run is a disposable computation
