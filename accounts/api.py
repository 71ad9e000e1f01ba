from django.conf import settings
from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, permissions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken, TokenError
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer, TokenRefreshSerializer
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from accounts import services
from accounts.tokens import FamilyRefreshToken
from core.throttles import ScopedRateThrottle


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = get_user_model()
        fields = ["id", "username", "email", "date_joined"]
        read_only_fields = fields


class RegisterSerializer(serializers.Serializer):
    username = serializers.RegexField(r"^[\w.@+-]+\Z", max_length=150)
    email = serializers.EmailField()
    password = serializers.CharField(write_only=True, style={"input_type": "password"})


class LogoutSerializer(serializers.Serializer):
    refresh = serializers.CharField()


class RegisterView(APIView):
    permission_classes = [permissions.AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth_register"

    @extend_schema(request=RegisterSerializer, responses={201: UserSerializer})
    def post(self, request):
        serializer = RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_create(**serializer.validated_data)
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)


class FamilyTokenObtainPairSerializer(TokenObtainPairSerializer):
    token_class = FamilyRefreshToken


class AtomicTokenRefreshSerializer(TokenRefreshSerializer):
    """Rotation through ``accounts.services.token_refresh`` (atomic, reuse revokes the family)."""

    token_class = FamilyRefreshToken

    def validate(self, attrs):
        try:
            payload = FamilyRefreshToken(attrs["refresh"]).payload
        except TokenError:
            payload = {}
        user_id = payload.get(jwt_settings.USER_ID_CLAIM)
        if user_id is not None:
            user = get_user_model().objects.filter(**{jwt_settings.USER_ID_FIELD: user_id}).first()
            if user is None or not jwt_settings.USER_AUTHENTICATION_RULE(user):
                raise AuthenticationFailed(self.error_messages["no_active_account"], "no_active_account")
        try:
            return services.token_refresh(refresh=attrs["refresh"])
        except TokenError as exc:
            raise InvalidToken(exc.args[0]) from exc


class ThrottledTokenObtainPairView(TokenObtainPairView):
    """``POST /api/v1/auth/token/``: throttled per address (``auth_token``) and, through
    django-axes (simplejwt passes the request to ``authenticate``), locked per username +
    address after ``AXES_FAILURE_LIMIT`` failures: 429 until ``AXES_COOLOFF_TIME`` passes."""

    serializer_class = FamilyTokenObtainPairSerializer
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth_token"

    def post(self, request, *args, **kwargs):
        try:
            return super().post(request, *args, **kwargs)
        except exceptions.AuthenticationFailed:
            # axes marks the DRF request (the one simplejwt hands to authenticate), so its
            # middleware, which sees the Django request, cannot answer for it: answer here
            if getattr(request, "axes_locked_out", False):
                raise exceptions.Throttled(
                    wait=settings.AXES_COOLOFF_TIME.total_seconds(),
                    detail="Too many failed logins for this username from this address.",
                ) from None
            raise


class ThrottledTokenRefreshView(TokenRefreshView):
    """``POST /api/v1/auth/token/refresh/``: rotates atomically; a refresh token used after its
    rotation revokes every outstanding token of its login (401 ``token_not_valid``)."""

    serializer_class = AtomicTokenRefreshSerializer
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth_token"


class LogoutView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=LogoutSerializer, responses={205: None})
    def post(self, request):
        serializer = LogoutSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.user_logout(user=request.user, refresh=serializer.validated_data["refresh"])
        return Response(status=status.HTTP_205_RESET_CONTENT)


class MeView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=UserSerializer)
    def get(self, request):
        return Response(UserSerializer(request.user).data)
