"""tradesite settings, read from the environment.

Nothing set gives the embedded default: a SQLite file in WAL mode under ``var/``, the
in-memory channel layer and eager Celery, so ``make demo`` needs no other service.
Production sets:

- ``DATABASE_URL``  e.g. ``postgres://user@host:5432/tradesite`` -> PostgreSQL
- ``DB_POOL_MIN`` / ``DB_POOL_MAX`` (default 2 / 20): psycopg 3 connection pool per process on PostgreSQL
- ``REDIS_URL``     e.g. ``redis://127.0.0.1:6379/0`` -> channels-redis layer and Celery broker
- ``CELERY_BROKER_URL`` to use a broker other than ``REDIS_URL``
- ``SECRET_KEY``, ``DEBUG`` (off unless "1"/"true"), ``ALLOWED_HOSTS`` (comma-separated)

Without ``SECRET_KEY`` a random key is generated once into ``var/secret_key`` (git-ignored),
so no secret lives in the code.
"""

import os
import secrets
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import dj_database_url

from markets import exchanges as venues  # pure: the venue registry (no Django import)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("TRADESITE_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _secret_key() -> str:
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_celery_beat",
    "accounts",
    "core",
    "tradesite",
    "markets",
    "predictions",
    "etl",
    "trading",
    "bots",
    "quiz",
    "alerts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",  # the page language: cookie, then Accept-Language
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "core.errors.ApiErrorShapeMiddleware",  # the API error shape for non-DRF errors on /api/
    "core.timezones.DisplayTimeZoneMiddleware",  # pages and the admin in DISPLAY_TIME_ZONE
]

ROOT_URLCONF = "tradesite.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "markets.context_processors.demo_clock",
            ],
        },
    },
]
WSGI_APPLICATION = None
ASGI_APPLICATION = "tradesite.asgi.application"

# --- database -----------------------------------------------------------------------------
if os.environ.get("DATABASE_URL"):
    # Under ASGI, Django runs sync code in per-request threads: persistent connections would
    # pile up one per thread, so they are off unless asked (use a pooler such as PgBouncer).
    DATABASES = {
        "default": dj_database_url.parse(
            os.environ["DATABASE_URL"], conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "0"))
        )
    }
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Django's native pool (psycopg 3): connections are reused across requests and threads
        # instead of one new PostgreSQL connection per request. Sizes are per process; the pool
        # requires CONN_MAX_AGE 0. Beyond one host, put PgBouncer (transaction mode) in front.
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": int(os.environ.get("DB_POOL_MIN", "2")),
            "max_size": int(os.environ.get("DB_POOL_MAX", "20")),
            "timeout": float(os.environ.get("DB_POOL_TIMEOUT", "10")),
        }
else:
    SQLITE_PATH = Path(os.environ.get("SQLITE_PATH", VAR_DIR / "db.sqlite3"))
    SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(SQLITE_PATH),
            "OPTIONS": {
                # WAL lets the board read while the feed writes; IMMEDIATE takes the write
                # lock at BEGIN so two writers queue instead of failing mid-transaction.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# --- channels and celery ------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    # Channels' in-memory layer without its O(N^2) broadcast (core/channel_layers.py)
    CHANNEL_LAYERS = {"default": {"BACKEND": "core.channel_layers.FanoutInMemoryChannelLayer"}}

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = None
# Without a broker the jobs run inline, in the process that schedules them (the demo).
CELERY_TASK_ALWAYS_EAGER = not (REDIS_URL or os.environ.get("CELERY_BROKER_URL"))
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# The demo (default: no broker) runs its periodic jobs in the web process; its jobs that reach an
# exchange over the network (``live`` in tradesite/schedule.py) run only with LIVE_DATA=1.
DEMO = os.environ.get("DEMO", "1" if CELERY_TASK_ALWAYS_EAGER else "0") == "1"
LIVE_DATA = os.environ.get("LIVE_DATA", "") == "1"

# --- auth ---------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/portfolio/"
LOGOUT_REDIRECT_URL = "/"

# --- i18n, time ---------------------------------------------------------------------------
# Pages in Korean and English (templates and forms through gettext, English msgids, Korean in
# locale/ko). A browser preferring Korean gets Korean (LocaleMiddleware reads Accept-Language, then
# the header switch's cookie); every other browser, and a client sending no Accept-Language, gets
# English, the language of the msgids and of the API's error messages.
LANGUAGE_CODE = "en"
LANGUAGES = [("ko", "한국어"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"  # stored and computed in UTC; Asia/Seoul is a display and market-hours concern
DISPLAY_TIME_ZONE = "Asia/Seoul"
FORMAT_MODULE_PATH = ["tradesite.formats"]  # datetimes shown with their zone ("... KST")
USE_I18N = True
USE_TZ = True

# --- static -------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on a missing root
# Chart code is installed by npm (package.json) into node_modules, never copied into the repo.
STATICFILES_DIRS = [("vendor/lightweight-charts", BASE_DIR / "node_modules" / "lightweight-charts" / "dist")]
STATICFILES_DIRS = [(prefix, path) for prefix, path in STATICFILES_DIRS if path.is_dir()]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True  # serve straight from the finders when collectstatic was not run

# --- REST API -----------------------------------------------------------------------------
REST_FRAMEWORK: dict[str, Any] = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.DepthLimitedJSONParser",  # nesting bounded at parse (MAX_JSON_DEPTH = 64)
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.BoundedLimitOffsetPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_SCHEMA_CLASS": "core.schema.ErrorDocumentingAutoSchema",
    "EXCEPTION_HANDLER": "core.exceptions.api_exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "auth_token": os.environ.get("THROTTLE_AUTH_TOKEN", "10/min"),
        "auth_register": os.environ.get("THROTTLE_AUTH_REGISTER", "5/hour"),
        "quiz_answer": os.environ.get("THROTTLE_QUIZ_ANSWER", "20/min"),
    },
}
SIMPLE_JWT: dict[str, Any] = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=int(os.environ.get("JWT_ACCESS_MINUTES", "5"))),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=int(os.environ.get("JWT_REFRESH_DAYS", "7"))),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
}
SPECTACULAR_SETTINGS: dict[str, Any] = {
    "TITLE": "tradesite API",
    "DESCRIPTION": "Paper trading on real KRX and crypto prices, live tickers, taker volume.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI assets come from the drf-spectacular-sidecar package, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # one enum name per choice set where two sets share a field name
    "ENUM_NAME_OVERRIDES": {
        "InstrumentMarketEnum": "markets.models.Market",
        "KrxBoardEnum": "predictions.models.Board",
        "InstrumentKindEnum": "markets.models.Kind",
        "QuestionKindEnum": "quiz.models.Question.Kind",
        "BotKindEnum": "bots.models.Bot.Kind",
        "BotConditionEnum": "bots.models.Bot.Condition",
        "AlertConditionEnum": "alerts.models.Alert.Condition",
    },
}

# Throttles count in the cache; the embedded default keeps them per process.
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- markets ------------------------------------------------------------------------------
MARKETS: dict[str, Any] = {
    # where the shipped real-data slice lives (see markets/data/SOURCE.md)
    "DATA_DIR": BASE_DIR / "markets" / "data",
    # the full recorded data set beside the repo, when present (never required)
    "SHARED_DATA_DIR": Path(os.environ.get("SHARED_DATA_DIR", BASE_DIR.parent / "shared" / "data")),
    "BOARD_SIZE": 20,
    # the tick store keeps this many days of ticks (by exchange time); the retention job
    # (markets.tasks.ticks_retention, hourly) deletes older ones, this many rows a transaction
    "TICK_RETENTION_DAYS": int(os.environ.get("TICK_RETENTION_DAYS", "30")),
    "TICK_RETENTION_BATCH": 10_000,
    # called with the ids of the instruments whose tickers a feed batch updated (sync, after
    # the tickers are committed): limit-order matching, later bot checks
    "TICK_HANDLERS": [
        "trading.services.limit_orders_match",
        "bots.services.bots_on_tick",
        "alerts.services.alerts_on_tick",
    ],
    # factories called with exchange=<venue> when `stream_tickers --source ws` starts; each
    # returns a handler of that venue's trade stream (or None): called with lists of trades,
    # optionally with stream_break(reason) and an async run() loop run beside the feed
    "TRADE_HANDLERS": ["etl.live.stream_handler"],
    # the one clock of the demo's replays (manage.py serve; markets.clock): the recorded window
    # [START, END) every replay covers, restarted at START when it ends, SPEED x real time
    "DEMO_CLOCK": {
        "START": os.environ.get("DEMO_REPLAY_START", "2025-05-26T09:00:00+09:00"),
        "END": os.environ.get("DEMO_REPLAY_END", "2025-06-16T09:00:00+09:00"),
        "SPEED": float(os.environ.get("DEMO_REPLAY_SPEED", "60")),
        "DATASETS": ["upbit_15m_4coins", "upbit_60m_sol", "binance_usdt_1h", "binance_usdt_4h", "krx_daily"],
        # the recorded KIS derivatives session replayed on the clock, looping (another date than
        # the window); relative to SHARED_DATA_DIR (unlicensed, never shipped): absent -> no replay
        "KIS_RECORDING": os.environ.get("DEMO_KIS_RECORDING", "kis/recordings/kis_20250714_night.sqlite3"),
    },
}

# --- KIS realtime (manage.py stream_tickers --source kis) -----------------------------------
KIS_REALTIME: dict[str, Any] = {
    # dotted path of a function returning the WebSocket approval key (issued once, reused 24 h)
    "APPROVAL_KEY_FUNCTION": "markets.sources.kis.auth.get_approval_key",
    "WS_URL": os.environ.get(
        "KIS_WS_URL",
        "ws://ops.koreainvestment.com:31000"
        if os.environ.get("KIS_ENV", "real") == "mock"
        else "ws://ops.koreainvestment.com:21000",
    ),
    # the official column lists of the realtime tr_ids (see ../shared/data/kis/SOURCE.md)
    "SPEC_FILE": Path(
        os.environ.get("KIS_SPEC_FILE", MARKETS["SHARED_DATA_DIR"] / "kis" / "spec" / "kis_realtime_fields.json")
    ),
    "ATM_STRIKES": int(os.environ.get("KIS_ATM_STRIKES", "5")),  # options at the money +/- N strikes
    "MIN_CONNECT_INTERVAL_SECONDS": 10,  # at most one connect attempt per 10 s (KIS blocks looping keys)
    "BACKOFF_CAP_SECONDS": 60,
    "REPLAN_SECONDS": 2,
    "BATCH_SECONDS": 0.5,  # tickers published and ticks stored once per batch
    # dotted paths returning [(KRX code, last used)] of stocks users hold, order, run bots on, watch
    "STOCK_FUNCTIONS": [
        "trading.selectors.krx_codes_in_use",
        "bots.selectors.krx_codes_in_use",
        "alerts.selectors.krx_codes_in_use",
    ],
}

# --- trading ------------------------------------------------------------------------------
TRADING: dict[str, Any] = {
    # starting cash of a new account, per quote currency, paid in as "deposit" ledger entries
    "STARTING_CASH": {
        "KRW": Decimal(os.environ.get("STARTING_CASH_KRW", "10000000")),
        "USDT": Decimal(os.environ.get("STARTING_CASH_USDT", "10000")),
    },
    # a market order needs a price heard from the feed within this many seconds
    "TICKER_MAX_AGE_SECONDS": int(os.environ.get("TICKER_MAX_AGE_SECONDS", "60")),
    # market orders fill at the last price moved this much against the taker
    "SLIPPAGE_BPS": Decimal(os.environ.get("SLIPPAGE_BPS", "5")),
    # commission per exchange in basis points of the traded value (Bithumb 4..25 bps by coupon;
    # Upbit KRW 5; KRX: a typical online broker's 1.5)
    # (defaults from the venue registry, markets/exchanges.py)
    "FEE_BPS": venues.fee_bps_defaults(),
    # KRX securities transaction tax (incl. the rural special tax) on sells, basis points
    "KRX_SELL_TAX_BPS": Decimal(os.environ.get("KRX_SELL_TAX_BPS", "20")),
    # an order's value must reach this, per quote currency (Upbit and Bithumb: 5,000 KRW)
    "MIN_ORDER_VALUE": {"KRW": Decimal("5000"), "USDT": Decimal("5")},
    # KRX market orders only inside the regular session (exchange-calendars XKRX)
    "KRX_ENFORCE_SESSION": env_bool("KRX_ENFORCE_SESSION", True),
    # breakout bots: a crypto strategy day starts at this Asia/Seoul time, where the exchange's
    # daily candles open (Bithumb 00:00 KST; Upbit and the UTC-day exchanges 09:00 KST = 00:00
    # UTC); KRX days are sessions, from the session open
    # (from the venue registry, markets/exchanges.py)
    "BOT_DAY_BOUNDARY": venues.day_boundary_defaults(),
    # a bot takes today's open from the ticker only this soon after the day boundary
    "BOT_OPEN_GRACE_SECONDS": int(os.environ.get("BOT_OPEN_GRACE_SECONDS", "300")),
    # a lot's exit after N sessions sells this long before the Nth KRX session close (15:25 KST)
    "LOT_EXIT_LEAD_SECONDS": int(os.environ.get("LOT_EXIT_LEAD_SECONDS", "300")),
}

# --- quiz ---------------------------------------------------------------------------------
ACCOUNTS: dict[str, Any] = {
    # called as f(user=...) inside the transaction that creates a user through
    # accounts.services.user_create (sign-up page, register API); accounts imports no app above it
    "ON_USER_CREATED": ["trading.services.account_open"],
}

QUIZ: dict[str, Any] = {
    # KRW paid for a right first answer, by question difficulty (1 easy, 2 medium, 3 hard)
    "REWARDS": {1: Decimal("10000"), 2: Decimal("30000"), 3: Decimal("50000")},
    # a served question must be answered within this many seconds
    "ATTEMPT_TTL_SECONDS": int(os.environ.get("QUIZ_ATTEMPT_TTL_SECONDS", "600")),
    # most KRW one user can earn per Asia/Seoul day (None = no cap)
    "DAILY_REWARD_CAP": Decimal(os.environ.get("QUIZ_DAILY_REWARD_CAP", "300000")),
    # answers per user (DRF rate "<n>/<sec|min|hour|day>"); served questions likewise
    "ANSWER_THROTTLE_RATE": REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["quiz_answer"],
    "NEXT_THROTTLE_RATE": os.environ.get("THROTTLE_QUIZ_NEXT", "60/min"),
}

# --- predictions --------------------------------------------------------------------------
PREDICTIONS: dict[str, Any] = {
    # trained model files (git-ignored); their metadata live in predictions.Predictor
    "ARTIFACT_DIR": VAR_DIR / "models",
    # optional: a KRX daily file in the recorded format that the evening job imports first
    "KRX_DAILY_FILE": os.environ.get("PREDICTIONS_KRX_DAILY_FILE", ""),
}

# --- KIS (Korea Investment & Securities Open API) -----------------------------------------
KIS: dict[str, Any] = {
    "APP_KEY": os.environ.get("KIS_APP_KEY", ""),
    "APP_SECRET": os.environ.get("KIS_APP_SECRET", ""),
    # real: https://openapi.koreainvestment.com:9443, mock (paper): https://openapivts.koreainvestment.com:29443
    "ENV": os.environ.get("KIS_ENV", "real"),
    # overrides the env's REST base URL (tests point it at a local fake server)
    "BASE_URL": os.environ.get("KIS_BASE_URL", ""),
    # seconds slept after an EGW00201 (requests per second exceeded) before the retry
    "RATE_LIMIT_WAIT": float(os.environ.get("KIS_RATE_LIMIT_WAIT", "1.0")),
}

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"daphne": {"level": "WARNING"}, "django.channels.server": {"level": "WARNING"}},
}

# --- login throttling, client address (issue 12) ------------------------------------------
# How many reverse proxies in front of the server to trust: 0 = the socket's peer (REMOTE_ADDR) is
# the client and X-Forwarded-For is ignored; N = the Nth X-Forwarded-For entry from the right
# (core.clientip.client_ip, used by the DRF throttles, django-axes and the logs).
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))
REST_FRAMEWORK["NUM_PROXIES"] = TRUSTED_PROXY_COUNT  # DRF's own get_ident follows the same rule
# django-axes: every login form (/accounts/login/, /admin/login/, /api-auth/login/) and the token
# endpoint count failures per username + address; the 6th attempt within the cool-off is refused
# (429), the right password included. Locked accounts and addresses: admin > Axes > Access attempts.
INSTALLED_APPS += ["axes"]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses locked-out credentials
    "django.contrib.auth.backends.ModelBackend",
]
MIDDLEWARE += ["axes.middleware.AxesMiddleware"]  # last: turns a lockout into the 429 response
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_CLIENT_IP_CALLABLE = "core.clientip.client_ip"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False  # no "AXES: BEGIN ..." banner on every manage.py command
# logout and a revoked refresh-token family close the user's /ws/account/ sockets
ACCOUNTS["ON_USER_LOGGED_OUT"] = ["trading.services.account_sockets_close"]
# account events (accounts.events: order filled/expired, bot entered/exited, quiz daily cap),
# called as f(user_id=, event=, text=) after commit: the user's opted-in notifications
ACCOUNTS["ON_ACCOUNT_EVENT"] = ["alerts.services.account_event_notify"]

# --- Content-Security-Policy (django-csp; issue 12) ---------------------------------------
# No inline scripts or styles anywhere: pages load their code and CSS from /static/ (charts from
# the npm-installed lightweight-charts), data travels in json_script blocks, WebSockets are
# same-origin. Beside the headers SecurityMiddleware and XFrameOptionsMiddleware already send.
MIDDLEWARE += ["csp.middleware.CSPMiddleware"]
# The one inline style allowed, by its hash: the <style> lightweight-charts 5.2.1 adds for its
# TradingView attribution logo (its licence asks for the attribution). A new version of the library
# changes the text; the browser suite (tests/browser) then fails on the refused style.
LIGHTWEIGHT_CHARTS_LOGO_STYLE = "'sha256-3pRED1tOXas1FXFoPb9TGCjmYe9XQsmO9OV23khV2nY='"
CONTENT_SECURITY_POLICY: dict[str, Any] = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", LIGHTWEIGHT_CHARTS_LOGO_STYLE],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'self'"],
    }
}

# --- alerts: notification delivery (Telegram, email) ---------------------------------------
# The bot: its token, its @username (for the t.me link), the secret Telegram sends back in
# X-Telegram-Bot-Api-Secret-Token on the webhook, and the Bot API base (a local fake in tests
# and the demo). Without TELEGRAM_WEBHOOK_SECRET the webhook refuses every request.
TELEGRAM_BOT_TOKEN = os.environ.get("TELEGRAM_BOT_TOKEN", "")
TELEGRAM_BOT_USERNAME = os.environ.get("TELEGRAM_BOT_USERNAME", "tradesite_bot")
TELEGRAM_WEBHOOK_SECRET = os.environ.get("TELEGRAM_WEBHOOK_SECRET", "")
TELEGRAM_API_URL = os.environ.get("TELEGRAM_API_URL", "https://api.telegram.org")
# email channels: the console backend in the demo (tests use Django's locmem outbox)
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "tradesite <alerts@localhost>")
ALERTS: dict[str, Any] = {
    # Telegram pacing: messages per second overall, seconds between two messages to one chat
    "TELEGRAM_RATE_PER_SECOND": float(os.environ.get("TELEGRAM_RATE_PER_SECOND", "25")),
    "TELEGRAM_CHAT_INTERVAL_SECONDS": float(os.environ.get("TELEGRAM_CHAT_INTERVAL_SECONDS", "1")),
    # tries of one delivery on network/5xx errors, the first backoff (doubling) between them
    "DELIVERY_MAX_ATTEMPTS": int(os.environ.get("DELIVERY_MAX_ATTEMPTS", "5")),
    "DELIVERY_BACKOFF_SECONDS": float(os.environ.get("DELIVERY_BACKOFF_SECONDS", "2")),
    # a Telegram link token (t.me/<bot>?start=<token>) and an email code are valid this long
    "LINK_TOKEN_MINUTES": int(os.environ.get("TELEGRAM_LINK_TOKEN_MINUTES", "60")),
    "MAX_CHANNELS_PER_USER": 10,
    # a process's in-memory index of active alerts reloads an instrument at least this often
    # (a backstop: alert writes through alerts.services change the watch's version at once)
    "INDEX_MAX_AGE_SECONDS": float(os.environ.get("ALERTS_INDEX_MAX_AGE_SECONDS", "300")),
}
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]["NotificationChannelKindEnum"] = "alerts.models.NotificationChannel.Kind"

# "Task ... succeeded in 0.01s" for every run (the 15-second bot check: 240 lines an hour)
LOGGING["loggers"]["celery.app.trace"] = {"level": "WARNING"}

# bots: the predictions bot reads its picks through this provider (bots may not import predictions)
BOTS = {"PREDICTION_PICKS": "predictions.selectors.prediction_picks"}
