"""Settings for the clinic site, read from the environment.

Development and production differ only in environment values (see `.env.example`):
`DJANGO_DEBUG=1` for local work; production sets `DJANGO_SECRET_KEY`, `DATABASE_URL`,
`DJANGO_ALLOWED_HOSTS` and `EMAIL_URL`.
"""

import ipaddress
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DJANGO_DEBUG", default=False)

# Production refuses to start without a key; django-environ's error names the variable.
SECRET_KEY = (
    env("DJANGO_SECRET_KEY", default="django-insecure-local-development-only")
    if DEBUG
    else env("DJANGO_SECRET_KEY")
)

ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# A deliberate choice to accept a check's warning, e.g. education.W001 (sample articles).
SILENCED_SYSTEM_CHECKS = env.list("DJANGO_SILENCED_SYSTEM_CHECKS", default=[])

INSTALLED_APPS = [
    "clinic",
    "education",
    "consultations",
    # The admin with the clinic's site class (two-factor switch, "at a glance" panel).
    "clinic.apps.ClinicAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "crispy_forms",
    "crispy_bootstrap5",
    "reversion",
    "reversion_compare",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "django_otp",
    "clinic.apps.TwoFactorConfig",  # django_otp.plugins.otp_totp, renamed in the menu
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Pages made for one visitor (booking, the manage link, the admin): about 70 KB, most
    # of it the inline stylesheet, down to about 15. Its random padding and Django's
    # masked CSRF tokens answer BREACH. Public pages bring their own gzip copy and static
    # files whitenoise's: it leaves anything already encoded alone.
    "django.middleware.gzip.GZipMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "clinic.stylesheet.InlineStylesheetCSPMiddleware",  # django-csp's, plus the inline CSS
    # Django's, leaving the session alone on answers made while the database is down.
    "clinic.outage.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_ratelimit.middleware.RatelimitMiddleware",
    "axes.middleware.AxesMiddleware",
    # Last, so it sees a view's exception first: "database unreachable" becomes a 503
    # page with the clinic's phone (public pages with a kept copy never get here).
    "clinic.outage.DatabaseOutageMiddleware",
]

ROOT_URLCONF = "clinic.urls"
WSGI_APPLICATION = "clinic.wsgi.application"

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
                "clinic.context_processors.clinic",
            ],
        },
    },
]

# SQLite in the project folder unless DATABASE_URL names another database.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock at BEGIN, so concurrent bookings queue rather than
    # fail with "database is locked" when a read transaction tries to upgrade.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    # Django's, with a health check that costs no round trip (clinic/postgresql/base.py).
    DATABASES["default"]["ENGINE"] = "clinic.postgresql"
    # A database host that is gone (stopped container, failed-over address) answers no
    # connection attempt at all, and libpq waits for ever by default: a page would hang
    # until gunicorn killed its worker, instead of being served from its kept copy
    # (stale-if-error). A timeout named in DATABASE_URL (?connect_timeout=) wins.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("DJANGO_DB_CONNECT_TIMEOUT", default=3)
    )
    # Statements sent by a server-side binding cursor are prepared at once, and kept
    # prepared by the connection: only the search uses one (education/search.py); every
    # other query binds on the client, as Django's default is, and is never prepared.
    DATABASES["default"]["OPTIONS"].setdefault("prepare_threshold", 0)
# Persistent connections on both: opening one per request costs more than a cached page.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    # Shared by every process and replica, because the booking rate limit counts here: a
    # table in the database every worker already uses (`createcachetable` makes it; the
    # container's entrypoint, `make run` and the tests do), rather than a cache server
    # that would be one more service to run, secure and watch for a handful of counts an
    # hour. Its increment locks the row (clinic/cache_backends.py).
    "default": {"BACKEND": "clinic.cache_backends.DatabaseCache", "LOCATION": "clinic_cache"},
    # Per-process memory: the public pages each worker keeps for itself, checked against
    # the content version (clinic/page_cache.py). When full, the least recently used
    # page goes, one at a time. Kept as stored, never pickled (clinic/cache_backends.py).
    "pages": {
        "BACKEND": "clinic.cache_backends.ObjectMemoryCache",
        "OPTIONS": {"MAX_ENTRIES": 256, "CULL_FREQUENCY": 256},
    },
}
# Each worker keeps rendered public pages (clinic/page_cache.py); off while debugging so
# template edits show at once.
CLINIC_PAGE_CACHE = env.bool("CLINIC_PAGE_CACHE", default=not DEBUG)
# How often each process re-reads the content version: the most a change made through
# another worker can take to show (0 reads it on every request).
CLINIC_CONTENT_VERSION_SECONDS = env.float("CLINIC_CONTENT_VERSION_SECONDS", default=1.0)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Sign-in protection (README "Staff roles and sign-in"). Axes checks for a lockout before
# any other backend sees the password. Five failures for the same account from the same
# address lock that pair out for 30 minutes (so a stranger cannot lock staff out of their
# own desks); a success resets the count. Axes masks the password in what it stores, and
# the username and address too in its log lines.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=30)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "clinic.security.client_ip"
AXES_VERBOSE = False  # no start-up banner on every manage.py command
# Password spraying (a few guesses at many usernames) never trips the per-account lockout:
# after this many failures from one address within the cool-off, across all usernames,
# that address gets no password checked until the cool-off has passed
# (clinic/admin_site.py). High enough that a busy office behind one address is not hit.
CLINIC_SIGN_IN_ADDRESS_FAILURE_LIMIT = env.int("CLINIC_SIGN_IN_ADDRESS_FAILURE_LIMIT", default=20)
# Addresses or networks of the proxies in front of the app (clinic/security.py). Only a
# request from one of them has its X-Forwarded-For read; empty: never read. A typo fails
# at start-up rather than silently trusting nobody.
CLINIC_TRUSTED_PROXIES = [
    str(ipaddress.ip_network(value, strict=False))
    for value in env.list("DJANGO_TRUSTED_PROXIES", default=[])
]
if env("DJANGO_TRUSTED_PROXY_COUNT", default=""):
    raise ImproperlyConfigured(
        "DJANGO_TRUSTED_PROXY_COUNT is replaced by DJANGO_TRUSTED_PROXIES: list the "
        "addresses of your proxies (README, Configuration)."
    )
# Staff sessions end after this many seconds without a request. Saving on every request
# slides the expiry; Django never saves (or sends a cookie for) an empty anonymous session.
SESSION_COOKIE_AGE = env.int("DJANGO_SESSION_IDLE_SECONDS", default=1800)
SESSION_SAVE_EVERY_REQUEST = True
# On: the admin asks for a code from an authenticator app at sign-in and refuses staff
# without a confirmed device (clinic/admin_site.py).
CLINIC_REQUIRE_2FA = env.bool("CLINIC_REQUIRE_2FA", default=False)
# The name staff see for this account in their authenticator app.
OTP_TOTP_ISSUER = "Clinic admin"

LANGUAGE_CODE = "en-us"
# US date formats ("Wednesday, December 2"), in one place: clinic/formats/en/formats.py.
FORMAT_MODULE_PATH = ["clinic.formats"]
USE_I18N = False
USE_TZ = True
TIME_ZONE = env("CLINIC_TIME_ZONE", default="America/New_York")

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploaded article images (education.ArticleImage). In compose: the `media` volume.
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("DJANGO_MEDIA_ROOT", default=BASE_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

ADMIN_URL = env("DJANGO_ADMIN_URL", default="admin/").strip("/") + "/"

# Email: console while debugging, SMTP (EMAIL_URL) in production.
EMAIL_CONFIG = env.email_url(
    "EMAIL_URL", default="consolemail://" if DEBUG else "smtp://localhost:25"
)
vars().update(EMAIL_CONFIG)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="clinic@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Consultations: background email, booking abuse limits, self-service and retention.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# A task still RUNNING this long after it started lost its worker (killed mid-send):
# fail_stranded_tasks marks it failed and the request's email failed, for staff to resend.
# It must outlast a task's slowest honest run, two emails at EMAIL_TIMEOUT each.
CLINIC_TASK_STRANDED_SECONDS = env.int("CLINIC_TASK_STRANDED_SECONDS", default=600)
if CLINIC_TASK_STRANDED_SECONDS <= 2 * EMAIL_TIMEOUT:
    raise ImproperlyConfigured(
        f"CLINIC_TASK_STRANDED_SECONDS must be more than two email timeouts "
        f"({2 * EMAIL_TIMEOUT} s), or tasks still sending would be marked failed."
    )
CLINIC_SITE_URL = env("CLINIC_SITE_URL", default="http://127.0.0.1:8000")
CLINIC_NOTIFY_EMAIL = env("CLINIC_NOTIFY_EMAIL", default=DEFAULT_FROM_EMAIL)
# Booking limits per client address: requests sent, and (higher, against floods) every
# POST of the form, mistakes included; "off" turns either off. And requests per email
# address in 24 hours (counted in the database; 0 turns it off).
CLINIC_BOOKING_RATE_LIMIT = env("CLINIC_BOOKING_RATE_LIMIT", default="5/h")
CLINIC_BOOKING_POST_LIMIT = env("CLINIC_BOOKING_POST_LIMIT", default="60/h")
CLINIC_BOOKING_EMAIL_LIMIT = env.int("CLINIC_BOOKING_EMAIL_LIMIT", default=3)
CLINIC_BOOKING_MIN_SECONDS = env.float("CLINIC_BOOKING_MIN_SECONDS", default=3)
CLINIC_SELF_SERVICE_CUTOFF_HOURS = env.int("CLINIC_SELF_SERVICE_CUTOFF_HOURS", default=24)
CLINIC_RETENTION_DAYS = env.int("CLINIC_RETENTION_DAYS", default=365)
# The waitlist: how many waiting patients one opening emails (oldest first), how long the
# link to book in that email works, and after how many days an entry is purged.
CLINIC_WAITLIST_BATCH = env.int("CLINIC_WAITLIST_BATCH", default=3)
CLINIC_WAITLIST_LINK_HOURS = env.int("CLINIC_WAITLIST_LINK_HOURS", default=48)
CLINIC_WAITLIST_RETENTION_DAYS = env.int("CLINIC_WAITLIST_RETENTION_DAYS", default=90)
# Booking rules (README, "Booking rules"), applied to what the booking page offers and to
# every booking and move the service accepts (AvailabilitySlotQuerySet.bookable). The
# notice is never shorter than the self-service cut-off, so a booked time can still be
# changed online.
CLINIC_BOOKING_MIN_NOTICE_HOURS = env.int("CLINIC_BOOKING_MIN_NOTICE_HOURS", default=24)
CLINIC_BOOKING_HORIZON_DAYS = env.int("CLINIC_BOOKING_HORIZON_DAYS", default=60)
CLINIC_BOOKING_BUFFER_MINUTES = env.int("CLINIC_BOOKING_BUFFER_MINUTES", default=0)
# Empty (the default): no daily maximum.
CLINIC_BOOKING_DAILY_MAX = env("CLINIC_BOOKING_DAILY_MAX", default="").strip()
CLINIC_BOOKING_DAILY_MAX = int(CLINIC_BOOKING_DAILY_MAX) if CLINIC_BOOKING_DAILY_MAX else None
# Reminders before a confirmed consultation (consultations/reminders.py; a scheduler runs
# `send_consultation_reminders` every 5 minutes): the hours before it starts, "24" or
# "24,2" for a second one, empty for none; and how late a reminder still goes when no run
# came at its due time (a worker down, a restart), in minutes.
CLINIC_REMINDER_HOURS = sorted(
    {int(hours) for hours in env.list("CLINIC_REMINDER_HOURS", default=["24"]) if hours.strip()},
    reverse=True,
)
if any(hours < 1 for hours in CLINIC_REMINDER_HOURS):
    raise ImproperlyConfigured("CLINIC_REMINDER_HOURS: whole hours of 1 or more, e.g. 24,2.")
CLINIC_REMINDER_GRACE_MINUTES = env.int("CLINIC_REMINDER_GRACE_MINUTES", default=120)
# Staff calendar feeds (consultations/staff_calendar.py): fetches per client address, as
# django-ratelimit rates ("120/h"; calendar apps poll every few minutes to hours, and an
# office may share one address); "off" disables.
CLINIC_CALENDAR_FEED_RATE_LIMIT = env("CLINIC_CALENDAR_FEED_RATE_LIMIT", default="120/h")
# The booking limit counts per client address in the shared default cache. The address
# is the one lockouts and the audit trail see (clinic/security.py): the peer, or behind a
# proxy listed in DJANGO_TRUSTED_PROXIES the address it reports; otherwise every patient
# behind that proxy shares its limit.
RATELIMIT_VIEW = "clinic.views.rate_limited"
RATELIMIT_IP_META_KEY = "clinic.security.client_ip"

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Security. HTTPS settings follow DEBUG; each can be overridden for a plain-HTTP local run.
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
if env.bool("DJANGO_SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# HSTS is staged (README, "HSTS"): browsers keep a max-age they have seen, so a first
# deploy promises HTTPS for an hour only, and for this host only; the operator raises the
# max-age once HTTPS works, and turns on subdomains and preload only when every subdomain
# serves HTTPS. Django's own deploy warnings about the two (W005, W021) give way to
# clinic.I001, which says where the staging stands without failing the deploy check.
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
SILENCED_SYSTEM_CHECKS += ["security.W005", "security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
PERMISSIONS_POLICY = {
    "accelerometer": [],
    "camera": [],
    "geolocation": [],
    "gyroscope": [],
    "magnetometer": [],
    "microphone": [],
    "payment": [],
    "usb": [],
    "interest-cohort": [],
}

# Logs carry paths and status codes only; nothing here logs request bodies or query strings.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
}
