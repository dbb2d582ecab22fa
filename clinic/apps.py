from django.apps import AppConfig

# Imported as a module: a class imported here would count as a second default config.
from django.contrib.admin import apps as admin_apps


class ClinicConfig(AppConfig):
    name = "clinic"

    def ready(self):
        from clinic import checks, log_redaction, page_cache  # noqa: F401  (checks registers)
        from clinic.models import ClinicDetails, Fee

        log_redaction.install()
        # Every page shows the clinic details; the Costs page lists the fees.
        page_cache.bump_on_change(ClinicDetails, Fee)


class ClinicAdminConfig(admin_apps.AdminConfig):
    """Django's admin, with `admin.site` an instance of the clinic's own site class.

    This is Django's documented way to replace the default site, so every app's
    `@admin.register` keeps working unchanged.
    """

    default = False
    default_site = "clinic.admin_site.ClinicAdminSite"


class TwoFactorConfig(AppConfig):
    """django-otp's TOTP plugin, under a name staff understand in the admin menu."""

    name = "django_otp.plugins.otp_totp"
    label = "otp_totp"
    verbose_name = "Two-factor sign-in"
    default = False
    default_auto_field = "django.db.models.AutoField"
