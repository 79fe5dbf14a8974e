"""Django settings for kinfold: safe by default, everything that varies comes from the environment.

KINFOLD_ENV chooses the mode:
- ``production`` (the default): keys are required (see kinfold.keys), cookies are secure, DEBUG off.
- ``demo``: keys are made once under the data folder; the app is served on loopback over HTTP,
  so cookies are not marked Secure (they would never be sent back).
- ``test``: fixed keys; the test runner sets this.

DATABASE_URL picks the database (``sqlite:///path`` or ``postgres://…``); the default is a SQLite
file in the data folder (KINFOLD_DATA_DIR, default ``./var``). KINFOLD_DEBUG=1 turns on DEBUG.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from kinfold import keys as keyring
from kinfold.errors import ConfigError

PACKAGE_DIR = Path(__file__).resolve().parent
_SOURCE_ROOT = PACKAGE_DIR.parent.parent
# In a source checkout, config folders (agreements/, frameworks/, schemas/) sit at the repo root;
# an installed kinfold looks for them in the working directory unless told otherwise.
PROJECT_DIR = _SOURCE_ROOT if (_SOURCE_ROOT / "pyproject.toml").exists() else Path.cwd()

ENV = os.environ.get("KINFOLD_ENV", "production")
if ENV not in {"production", "demo", "test"}:
    raise ImproperlyConfigured(f"KINFOLD_ENV must be production, demo or test, not {ENV!r}")

DATA_DIR = Path(os.environ.get("KINFOLD_DATA_DIR", PROJECT_DIR / "var")).resolve()
AGREEMENTS_DIR = Path(os.environ.get("KINFOLD_AGREEMENTS_DIR", PROJECT_DIR / "agreements"))
CONFIG_DIR = Path(os.environ.get("KINFOLD_CONFIG_DIR", PROJECT_DIR / "config"))

try:
    if ENV == "test":
        KEYS = keyring.KeyRing.for_tests()
    elif ENV == "demo":
        KEYS = keyring.load_or_create(DATA_DIR / "demo-keys.json")
    else:
        KEYS = keyring.load_from_environment()
except ConfigError as exc:
    raise ImproperlyConfigured(str(exc)) from exc

SECRET_KEY = KEYS.secret_key
DEBUG = os.environ.get("KINFOLD_DEBUG", "") == "1"
ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("KINFOLD_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
]
if ENV == "test":
    ALLOWED_HOSTS.append("testserver")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # the parts, in dependency order (DESIGN.md)
    "kinfold.audit",
    "kinfold.agreements",
    "kinfold.staff",
    "kinfold.people",
    "kinfold.ingest",
    "kinfold.consent",
    "kinfold.access",
    "kinfold.programme",
    "kinfold.rights",
    "kinfold.evaluation",
    "kinfold.web",
    "kinfold.portal",
    "kinfold.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "kinfold.web.middleware.SecurityHeadersMiddleware",
    "kinfold.web.middleware.NotPermittedMiddleware",
]

ROOT_URLCONF = "kinfold.urls"
WSGI_APPLICATION = "kinfold.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "kinfold.web.context_processors.navigation",
            ],
            "string_if_invalid": "",
        },
    }
]

_default_db = f"sqlite:///{DATA_DIR / 'kinfold.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", _default_db), conn_max_age=60, conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web read while a quarter loads; IMMEDIATE avoids lock-upgrade deadlocks.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "staff.User"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
if ENV == "test":
    # Argon2 is deliberately slow; tests sign in hundreds of times. Production never uses this.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "web:sign-in"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:sign-in"

# Cookies and headers. Secure cookies everywhere but the loopback demo and tests, which use HTTP.
_served_over_https = ENV == "production"
SESSION_COOKIE_SECURE = _served_over_https
CSRF_COOKIE_SECURE = _served_over_https
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 8 * 60 * 60  # a working day
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = _served_over_https and os.environ.get("KINFOLD_SSL_REDIRECT", "1") == "1"
SECURE_HSTS_SECONDS = 31536000 if _served_over_https else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = _served_over_https
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if os.environ.get("KINFOLD_BEHIND_PROXY") == "1" else None
)
CSRF_TRUSTED_ORIGINS = [
    o for o in os.environ.get("KINFOLD_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
# Static files are served from the installed package by WhiteNoise's finders; an operator who
# prefers `kinfold collectstatic` (hashed, compressed copies) sets KINFOLD_STATIC_ROOT.
STATIC_ROOT = os.environ.get("KINFOLD_STATIC_ROOT") or None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("KINFOLD_LOG_LEVEL", "WARNING")},
}

# kinfold's own settings
KINFOLD_PROGRAMME_TARGET = int(os.environ.get("KINFOLD_PROGRAMME_TARGET", "1360"))
KINFOLD_COUNCIL_NAME = os.environ.get("KINFOLD_COUNCIL_NAME", "Northfield Borough Council")
KINFOLD_SERVICE_NAME = os.environ.get("KINFOLD_SERVICE_NAME", "Supporting Families")
# The audit log's name in its signed checkpoints: set it to the council's host and path before the
# first checkpoint is published (e.g. "families.northfield.example.org/audit-log").
KINFOLD_AUDIT_ORIGIN = os.environ.get("KINFOLD_AUDIT_ORIGIN", "")

# --- family portal, rights and publishing (kinfold.portal, kinfold.rights, kinfold.evaluation) ---
# Key-encryption epochs (kinfold.keystore): a small file OUTSIDE the database, kept with the keys
# and never restored from an old copy; erasure destroys old epochs so restored backups stay dead.
# The test suite wraps data keys under the master key directly unless a test sets this.
KINFOLD_KEYSTORE_FILE = os.environ.get("KINFOLD_KEYSTORE_FILE") or (
    None if ENV == "test" else str(DATA_DIR / "keystore.json")
)
# How sign-in codes reach family members: "file" (the demo: one file per message in
# KINFOLD_PORTAL_OUTBOX), "console" (printed), or "notify" (a GOV.UK Notify-style HTTP API).
KINFOLD_PORTAL_NOTIFIER = os.environ.get(
    "KINFOLD_PORTAL_NOTIFIER", "notify" if ENV == "production" else "file"
)
KINFOLD_PORTAL_OUTBOX = os.environ.get("KINFOLD_PORTAL_OUTBOX", str(DATA_DIR / "portal-outbox"))
KINFOLD_NOTIFY_BASE_URL = os.environ.get(
    "KINFOLD_NOTIFY_BASE_URL", "https://api.notifications.service.gov.uk"
)
KINFOLD_NOTIFY_API_KEY = os.environ.get("KINFOLD_NOTIFY_API_KEY", "")
KINFOLD_NOTIFY_EMAIL_TEMPLATE = os.environ.get("KINFOLD_NOTIFY_EMAIL_TEMPLATE", "")
KINFOLD_NOTIFY_SMS_TEMPLATE = os.environ.get("KINFOLD_NOTIFY_SMS_TEMPLATE", "")
# Every public response passes the publishing guard (kinfold.evaluation.publishing) first.
KINFOLD_PUBLIC_PATHS = ("/transparency/", "/privacy/", "/accessibility/", "/statistics/")
MIDDLEWARE.insert(
    MIDDLEWARE.index("kinfold.web.middleware.SecurityHeadersMiddleware") + 1,
    "kinfold.evaluation.middleware.PublishingGuardMiddleware",
)
# The council's own published contact points, which public pages may show (comma-separated).
KINFOLD_PUBLISHED_CONTACTS = tuple(
    c.strip()
    for c in os.environ.get(
        "KINFOLD_PUBLISHED_CONTACTS", "dpo@example.org,accessibility@example.org"
    ).split(",")
    if c.strip()
)

# --- quarter ingest (kinfold.ingest; docs/ingest.md) ---
# `kinfold quarter ingest` on a folder of extracts plays the partners too (demo and test harness):
# their shared linkage secret and the bundles they make live in this folder, which the hub's code
# never reads a secret from. In production partners run the encoding themselves and send bundles.
KINFOLD_INGEST_PARTNER_DIR = os.environ.get("KINFOLD_INGEST_PARTNER_DIR") or str(
    DATA_DIR / "partner-side"
)
# Where quarantine reports go when `--report` is not given.
KINFOLD_INGEST_REPORTS_DIR = os.environ.get("KINFOLD_INGEST_REPORTS_DIR") or str(
    DATA_DIR / "ingest-reports"
)
# The extract schemas (one TOML per partner; docs/contracts.md).
KINFOLD_SCHEMAS_DIR = os.environ.get("KINFOLD_SCHEMAS_DIR") or str(CONFIG_DIR / "schemas")
# Linkage settings the hub links with (a TOML laid over kinfold.linkage's defaults; its [linking]
# section is the hub's own choice); empty: linkage's defaults.
KINFOLD_LINKAGE_SETTINGS = os.environ.get("KINFOLD_LINKAGE_SETTINGS", "")
