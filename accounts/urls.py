from django.urls import path

from accounts import api

urlpatterns = [
    path("register/", api.RegisterView.as_view(), name="auth-register"),
    path("token/", api.ThrottledTokenObtainPairView.as_view(), name="auth-token"),
    path("token/refresh/", api.ThrottledTokenRefreshView.as_view(), name="auth-token-refresh"),
    path("logout/", api.LogoutView.as_view(), name="auth-logout"),
    path("me/", api.MeView.as_view(), name="auth-me"),
]
