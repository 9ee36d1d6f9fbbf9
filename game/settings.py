"""Django settings, read from the environment.

Embedded default: SQLite (WAL) + the in-memory channel layer + the engine inside the server.
Scale-out: DATABASE_URL (PostgreSQL) and REDIS_URL (channels_redis). A bad value fails at start-up
with a message naming the variable, never silently.
"""
from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from game import firstrun

# Importing this module writes nothing: the directories and the generated secret key are made
# by the entry points (manage.py, game/asgi.py) through game/firstrun.py.
BASE_DIR = firstrun.BASE_DIR
VAR_DIR = firstrun.var_dir()

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def envstr(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def envbool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r}: expected one of {sorted(_TRUE | _FALSE - {''})}")


def envint(name: str, default: int, *, lo: int | None = None, hi: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r}: expected an integer") from None
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ImproperlyConfigured(f"{name}={value}: expected {lo} ≤ value ≤ {hi}")
    return value


def envfloat(name: str, default: float, *, lo: float | None = None,
             hi: float | None = None) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r}: expected a number") from None
    if value != value or (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ImproperlyConfigured(f"{name}={value}: expected {lo} ≤ value ≤ {hi}")
    return value


def envlist(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def _secret_key() -> str:
    """DJANGO_SECRET_KEY, else the key the first start generated into VAR_DIR/secret_key
    (game/firstrun.py); a bare import with neither (a test run, a script) gets a key of its own
    that lives as long as the process."""
    key = os.environ.get("DJANGO_SECRET_KEY", "").strip()
    if key:
        if len(key) < 32:
            raise ImproperlyConfigured("DJANGO_SECRET_KEY: use at least 32 characters")
        return key
    try:
        key = firstrun.secret_key_path().read_text().strip()
    except FileNotFoundError:
        key = ""
    return key or secrets.token_urlsafe(50)


SECRET_KEY = _secret_key()
DEBUG = envbool("DEBUG", False)
# Classrooms connect over the LAN: set ALLOWED_HOSTS=192.168.1.20,localhost (the address the
# students type). Also admits WebSocket origins from those hosts (see game/live/origin.py).
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "axes",
    "game",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # NUL and other control characters in a path, query, form field or cookie: 400 bad_value.
    "game.inputguard.ControlCharacterMiddleware",
    # Content-Security-Policy, and no-store on every page (game/web/headers.py).
    "game.web.headers.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: turns a locked-out login into the lockout page (django-axes).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "game.web.urls"
ASGI_APPLICATION = "game.asgi.application"
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
            ]
        },
    }
]

# --- database -------------------------------------------------------------------------------
DATABASE_URL = envstr("DATABASE_URL")
if DATABASE_URL:
    import dj_database_url

    # No persistent connections (CONN_MAX_AGE=0: under ASGI each request runs in a thread of
    # its own, and a connection kept by a finished thread leaks), but a psycopg pool per
    # process: "closing" a connection hands it back, so a database call costs no connect
    # (docs/performance.md: a reconnect storm of 300 sockets 6.0 s -> 2.9 s). DB_POOL_MAX=0
    # turns the pool off (a connection per call). Every database call from async code closes
    # its connections inside its own context (game/asyncdb.py), or pool slots would leak.
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
    DB_POOL_MAX = envint("DB_POOL_MAX", 20, lo=0)
    if DB_POOL_MAX:
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": envint("DB_POOL_MIN", 2, lo=0, hi=DB_POOL_MAX),
            "max_size": DB_POOL_MAX,
            "timeout": envfloat("DB_POOL_TIMEOUT", 10.0, lo=0.1),
        }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": envstr("SQLITE_PATH", str(VAR_DIR / "db.sqlite3")),
            "OPTIONS": {
                # IMMEDIATE: take the write lock at BEGIN, so two writers queue on the busy
                # timeout instead of failing with "database is locked" on lock upgrade.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                " PRAGMA busy_timeout=20000;",
            },
            # Tests get a file (not shared-cache memory, whose table locks ignore the busy
            # timeout), one per process so concurrent test runs do not meet.
            "TEST": {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- channel layer --------------------------------------------------------------------------
REDIS_URL = envstr("REDIS_URL")
CHANNEL_LAYER = envstr("CHANNEL_LAYER", "pubsub")
if CHANNEL_LAYER not in ("pubsub", "core"):
    raise ImproperlyConfigured(f"CHANNEL_LAYER={CHANNEL_LAYER!r}: expected 'pubsub' or 'core'")
if REDIS_URL:
    _redis_host = {
        "address": REDIS_URL,
        # redis-py 8 reads with a 5 s socket timeout while channels_redis blocks up to 5 s per
        # receive: on a busy worker the read times out and the socket dies with 1011
        # (redis/redis-py#4091). No timeout on reads; connection loss is still detected.
        "socket_timeout": None,
        # redis-py 8's asyncio pool raises past 100 connections instead of waiting: a worker
        # with a few hundred sockets connecting at once would lose some of them.
        "max_connections": envint("REDIS_MAX_CONNECTIONS", 10_000, lo=10),
    }
    if CHANNEL_LAYER == "pubsub":
        # A broadcast is published once per group and fanned out by each worker, instead of
        # one copy per socket stored in Redis (docs/performance.md: with 1,000 sockets the
        # per-socket copies fell seconds behind). At-most-once delivery: the protocol's seq
        # gaps and snapshots already heal a lost message.
        CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "game.live.fanout.PubSubChannelLayer",
                "CONFIG": {"hosts": [_redis_host], "prefix": envstr("CHANNELS_PREFIX", "dtao")},
            }
        }
    else:
        CHANNEL_LAYERS = {
            "default": {
                # channels_redis' core layer, with connections that reconnect after a Redis
                # restart (game/live/layers.py)
                "BACKEND": "game.live.layers.RedisChannelLayer",
                "CONFIG": {
                    "hosts": [_redis_host],
                    "prefix": envstr("CHANNELS_PREFIX", "dtao"),
                    "capacity": envint("CHANNELS_CAPACITY", 1000, lo=10),
                    "expiry": 30,
                },
            }
        }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": envint("CHANNELS_CAPACITY", 1000, lo=10)},
        }
    }

# --- cache: the abuse limits' counters (game/ratelimit.py) ------------------------------------
# With REDIS_URL, in Redis, so that every daphne process counts against the same limits; the
# embedded server keeps them in its own memory.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": envstr("CHANNELS_PREFIX", "dtao") + "-cache",
        }
    }

# --- auth, static, misc ---------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Login throttling (django-axes, docs/security.md): failed logins are counted in the database
# (shared by every daphne worker) per client address and, separately, per username; either
# reaching LOGIN_FAILURE_LIMIT locks that address or that username out of /login/ for
# LOGIN_COOLOFF_MINUTES (each further failed try during the lockout starts the cool-off over).
# Unlock at once: manage.py axes_reset_username USERNAME, axes_reset_ip ADDRESS, or axes_reset.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", 10, lo=1, hi=1000)
AXES_COOLOFF_TIME = timedelta(
    minutes=envint("LOGIN_COOLOFF_MINUTES", 15, lo=1, hi=24 * 60))
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True  # failures only: no log of every instructor's logins kept
AXES_VERBOSE = False
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/console/"
LOGOUT_REDIRECT_URL = "/login/"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = envbool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = firstrun.static_root()  # made by firstrun: whitenoise warns when it is missing
# Hashed, compressed names (collectstatic, which scripts/run does); files not collected yet (a
# fresh checkout, the tests) fall back to their plain names, served from static/ by the finders.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage" if DEBUG
        else "game.web.staticfiles.ForgivingManifestStorage",
    },
}
WHITENOISE_USE_FINDERS = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
    "loggers": {"daphne": {"level": "WARNING"}, "django.channels.server": {"level": "WARNING"},
                "axes": {"level": "WARNING"}},
}

# --- the game -------------------------------------------------------------------------------
ENGINE_IN_PROCESS = envbool("ENGINE_IN_PROCESS", True)
ENGINE_POLL_SECONDS = envfloat("ENGINE_POLL_SECONDS", 0.25, lo=0.01, hi=10)
# Seconds a connection has to send a request's complete headers (game/live/httpguard.py; 0: off).
HTTP_HEADER_TIMEOUT_SECONDS = envfloat("HTTP_HEADER_TIMEOUT_SECONDS", 10.0, lo=0, hi=3600)
WS_MAX_MESSAGE_BYTES = envint("WS_MAX_MESSAGE_BYTES", 4096, lo=256)
WS_RATE_PER_SECOND = envfloat("WS_RATE_PER_SECOND", 10.0, lo=0.1)
WS_RATE_BURST = envint("WS_RATE_BURST", 20, lo=1)
WS_RATE_STRIKES = envint("WS_RATE_STRIKES", 50, lo=1)
# Bytes a socket may have queued for it while its client is not reading (the send buffer is over
# Twisted's 64 KiB) before the connection is aborted; game/live/transport.py.
WS_SEND_BUFFER_MAX_BYTES = envint("WS_SEND_BUFFER_MAX_BYTES", 1024 * 1024, lo=4096, hi=1 << 30)
# The largest message the server sends (bytes; game/live/transport.py). Snapshots stay far below it
# (docs/protocol.md "Sizes"); a larger message is not sent: logged, and the socket closed (4013).
WS_MAX_SEND_BYTES = envint("WS_MAX_SEND_BYTES", 1024 * 1024, lo=1024, hi=1 << 30)
LEADERBOARD_TOP = envint("LEADERBOARD_TOP", 10, lo=1, hi=1000)
LOBBY_BROADCAST_MAX = envint("LOBBY_BROADCAST_MAX", 100, lo=1)
BOT_TAKEOVER_SECONDS = envfloat("BOT_TAKEOVER_SECONDS", 15.0, lo=0)
# How long a seat's presence lease lasts (renewed every third of it by the process holding its
# socket; capped at BOT_TAKEOVER_SECONDS): game/live/heartbeat.py, docs/architecture.md.
PRESENCE_TIMEOUT_SECONDS = envfloat("PRESENCE_TIMEOUT_SECONDS", 10.0, lo=1)
SCENARIOS_DIR = Path(envstr("SCENARIOS_DIR", str(BASE_DIR / "sim" / "scenarios")))
# The address printed on join URLs and QR codes (e.g. http://192.168.1.20:8000); default: the
# address the instructor's browser used.
PUBLIC_URL = envstr("PUBLIC_URL").rstrip("/")
# Abuse limits (game/ratelimit.py; docs/security.md). 0 turns a rate limit off.
JOIN_RATE_PER_IP = envint("JOIN_RATE_PER_IP", 600, lo=0)  # joins a minute from one address
JOIN_RATE_PER_GAME = envint("JOIN_RATE_PER_GAME", 600, lo=0)  # joins a minute into one game
CODE_MISSES_PER_IP = envint("CODE_MISSES_PER_IP", 60, lo=0)  # unknown codes a minute, per address
GAME_MAX_SEATS = envint("GAME_MAX_SEATS", 1000, lo=1)  # students in one game (the lobby cap)
# "Your class vs N bot classes" (game/debrief/bands.py): jobs running at once on this machine (every
# process sharing VAR_DIR counts against it), and jobs waiting per process beyond that.
BANDS_MAX_JOBS = envint("BANDS_MAX_JOBS", 1, lo=1, hi=64)
BANDS_QUEUE_MAX = envint("BANDS_QUEUE_MAX", 20, lo=0, hi=10_000)
# Behind TLS (docs/security.md lists the variables that make `check --deploy` clean). All off by
# default: a classroom LAN server is usually plain http://192.168.x.y:8000.
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", False)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # probes speak plain HTTP inside the cluster
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 0, lo=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", False)
# Only behind a reverse proxy that sets X-Forwarded-Proto itself (never trust it otherwise).
if envbool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
