"""Chorale settings, read from the environment (see README.md and .env.example)."""

import datetime
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from settings.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("CHORALE_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)  # the embedded database and broker live here

DEBUG = env_bool("DJANGO_DEBUG", default=False)
# Development may run without a secret; production must set one (fail loudly otherwise).
SECRET_KEY = env_str("DJANGO_SECRET_KEY", "dev-insecure-chorale-key" if DEBUG else None)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

# Key for secrets stored in the database (technical passwords, client secrets): a Fernet
# key, or any passphrase (derived). Changing it makes stored secrets unreadable.
FIELD_ENCRYPTION_KEY = env_str("CHORALE_ENCRYPTION_KEY", SECRET_KEY)
# Keys that only decrypt (comma-separated): the old key while `rotate_encryption_key` runs.
FIELD_ENCRYPTION_PREVIOUS_KEYS = env_list("CHORALE_ENCRYPTION_PREVIOUS_KEYS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "invoicing",
    "facturx_export",
    "chorus",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before WhiteNoise: static files (an SVG can hold a script) get the policy too.
    "settings.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: it turns a lockout into the French page
]

# Login throttling (django-axes): after CHORALE_LOGIN_FAILURE_LIMIT failures an account, and
# separately an address, is locked for CHORALE_LOGIN_LOCKOUT_MINUTES, on /connexion/ and
# /admin/login/ alike. Admins unlock in the admin (« Tentatives d'accès ») or with
# `manage.py axes_reset_username <login>`.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("CHORALE_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env_int("CHORALE_LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# The client's address: REMOTE_ADDR, unless a number of trusted reverse proxies is given
# (then the address they append to X-Forwarded-For; never trust a header nobody sets).
AXES_IPWARE_PROXY_COUNT = env_int("CHORALE_TRUSTED_PROXIES", 0) or None
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR") if AXES_IPWARE_PROXY_COUNT else ("REMOTE_ADDR",)
)

ROOT_URLCONF = "settings.urls"
WSGI_APPLICATION = "settings.wsgi.application"

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
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'chorale.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool(
    "DATABASE_PREPARED_STATEMENTS", default=True
):
    # Parameters bound by the server, and a statement run 5 times on a connection prepared
    # (parsed and planned once): the worker repeats the same few statements for every
    # sending. Turn off behind a pooler in transaction mode (PgBouncer without
    # max_prepared_statements).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        server_side_binding=True, prepare_threshold=5
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Concurrent web + worker processes on the embedded database: wait instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 30
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("Français")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns about a missing one
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = VAR_DIR / "media"

SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SECURE_CONTENT_TYPE_NOSNIFF = True

# Background work: Redis in production; a broker that needs no server (files) by default.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# kombu's file-system transport defaults to folders relative to the current directory
# (./control for its exchange tables, ./processed): every folder it knows is set here, under
# the var dir. It also moves each message it reads into the temporary directory: a worker on
# this broker uses WORKER_TMP_DIR for that (settings/celery.py).
BROKER_DIR = VAR_DIR / "broker"
WORKER_TMP_DIR = VAR_DIR / "tmp"
if CELERY_BROKER_URL.startswith("filesystem"):
    BROKER_DIR.mkdir(exist_ok=True)  # kombu reads and writes it, never creates it
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR),
        "data_folder_out": str(BROKER_DIR),
        "control_folder": str(BROKER_DIR / "control"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_ACKS_LATE = True
# Database connections outlive tasks (see settings/celery.py): Celery closes them only this often.
CELERY_DB_REUSE_MAX = 1000
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE

# Chorus Pro (PISTE). Unset URLs: the real PISTE hosts of each company's environment
# (qualification or production). CHORUS_API_URL points every company at one host instead
# (`make run` sets it to the local sandbox).
CHORUS_API_URL = env_str("CHORUS_API_URL", "")
CHORUS_TOKEN_URL = env_str(
    "CHORUS_TOKEN_URL", f"{CHORUS_API_URL}/api/oauth/token" if CHORUS_API_URL else ""
)
CHORUS_CLIENT_ID = env_str("CHORUS_CLIENT_ID", "")
CHORUS_CLIENT_SECRET = env_str("CHORUS_CLIENT_SECRET", "")
CHORUS_CONNECT_TIMEOUT = env_int("CHORUS_CONNECT_TIMEOUT", 5)
CHORUS_READ_TIMEOUT = env_int("CHORUS_READ_TIMEOUT", 60)
CHORUS_HTTP_RETRIES = env_int("CHORUS_HTTP_RETRIES", 2)
# Sending task: automatic retries of transient faults, with exponential back-off.
CHORUS_SEND_MAX_RETRIES = env_int("CHORUS_SEND_MAX_RETRIES", 4)
CHORUS_SEND_RETRY_BACKOFF = env_int("CHORUS_SEND_RETRY_BACKOFF", 10)
# A deposit whose answer was lost is only sent again after Chorus Pro still does not know
# the invoice this many seconds later (integration is asynchronous).
CHORUS_REDEPOSIT_AFTER = env_int("CHORUS_REDEPOSIT_AFTER", 900)
# The sweeper re-enqueues submissions stuck this long (lost message, killed worker).
CHORUS_STUCK_AFTER = env_int("CHORUS_STUCK_AFTER", 120)
# Buyer structures and their services are cached this long (0: always ask Chorus Pro).
CHORUS_STRUCTURE_CACHE_SECONDS = env_int("CHORUS_STRUCTURE_CACHE_SECONDS", 300)
# A technical account that passed the check is not checked again for this long (0: always).
CHORUS_ACCOUNT_CHECK_SECONDS = env_int("CHORUS_ACCOUNT_CHECK_SECONDS", 60)
CHORUS_SEND_TIME_LIMIT = env_int("CHORUS_SEND_TIME_LIMIT", 300)
CHORUS_SYNC_INTERVAL = env_int("CHORUS_SYNC_INTERVAL", 300)
CELERY_BEAT_SCHEDULE = {
    "chorus-sweep-stuck": {
        "task": "chorus.tasks.sweep_stuck_submissions",
        "schedule": max(CHORUS_STUCK_AFTER // 2, 5),
    },
    "chorus-sync-statuses": {
        "task": "chorus.tasks.sync_statuses",
        "schedule": CHORUS_SYNC_INTERVAL,
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # WeasyPrint logs each rendering step at INFO: seven lines per invoice, of no use.
    "loggers": {"weasyprint": {"level": "WARNING"}, "fontTools": {"level": "WARNING"}},
}
