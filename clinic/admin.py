"""Admin for the site-wide pieces: clinic details, each staff member's own
authenticator-app (TOTP) devices for two-factor sign-in, and the accessible
date-and-time input the other apps' admin forms use."""

import base64
from base64 import b32encode

import qrcode
import qrcode.image.svg
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminSplitDateTime
from django.db import models
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.models import ClinicDetails, Fee


class LabelledSplitDateTime(AdminSplitDateTime):
    """The admin's date and time boxes, named "Date" and "Time" for screen readers.

    Django shows those words as bare text beside the boxes, not as their labels; the
    field's own name is the legend of the group they sit in.
    """

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.widgets[0].attrs["aria-label"] = "Date"
        self.widgets[1].attrs["aria-label"] = "Time"


# For `formfield_overrides` on every ModelAdmin with an editable date-and-time field.
DATETIME_OVERRIDES = {
    models.DateTimeField: {"form_class": forms.SplitDateTimeField, "widget": LabelledSplitDateTime}
}


@admin.register(ClinicDetails)
class ClinicDetailsAdmin(admin.ModelAdmin):
    list_display = ["name", "phone", "email"]

    def has_add_permission(self, request):
        return not ClinicDetails.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Fee)
class FeeAdmin(admin.ModelAdmin):
    list_display = ["name", "price", "insurance_usually_covers", "order"]
    list_editable = ["order"]


class TOTPDeviceForm(forms.ModelForm):
    token = forms.CharField(
        required=False,
        label="Code from your app",
        max_length=8,
        help_text="After scanning the QR code, type the 6-digit code your app shows.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    class Meta:
        model = TOTPDevice
        fields = ["name"]

    def clean_token(self):
        token = self.cleaned_data["token"].strip()
        if token and not self.instance.verify_token(token):
            raise forms.ValidationError(
                "That code did not match. Check that your phone's clock is right and type "
                "the newest code."
            )
        return token


# Replaces django-otp's TOTPDevice admin, which shows every user's secret to anyone with
# the model permissions. Here any staff member manages only their own devices (a superuser
# sees all, to set one up for a colleague), a device starts unconfirmed and counts for
# sign-in only once a code from the app proves it was scanned, and the QR code is drawn on
# the server into a data: URL (the CSP allows data: images) and shown only until then.
if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)


@admin.register(TOTPDevice)
class StaffTOTPDeviceAdmin(admin.ModelAdmin):
    form = TOTPDeviceForm
    list_display = ["name", "user", "confirmed", "created_at", "last_used_at"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request).select_related("user")
        if request.user.is_superuser:
            return queryset
        return queryset.filter(user=request.user)

    def _owns(self, request, obj):
        return obj is None or request.user.is_superuser or obj.user_id == request.user.pk

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request) and self._owns(request, obj)

    def has_add_permission(self, request):
        return self.has_module_permission(request)

    def has_change_permission(self, request, obj=None):
        return self.has_view_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self.has_view_permission(request, obj)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["user", "name"] if request.user.is_superuser else ["name"]
        if obj.confirmed:
            return ["user", "name", "confirmed", "created_at", "last_used_at"]
        return ["user", "name", "setup_code", "token"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["user", "confirmed", "created_at", "last_used_at", "setup_code"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if "user" in form.base_fields:
            form.base_fields["user"].queryset = form.base_fields["user"].queryset.filter(
                is_staff=True, is_active=True
            )
        return form

    @admin.display(description="Set up your app")
    def setup_code(self, device):
        image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage)
        data_url = "data:image/svg+xml;base64," + base64.b64encode(image.to_string()).decode()
        secret = b32encode(device.bin_key).decode()
        grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
        return format_html(
            '<img src="{}" width="200" height="200" alt="QR code for your authenticator app">'
            "<p>Scan this with an authenticator app, or type this key: <code>{}</code></p>",
            data_url,
            grouped,
        )

    def save_model(self, request, obj, form, change):
        if not change:
            if not (request.user.is_superuser and obj.user_id):
                obj.user = request.user
            obj.confirmed = False
        elif form.cleaned_data.get("token"):
            obj.confirmed = True
        super().save_model(request, obj, form, change)

    def response_add(self, request, obj, post_url_continue=None):
        messages.info(request, "Now scan the QR code and type the code your app shows.")
        return HttpResponseRedirect(reverse("admin:otp_totp_totpdevice_change", args=[obj.pk]))
