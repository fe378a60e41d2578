"""Django settings, from the same environment as every other process (common.settings)."""

from pathlib import Path
from urllib.parse import unquote, urlsplit

from pydantic import SecretStr

from common.settings import DEV_ADMIN_PASSWORD, DEV_DJANGO_SECRET, PipelineAges, secret_problem


class AdminSettings(PipelineAges):
    django_secret_key: SecretStr = SecretStr(DEV_DJANGO_SECRET)
    django_debug: bool = False
    # Comma-separated host names the admin answers to; "*" (any) is refused in production.
    django_allowed_hosts: str = "*"
    # Behind TLS: session and CSRF cookies only over HTTPS; HSTS for that many seconds
    # (browsers ignore it over plain HTTP, so a default is harmless in dev); redirect HTTP to
    # HTTPS; trust X-Forwarded-Proto from the TLS proxy in front of the admin.
    django_secure_cookies: bool = False
    django_hsts_seconds: int = 31_536_000
    django_ssl_redirect: bool = False
    django_behind_tls_proxy: bool = False
    admin_username: str = "admin"
    admin_password: SecretStr = SecretStr(DEV_ADMIN_PASSWORD)

    def allowed_hosts(self) -> list[str]:
        return [host.strip() for host in self.django_allowed_hosts.split(",") if host.strip()]

    def production_problems(self) -> list[str]:
        problems = super().production_problems()
        weak_key = secret_problem("DJANGO_SECRET_KEY", self.django_secret_key.get_secret_value())
        if weak_key and weak_key not in problems:
            problems.append(weak_key)
        if self.django_debug:
            problems.append("DJANGO_DEBUG is on: tracebacks and settings would be shown")
        if "*" in self.allowed_hosts() or not self.allowed_hosts():
            problems.append("DJANGO_ALLOWED_HOSTS must list the admin's host names, not *")
        if not self.django_secure_cookies:
            problems.append("DJANGO_SECURE_COOKIES is off: cookies would travel over plain HTTP")
        return problems


ENV = AdminSettings()
BASE_DIR = Path(__file__).resolve().parent


def _database(url: str) -> dict[str, object]:
    parts = urlsplit(url)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": parts.path.lstrip("/"),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "127.0.0.1",
        "PORT": str(parts.port or 5432),
        "CONN_MAX_AGE": 60,
    }


SECRET_KEY = ENV.django_secret_key.get_secret_value()
DEBUG = ENV.django_debug
ALLOWED_HOSTS = ENV.allowed_hosts()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


DEV_ORIGINS = [] if ENV.is_production else ["http://127.0.0.1:8001", "http://localhost:8001"]
CSRF_TRUSTED_ORIGINS = sorted({_origin(ENV.admin_url), *DEV_ORIGINS})

INSTALLED_APPS = [
    "unfold",
    "unfold.contrib.filters",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "admin_project.billing",
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
]

ROOT_URLCONF = "admin_project.urls"
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
WSGI_APPLICATION = "admin_project.wsgi.application"
DATABASES = {"default": _database(ENV.database_url)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR.parent / ".run" / "static"
LOGIN_URL = "/admin/login/"
LOGIN_REDIRECT_URL = "/admin/"

# --- the operators' admin ------------------------------------------------------------
BILLING_SETTINGS = ENV
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
# --- TLS (production refuses insecure cookies; see AdminSettings) ------------------------
SESSION_COOKIE_SECURE = ENV.django_secure_cookies
CSRF_COOKIE_SECURE = ENV.django_secure_cookies
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_HSTS_SECONDS = ENV.django_hsts_seconds
SECURE_HSTS_INCLUDE_SUBDOMAINS = ENV.django_hsts_seconds > 0
SECURE_SSL_REDIRECT = ENV.django_ssl_redirect
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if ENV.django_behind_tls_proxy else None
)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
DATA_UPLOAD_MAX_NUMBER_FIELDS = 5000
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"()": "common.logs.handler", "fmt": ENV.log_format}},
    "root": {"handlers": ["stderr"], "level": ENV.log_level.upper()},
    "loggers": {"aiokafka": {"level": "WARNING"}},
}
UNFOLD = {
    "SITE_TITLE": "Billing admin",
    "SITE_HEADER": "Billing",
    "SITE_SUBHEADER": "Subscription payments",
    "SITE_URL": "/admin/",
    "SHOW_VIEW_ON_SITE": False,
    "DASHBOARD_CALLBACK": "admin_project.billing.dashboard.dashboard_callback",
    "ENVIRONMENT": "admin_project.billing.dashboard.environment_callback",
}
