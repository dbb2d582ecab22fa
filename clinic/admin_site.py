"""The clinic's admin site: Django's, plus the two-factor switch.

`CLINIC_REQUIRE_2FA` is read on every request rather than at start-up, so the switch is
one environment variable and tests can flip it with `override_settings`. When it is on,
the site behaves as django-otp's `OTPAdminSite`: the sign-in form asks for a code from the
staff member's authenticator app, and a session that has not been verified by a device is
not let in (a staff member without a confirmed device cannot sign in at all).
"""

from django.conf import settings
from django.contrib import admin
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite


class ClinicAdminSite(admin.AdminSite):
    site_header = "Clinic admin"
    site_title = "Clinic admin"

    @property
    def login_form(self):
        return OTPAdminAuthenticationForm if settings.CLINIC_REQUIRE_2FA else None

    @property
    def login_template(self):
        return OTPAdminSite.login_template if settings.CLINIC_REQUIRE_2FA else None

    def has_permission(self, request):
        allowed = super().has_permission(request)
        if settings.CLINIC_REQUIRE_2FA:
            return allowed and request.user.is_verified()
        return allowed
