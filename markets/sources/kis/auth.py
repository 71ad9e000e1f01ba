"""KIS Open API credentials: the REST access token and the WebSocket approval key.

Both are issued once and reused for their life (24 h), held in a shared cache so every process
of the site uses the same ones. KIS throttles access-token reissue to one a minute and sends
the account holder a notice (KakaoTalk) on every issue, so a reissue is additionally guarded:
at most one issue request per app key per 60 s, across processes (an atomic ``cache.add``);
a caller that finds the guard taken waits briefly for the other issuer's result, then raises
``KisError`` rather than asking KIS again.

Endpoints (KIS Open API, ``examples_llm/kis_auth.py`` in github.com/koreainvestment/open-trading-api):

* ``POST /oauth2/tokenP`` body ``{"grant_type": "client_credentials", "appkey", "appsecret"}``
  -> ``{"access_token", "token_type": "Bearer", "expires_in": 86400 (s),
  "access_token_token_expired": "YYYY-MM-DD HH:MM:SS" (Asia/Seoul)}``; an error is
  ``{"error_code": "EGW00133", "error_description": ...}`` (HTTP 403; EGW00133 = reissue
  within a minute).
* ``POST /oauth2/Approval`` body ``{"grant_type": "client_credentials", "appkey", "secretkey"}``
  -> ``{"approval_key"}`` (the realtime WebSocket key).

Settings: ``KisConfig`` (app key, secret, ``env`` ``real`` | ``mock``, base URL overridable so
tests point at a local fake server). ``get_access_token()`` and ``get_approval_key()`` use the
process's default ``KisAuth``, built from the provider registered with ``configure`` (the
markets app registers Django's settings ``KIS`` and its cache); without one, from the
environment (``KIS_APP_KEY``, ``KIS_APP_SECRET``, ``KIS_ENV``, ``KIS_BASE_URL``) and an
in-process cache. No Django imports here.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import requests

from core.timeparse import SEOUL

BASE_URLS = {
    "real": "https://openapi.koreainvestment.com:9443",
    "mock": "https://openapivts.koreainvestment.com:29443",
}
RATES = {"real": 20.0, "mock": 2.0}  # REST requests per second per app key (KIS's published limits)

TOKEN_LIFE_SECONDS = 86_400  # both the access token and the approval key live 24 h
REFRESH_MARGIN_SECONDS = 300  # a cached credential is dropped this long before it expires
REISSUE_GUARD_SECONDS = 60  # at most one issue request per app key and credential a minute


class KisError(Exception):
    """A KIS request failed: ``code`` is KIS's ``msg_cd`` / ``error_code`` (e.g. ``EGW00201``
    rate limit, ``EGW00123`` expired token, ``EGW00133`` token reissued within a minute), or
    ``HTTP<status>``, ``NETWORK``, ``CONFIG``, ``REISSUE_GUARD``, ``BAD_RESPONSE`` for failures
    of our own naming; ``message`` is KIS's ``msg1`` / ``error_description`` or ours;
    ``status`` the HTTP status when there was a response."""

    def __init__(self, code: str, message: str, *, status: int | None = None):
        super().__init__(f"KIS {code}: {message}")
        self.code = code
        self.message = message
        self.status = status


class KisNetworkError(KisError):
    """No usable HTTP response (connection refused or reset, timeout) once retries are spent."""

    def __init__(self, message: str):
        super().__init__("NETWORK", message)


class TokenCache(Protocol):
    """The cache calls KisAuth needs (Django's cache API has them): ``timeout`` in seconds;
    ``add`` stores only when the key is absent and says whether it did (atomic in Redis)."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def set(self, key: str, value: Any, timeout: float | None = None) -> None: ...

    def add(self, key: str, value: Any, timeout: float | None = None) -> bool: ...

    def delete(self, key: str) -> Any: ...


class MemoryCache:
    """A thread-safe in-process ``TokenCache`` with expiry on ``clock`` (epoch seconds)."""

    def __init__(self, clock: Callable[[], float] = time.time):
        self._clock = clock
        self._data: dict[str, tuple[Any, float | None]] = {}
        self._lock = threading.Lock()

    def _live(self, key: str) -> bool:
        item = self._data.get(key)
        if item is None:
            return False
        if item[1] is not None and item[1] <= self._clock():
            del self._data[key]
            return False
        return True

    def get(self, key: str, default: Any = None) -> Any:
        with self._lock:
            return self._data[key][0] if self._live(key) else default

    def set(self, key: str, value: Any, timeout: float | None = None) -> None:
        with self._lock:
            self._data[key] = (value, None if timeout is None else self._clock() + timeout)

    def add(self, key: str, value: Any, timeout: float | None = None) -> bool:
        with self._lock:
            if self._live(key):
                return False
            self._data[key] = (value, None if timeout is None else self._clock() + timeout)
            return True

    def delete(self, key: str) -> bool:
        with self._lock:
            return self._data.pop(key, None) is not None


@dataclass(frozen=True)
class KisConfig:
    """One KIS app key's settings.

    ``env`` ``real`` or ``mock`` (KIS's paper-trading domain); ``base_url`` overrides the env's
    URL (tests: a local fake server); ``rate`` REST requests per second (default 20 real, 2
    mock); ``timeout`` per HTTP request (s); ``rate_limit_wait`` seconds slept after an
    ``EGW00201`` before retrying (the limit is per second: ``초당 거래건수를 초과하였습니다``);
    ``retries`` retries after the first attempt (network errors and EGW00201 only);
    ``reissue_wait`` seconds a caller waits for another process's fresh token when the reissue
    guard is taken. Raises ``KisError("CONFIG")`` for an unknown env.
    """

    app_key: str
    app_secret: str
    env: str = "real"
    base_url: str = ""
    rate: float | None = None
    timeout: float = 10.0
    rate_limit_wait: float = 1.0
    retries: int = 3
    reissue_wait: float = 5.0

    def __post_init__(self):
        if self.env not in BASE_URLS:
            raise KisError("CONFIG", f"KIS_ENV must be 'real' or 'mock', not {self.env!r}")

    @property
    def url(self) -> str:
        return (self.base_url or BASE_URLS[self.env]).rstrip("/")

    @property
    def requests_per_second(self) -> float:
        return self.rate if self.rate else RATES[self.env]

    @property
    def configured(self) -> bool:
        return bool(self.app_key and self.app_secret)

    @property
    def key_id(self) -> str:
        """A short digest naming the app key in cache keys and logs (never the key itself)."""
        return hashlib.sha256(f"{self.env}:{self.app_key}".encode()).hexdigest()[:16]

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> KisConfig:
        """From a settings mapping with upper-case keys: ``APP_KEY``, ``APP_SECRET``, ``ENV``,
        ``BASE_URL``, ``RATE`` (optional), ``TIMEOUT``, ``RATE_LIMIT_WAIT``, ``RETRIES``."""
        rate = values.get("RATE")
        return cls(
            app_key=str(values.get("APP_KEY") or ""),
            app_secret=str(values.get("APP_SECRET") or ""),
            env=str(values.get("ENV") or "real"),
            base_url=str(values.get("BASE_URL") or ""),
            rate=float(rate) if rate else None,
            timeout=float(values.get("TIMEOUT", 10.0)),
            rate_limit_wait=float(values.get("RATE_LIMIT_WAIT", 1.0)),
            retries=int(values.get("RETRIES", 3)),
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> KisConfig:
        """From ``KIS_APP_KEY``, ``KIS_APP_SECRET``, ``KIS_ENV`` (default real), ``KIS_BASE_URL``."""
        return cls.from_mapping({k[4:]: v for k, v in environ.items() if k.startswith("KIS_")})


def error_from_body(body: Any, status: int | None) -> KisError | None:
    """The ``KisError`` a KIS JSON body reports, or ``None`` for a success.

    REST bodies carry ``rt_cd`` (``"0"`` success) with ``msg_cd`` / ``msg1``; OAuth errors carry
    ``error_code`` / ``error_description``.
    """
    if not isinstance(body, dict):
        return KisError("BAD_RESPONSE", f"expected a JSON object, got {type(body).__name__}", status=status)
    if body.get("error_code"):
        return KisError(str(body["error_code"]), str(body.get("error_description", "")), status=status)
    rt_cd = body.get("rt_cd")
    if rt_cd is not None and str(rt_cd) != "0":
        return KisError(str(body.get("msg_cd") or f"rt_cd {rt_cd}"), str(body.get("msg1", "")).strip(), status=status)
    if status is not None and status >= 400:
        return KisError(f"HTTP{status}", json.dumps(body, ensure_ascii=False)[:200], status=status)
    return None


class KisAuth:
    """Access token and approval key of one app key, cached in ``cache`` (shared by processes
    when it is Redis) and issued at most once a minute.

    ``clock`` (epoch seconds) and ``sleep`` are injectable for tests; ``session`` a
    ``requests.Session``. Thread-safe within a process (one issuer at a time).
    """

    def __init__(
        self,
        config: KisConfig,
        cache: TokenCache | None = None,
        *,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.config = config
        self.cache: TokenCache = cache if cache is not None else MemoryCache(clock)
        self.session = session or requests.Session()
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self.issued = {"token": 0, "approval": 0}  # issue requests sent by this instance

    def _key(self, what: str) -> str:
        return f"kis:{what}:{self.config.key_id}"

    def get_access_token(self) -> str:
        """The REST access token (``Bearer`` value), issued on first use and reused until 5 min
        before its expiry. Raises ``KisError`` (KIS refused, the reissue guard is taken and no
        token appeared, missing keys) or ``KisNetworkError``."""
        return self._get("token", self._issue_token)

    def get_approval_key(self) -> str:
        """The realtime WebSocket approval key, issued on first use and reused for 24 h (less
        the margin). Raises as ``get_access_token``."""
        return self._get("approval", self._issue_approval)

    def invalidate_access_token(self) -> None:
        """Forget the cached token (KIS said it expired or is invalid: EGW00123 / EGW00121);
        the next call issues a new one, still at most one a minute."""
        self.cache.delete(self._key("token"))

    def _get(self, what: str, issue: Callable[[], tuple[str, float]]) -> str:
        cached = self.cache.get(self._key(what))
        if cached:
            return str(cached)
        if not self.config.configured:
            raise KisError("CONFIG", "KIS_APP_KEY and KIS_APP_SECRET are not set")
        with self._lock:
            cached = self.cache.get(self._key(what))
            if cached:
                return str(cached)
            if not self.cache.add(self._key(f"{what}-guard"), self._clock(), timeout=REISSUE_GUARD_SECONDS):
                return self._wait_for(what)
            value, life = issue()
            self.issued[what] += 1
            self.cache.set(self._key(what), value, timeout=max(1.0, life - REFRESH_MARGIN_SECONDS))
            return value

    def _wait_for(self, what: str) -> str:
        # another process (or an earlier failed attempt) issued within the last minute
        deadline = self._clock() + self.config.reissue_wait
        while True:
            cached = self.cache.get(self._key(what))
            if cached:
                return str(cached)
            if self._clock() >= deadline:
                raise KisError(
                    "REISSUE_GUARD",
                    f"a KIS {what} was requested less than {REISSUE_GUARD_SECONDS} s ago and none is cached; "
                    "KIS allows one issue a minute - retry later",
                )
            self._sleep(0.2)

    def _post(self, path: str, body: dict[str, str]) -> dict[str, Any]:
        url = self.config.url + path
        try:
            response = self.session.post(
                url,
                data=json.dumps(body),
                headers={"content-type": "application/json; charset=utf-8", "accept": "text/plain"},
                timeout=self.config.timeout,
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise KisNetworkError(f"POST {path}: {exc}") from exc
        try:
            payload = response.json()
        except ValueError:
            raise KisError(
                f"HTTP{response.status_code}",
                f"POST {path}: not JSON: {response.text[:200]!r}",
                status=response.status_code,
            ) from None
        error = error_from_body(payload, response.status_code)
        if error is not None:
            raise error
        return payload

    def _issue_token(self) -> tuple[str, float]:
        body = self._post(
            "/oauth2/tokenP",
            {"grant_type": "client_credentials", "appkey": self.config.app_key, "appsecret": self.config.app_secret},
        )
        token = body.get("access_token")
        if not token:
            raise KisError("BAD_RESPONSE", "tokenP answered without access_token")
        life = float(body.get("expires_in") or TOKEN_LIFE_SECONDS)
        expired = body.get("access_token_token_expired")
        if expired:
            try:
                until = datetime.strptime(str(expired), "%Y-%m-%d %H:%M:%S").replace(tzinfo=SEOUL).timestamp()
                life = min(life, until - self._clock())
            except ValueError:
                pass
        return str(token), life

    def _issue_approval(self) -> tuple[str, float]:
        body = self._post(
            "/oauth2/Approval",
            {"grant_type": "client_credentials", "appkey": self.config.app_key, "secretkey": self.config.app_secret},
        )
        key = body.get("approval_key")
        if not key:
            raise KisError("BAD_RESPONSE", "Approval answered without approval_key")
        return str(key), float(TOKEN_LIFE_SECONDS)


# -- the process's default credentials --------------------------------------------------------

Provider = Callable[[], tuple[KisConfig, TokenCache]]
_provider: Provider | None = None
_instances: dict[tuple[KisConfig, int], KisAuth] = {}
_instances_lock = threading.Lock()


def configure(provider: Provider | None) -> None:
    """Register where the default config and cache come from (called each time, so changed
    settings take effect); ``None`` restores the environment + in-process cache default."""
    global _provider
    _provider = provider
    with _instances_lock:
        _instances.clear()


_env_cache = MemoryCache()


def default_auth() -> KisAuth:
    """The ``KisAuth`` for the current config (one instance per config and cache)."""
    config, cache = _provider() if _provider is not None else (KisConfig.from_env(), _env_cache)
    with _instances_lock:
        auth = _instances.get((config, id(cache)))
        if auth is None:
            auth = _instances[(config, id(cache))] = KisAuth(config, cache)
        return auth


def get_access_token() -> str:
    """The default app key's REST access token (see ``KisAuth.get_access_token``)."""
    return default_auth().get_access_token()


def get_approval_key() -> str:
    """The default app key's WebSocket approval key (see ``KisAuth.get_approval_key``)."""
    return default_auth().get_approval_key()
