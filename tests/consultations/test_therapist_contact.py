"""The patient's own therapist on the booking form (issue 22): optional, kept only with its
own consent box ticked (with the policy version and the time), refused with a clear
message when typed without it, seen in the admin only by the intake team and managers
(each view audited), deleted by the retention purge, and never in an email, a URL or a
log line.
"""

import logging
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import IntegrityError
from django.urls import reverse
from django.utils import timezone

from consultations.models import (
    THERAPIST_CONTACT_POLICY_VERSION,
    AuditAction,
    AuditEvent,
    ConsultationRequest,
    Status,
    TherapistContact,
)
from consultations.services import (
    TherapistDetails,
    consultation_request_create,
    consultation_request_set_status,
    consultation_requests_purge,
)
from tests.consultations.conftest import submit
from tests.factories import (
    AvailabilitySlotFactory,
    ConsultationRequestFactory,
    TherapistContactFactory,
    UserFactory,
    role_member,
)

pytestmark = pytest.mark.django_db

THERAPIST = {
    "therapist_name": "Dr. Robin Quill",
    "therapist_practice": "Harbor Counseling",
    "therapist_contact": "(212) 555-0177",
    "therapist_contact_consent": "on",
}
# What must never leave the request page: each detail as typed or as it may be formatted.
PRIVATE = ["Robin Quill", "Harbor Counseling", "555-0177", "5550177", "quill@therapy.example"]
SECTION = "Therapist (the patient agreed we may contact them)"
CHANGELIST = reverse("admin:consultations_consultationrequest_changelist")


def change_url(request) -> str:
    return reverse("admin:consultations_consultationrequest_change", args=[request.pk])


# --- the patient's side ----------------------------------------------------------------


def test_the_form_offers_the_details_beside_the_therapist_question_without_script(client):
    html = client.get("/book/").content.decode()
    question = html.index("Do you see a therapist or counselor now?")
    legend = html.index("<legend>Your therapist (optional)</legend>")
    assert question < legend < html.index('name="therapist_contact_consent"')
    for name in ("therapist_name", "therapist_practice", "therapist_contact"):
        assert re.search(rf'<label\s+for="id_{name}"', html)
        # Never autofilled with the patient's own name or address.
        assert f'name="{name}" autocomplete="off"' in html
    assert "You may contact my therapist to coordinate my care." in html


def test_with_the_box_ticked_the_details_are_stored_with_policy_version_and_time(client, slot):
    before = timezone.now()
    assert submit(client, slot, **THERAPIST).status_code == 302
    contact = TherapistContact.objects.get()
    assert contact.request == ConsultationRequest.objects.get()
    assert (contact.name, contact.practice) == ("Dr. Robin Quill", "Harbor Counseling")
    assert contact.phone == "+12125550177" and contact.email == ""
    assert contact.consent_policy_version == THERAPIST_CONTACT_POLICY_VERSION == "2026-12"
    assert before <= contact.consent_at <= timezone.now()


def test_an_email_address_is_kept_as_the_email(client, slot):
    fields = {**THERAPIST, "therapist_contact": "quill@therapy.example"}
    assert submit(client, slot, **fields).status_code == 302
    contact = TherapistContact.objects.get()
    assert (contact.phone, contact.email) == ("", "quill@therapy.example")


def test_without_the_box_and_without_details_nothing_is_stored(client, slot):
    assert submit(client, slot).status_code == 302
    assert ConsultationRequest.objects.count() == 1
    assert not TherapistContact.objects.exists()


def test_details_typed_without_the_box_are_refused_and_everything_typed_is_kept(client, slot):
    response = submit(client, slot, **{**THERAPIST, "therapist_contact_consent": None})
    html = response.content.decode()
    assert response.status_code == 200
    assert not ConsultationRequest.objects.exists() and not TherapistContact.objects.exists()
    assert (
        '<a href="#id_therapist_contact_consent">Tick the box to let us contact your '
        "therapist, or clear their details: we keep them only with your permission.</a>"
    ) in html
    assert 'value="Dr. Robin Quill"' in html and 'value="Harbor Counseling"' in html
    assert 'value="(212) 555-0177"' in html and 'value="Alex Example"' in html


@pytest.mark.parametrize(
    ("fields", "field_id", "message"),
    [
        (
            {"therapist_name": ""},
            "id_therapist_name",
            "Enter your therapist&#x27;s name, or untick the box that lets us contact them.",
        ),
        (
            {"therapist_contact": ""},
            "id_therapist_contact",
            "Enter your therapist&#x27;s phone number or email, or untick the box",
        ),
        (
            {"therapist_contact": "call the front desk"},
            "id_therapist_contact",
            "Enter your therapist&#x27;s phone number (all 10 digits, area code first) or",
        ),
        (
            {"therapist_contact": "quill@"},
            "id_therapist_contact",
            "Enter your therapist&#x27;s phone number (all 10 digits, area code first) or",
        ),
        (
            {"has_therapist": "no"},
            "id_therapist_contact_consent",
            "To let us contact your therapist, answer “Yes” to “Do you see a therapist",
        ),
    ],
)
def test_the_box_needs_a_name_a_way_to_reach_them_and_a_yes(
    client, slot, fields, field_id, message
):
    response = submit(client, slot, **{**THERAPIST, **fields})
    html = response.content.decode()
    assert response.status_code == 200 and not ConsultationRequest.objects.exists()
    assert f'<a href="#{field_id}">{message}' in html
    assert 'id="id_therapist_contact_consent" checked' in html
    assert 'value="Alex Example"' in html


def test_a_mistake_elsewhere_keeps_the_details_and_the_box(client, slot):
    response = submit(client, slot, email="not-an-email", **THERAPIST)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'value="Dr. Robin Quill"' in html and 'value="(212) 555-0177"' in html
    assert 'id="id_therapist_contact_consent" checked' in html
    tokens = {"form_token": response.context["form"]["form_token"].value()}
    assert submit(client, slot, tokens=tokens, **THERAPIST).status_code == 302
    assert TherapistContact.objects.get().name == "Dr. Robin Quill"


def test_earlier_and_later_times_keep_the_details(client, slot):
    AvailabilitySlotFactory(starts_at=slot.starts_at + timedelta(days=8))
    page = client.get("/book/")
    token = page.context["form"]["form_token"].value()
    later = page.context["form"].week_nav()["later"].isoformat()
    response = client.post("/book/", {"form_token": token, "week": later, **THERAPIST})
    html = response.content.decode()
    assert 'value="Dr. Robin Quill"' in html and 'value="Harbor Counseling"' in html
    assert 'id="id_therapist_contact_consent" checked' in html
    assert not ConsultationRequest.objects.exists()


def test_the_service_refuses_details_without_a_yes(slot):
    with pytest.raises(ValueError):
        consultation_request_create(
            slot=slot,
            full_name="Alex Example",
            email="alex@example.com",
            phone="+12025550143",
            preferred_contact="email",
            state="NY",
            has_therapist="prefer_not",
            therapist=TherapistDetails(name="Dr. Robin Quill", email="quill@therapy.example"),
        )
    assert not ConsultationRequest.objects.exists()


@pytest.mark.parametrize(
    "fields", [{"name": ""}, {"phone": "", "email": ""}], ids=["no name", "no way to reach"]
)
def test_the_database_refuses_a_contact_nobody_could_use(fields):
    with pytest.raises(IntegrityError):
        TherapistContactFactory(**fields)


# --- staff ---------------------------------------------------------------------------


@pytest.fixture
def contact():
    return TherapistContactFactory(
        name="Dr. Robin Quill", practice="Harbor Counseling", email="quill@therapy.example"
    )


@pytest.mark.parametrize("role", ["Intake coordinators", "Clinic managers"])
def test_intake_and_managers_see_the_details_and_each_view_is_audited(client, contact, role):
    client.force_login(role_member(role))
    html = client.get(change_url(contact.request)).content.decode()
    assert SECTION in html
    assert "Dr. Robin Quill" in html and "Harbor Counseling" in html
    assert '<a href="tel:+12125550177">(212) 555-0177</a>' in html
    assert "quill@therapy.example" in html and "(policy 2026-12)" in html
    event = AuditEvent.objects.get(action=AuditAction.VIEW)
    assert event.reference == contact.request.reference
    assert event.detail == "with the therapist's details"
    client.get(change_url(contact.request))
    assert AuditEvent.objects.filter(action=AuditAction.VIEW).count() == 2


@pytest.mark.parametrize("role", ["Content editors", "Medical reviewers", "Clinicians"])
def test_editors_reviewers_and_the_agenda_role_never_see_them(client, contact, role):
    client.force_login(role_member(role))
    for url in (change_url(contact.request), CHANGELIST):
        response = client.get(url)
        assert response.status_code == 403
        assert "Robin Quill" not in response.content.decode()
    assert not AuditEvent.objects.exists()


def test_request_viewers_without_the_permission_do_not_see_them(client, contact):
    viewer = UserFactory(username="viewer")
    viewer.user_permissions.add(Permission.objects.get(codename="view_consultationrequest"))
    client.force_login(viewer)
    html = client.get(change_url(contact.request)).content.decode()
    assert SECTION not in html and "Robin Quill" not in html
    assert AuditEvent.objects.get().detail == ""


def test_a_request_without_details_shows_no_section(client):
    request = ConsultationRequestFactory(has_therapist="yes")
    client.force_login(role_member("Intake coordinators"))
    assert SECTION not in client.get(change_url(request)).content.decode()
    assert AuditEvent.objects.get().detail == ""


def test_no_admin_page_lists_them_on_their_own(admin_client):
    assert admin_client.get("/admin/consultations/therapistcontact/").status_code == 404


def test_the_list_search_and_export_never_carry_them(client, contact):
    client.force_login(role_member("Intake coordinators"))
    listed = client.get(CHANGELIST).content.decode()
    assert contact.request.reference in listed and "Robin Quill" not in listed
    assert contact.request.reference not in client.get(CHANGELIST, {"q": "Quill"}).content.decode()
    export = client.post(
        CHANGELIST, {"action": "export_csv", "_selected_action": [contact.request.pk]}
    )
    assert contact.request.reference in export.content.decode()
    for private in PRIVATE:
        assert private not in export.content.decode()


def test_the_purge_deletes_them_with_the_request(contact):
    kept = TherapistContactFactory()
    ConsultationRequest.objects.filter(pk=contact.request.pk).update(
        status=Status.CANCELLED, status_changed_at=timezone.now() - timedelta(days=400)
    )
    assert consultation_requests_purge(older_than_days=365) == 1
    assert list(TherapistContact.objects.all()) == [kept]


# --- never in an email, a URL or a log line ---------------------------------------------


def test_no_detail_in_any_email_url_or_log_line(
    client, slot, caplog, mailoutbox, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.DEBUG)
    fields = {**THERAPIST, "therapist_contact": "quill@therapy.example"}
    with django_capture_on_commit_callbacks(execute=True):
        response = submit(client, slot, **fields)
    urls = [response["Location"], client.get(response["Location"]).wsgi_request.get_full_path()]
    request = ConsultationRequest.objects.get()
    coordinator = role_member("Intake coordinators")
    with django_capture_on_commit_callbacks(execute=True):
        consultation_request_set_status(
            consultation_request=request,
            status=Status.CONFIRMED,
            by=coordinator,
            email_patient=True,
        )
    client.force_login(coordinator)
    assert "Robin Quill" in client.get(change_url(request)).content.decode()
    assert len(mailoutbox) == 3  # the patient's receipt, the clinic's notice, the confirmation
    urls += [change_url(request), CHANGELIST]
    sent = "".join(
        m.subject + m.body + "".join(str(a[1]) for a in m.attachments) for m in mailoutbox
    )
    logged = caplog.text + "".join(record.getMessage() for record in caplog.records)
    for private in [*PRIVATE, "therapist"]:
        assert private not in sent, private
        assert private not in logged, private
        assert all(private not in url for url in urls), private
