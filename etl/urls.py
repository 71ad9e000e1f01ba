from django.urls import path

from etl import api

urlpatterns = [
    path("taker-volume/", api.TakerVolumeView.as_view(), name="taker-volume"),
]
