"""Page routes of the etl app (mounted at the site root)."""

from django.urls import path

from etl import views

urlpatterns = [
    path("taker-volume/", views.taker_volume_page, name="taker-volume-page"),
]
