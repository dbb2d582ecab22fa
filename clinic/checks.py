"""System checks for the site-wide settings (run by `manage.py check`)."""

from django.conf import settings
from django.core.checks import Info, register

ONE_YEAR = 31536000


@register(deploy=True)
def hsts_staging(app_configs, **kwargs):
    """Where HSTS stands while it is staged (README, "HSTS"): informational, because a
    short first max-age is the safe default, not a mistake."""
    seconds = settings.SECURE_HSTS_SECONDS
    if (
        seconds >= ONE_YEAR
        and settings.SECURE_HSTS_INCLUDE_SUBDOMAINS
        and settings.SECURE_HSTS_PRELOAD
    ):
        return []
    return [
        Info(
            f"HSTS is staged: max-age {seconds} s, includeSubDomains "
            f"{'on' if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS else 'off'}, preload "
            f"{'on' if settings.SECURE_HSTS_PRELOAD else 'off'}.",
            hint="Once HTTPS has worked for a while, raise DJANGO_SECURE_HSTS_SECONDS (a week, "
            "then 31536000). Set DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS=1 only when every "
            "subdomain serves HTTPS, and DJANGO_SECURE_HSTS_PRELOAD=1 only to submit the "
            "domain to hstspreload.org (README, HSTS).",
            id="clinic.I001",
        )
    ]
