"""The clinic's admin site: Django's, plus the two-factor switch and "at a glance".

`CLINIC_REQUIRE_2FA` is read on every request rather than at start-up, so the switch is
one environment variable and tests can flip it with `override_settings`. When it is on,
the site behaves as django-otp's `OTPAdminSite`: the sign-in form asks for a code from the
staff member's authenticator app, and a session that has not been verified by a device is
not let in (a staff member without a confirmed device cannot sign in at all).
"""

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db.models import Count, Sum
from django.urls import reverse
from django.utils import timezone
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite

from clinic.security import client_ip
from consultations.agenda import agenda_url, own_clinician
from consultations.models import Clinician, ConsultationRequest, Status
from education.models import Article

# Query strings of the colleagues' changelist filters that list the rows of these counts.
TODAY_FILTER = "when=today"
OVERDUE_FILTER = "review_due=overdue"


SPRAY_MESSAGE = (
    "Too many sign-ins failed from your network, so sign-in is paused here for 30 minutes. "
    "If you need in sooner, call the clinic."
)


def address_failures(request) -> int:
    """Failed sign-ins from this request's address within the cool-off, any username."""
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    attempts = AccessAttempt.objects.filter(ip_address=client_ip(request), attempt_time__gte=since)
    return attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0


class SignInChecksMixin:
    """The admin's sign-in form, with two checks before any password is looked at.

    - The username's length: Django's form limits it only in the browser, and a longer one
      reached the lockout's 255-character column and failed the page.
    - The address's failures across all usernames (password spraying), counted from the
      lockout's own records, so every worker sees the same number.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["username"]
        field.validators.append(MaxLengthValidator(field.max_length or 150))

    def clean(self):
        limit = settings.CLINIC_SIGN_IN_ADDRESS_FAILURE_LIMIT
        if self.request is not None and address_failures(self.request) >= limit:
            raise ValidationError(SPRAY_MESSAGE, code="address_paused")
        return super().clean()


class SignInForm(SignInChecksMixin, AdminAuthenticationForm):
    pass


class TwoFactorSignInForm(SignInChecksMixin, OTPAdminAuthenticationForm):
    pass


class ClinicAdminSite(admin.AdminSite):
    site_header = "Clinic admin"
    site_title = "Clinic admin"

    @property
    def login_form(self):
        return TwoFactorSignInForm if settings.CLINIC_REQUIRE_2FA else SignInForm

    @property
    def login_template(self):
        return OTPAdminSite.login_template if settings.CLINIC_REQUIRE_2FA else None

    def has_permission(self, request):
        allowed = super().has_permission(request)
        if settings.CLINIC_REQUIRE_2FA:
            return allowed and request.user.is_verified()
        return allowed

    def index(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "at_a_glance": self.at_a_glance(request)}
        return super().index(request, extra_context)

    def at_a_glance(self, request) -> list[dict]:
        """Three counts for the index page, each only for staff allowed to see its rows;
        today's consultations also per clinician, each linking to their agenda."""
        items = []
        if request.user.has_perm("consultations.view_consultationrequest"):
            requests_url = reverse("admin:consultations_consultationrequest_changelist")
            items.append(
                {
                    "label": "New requests",
                    "count": ConsultationRequest.objects.filter(status=Status.NEW).count(),
                    "url": f"{requests_url}?status__exact={Status.NEW}",
                }
            )
            # One grouped count gives the total and each clinician's share.
            per_clinician = dict(
                ConsultationRequest.objects.today()
                .order_by()
                .values_list("slot__clinician")
                .annotate(n=Count("pk"))
            )
            names = Clinician.objects.in_bulk(per_clinician)
            items.append(
                {
                    "label": "Consultations today",
                    "count": sum(per_clinician.values()),
                    "url": f"{requests_url}?{TODAY_FILTER}",
                    "breakdown": [
                        (str(names[pk]), n, agenda_url(clinician=pk))
                        for pk, n in sorted(per_clinician.items(), key=lambda i: str(names[i[0]]))
                    ],
                }
            )
        elif (mine := own_clinician(request.user)) is not None:
            items.append(
                {
                    "label": "Your consultations today",
                    "count": ConsultationRequest.objects.today()
                    .filter(slot__clinician=mine)
                    .count(),
                    "url": agenda_url(clinician=mine.pk),
                }
            )
        if request.user.has_perm("education.view_article"):
            articles_url = reverse("admin:education_article_changelist")
            items.append(
                {
                    "label": "Articles overdue for review",
                    "count": Article.objects.overdue_for_review().count(),
                    "url": f"{articles_url}?{OVERDUE_FILTER}",
                }
            )
        items += self.hand_off(request)
        return items

    def hand_off(self, request) -> list[dict]:
        """This person's part in the review hand-off: what waits for them, by name."""
        items = []
        workflow = "admin:education_article_workflow"
        if request.user.has_perm("education.review_article"):
            waiting = list(Article.objects.waiting_for_review().order_by("title"))
            items.append(
                {
                    "label": "Waiting for your review",
                    "count": len(waiting),
                    "articles": [(a.title, reverse(workflow, args=[a.pk])) for a in waiting],
                }
            )
        if request.user.has_perm("education.change_article"):
            sent_back = list(Article.objects.changes_requested_of(request.user).order_by("title"))
            items.append(
                {
                    "label": "Changes requested",
                    "count": len(sent_back),
                    "articles": [(a.title, reverse(workflow, args=[a.pk])) for a in sent_back],
                }
            )
        return items
