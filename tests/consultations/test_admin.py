"""The staff admin for requests, slots and the audit trail, with its permission boundaries."""

import csv
import io
import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from consultations.models import (
    AuditAction,
    AuditEvent,
    AvailabilitySlot,
    ConsultationRequest,
    StaffNote,
    Status,
)
from tests.factories import (
    AvailabilitySlotFactory,
    ClinicianFactory,
    ConsultationRequestFactory,
    UserFactory,
    role_member,
)

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:consultations_consultationrequest_changelist")
SLOTS = reverse("admin:consultations_availabilityslot_changelist")
AUDIT = reverse("admin:consultations_auditevent_changelist")


def _user(*codenames, **kwargs):
    user = UserFactory(**kwargs)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="consultations", codename__in=codenames)
    )
    return user


@pytest.fixture
def coordinator(client):
    user = _user(
        "view_consultationrequest",
        "change_consultationrequest",
        "export_consultationrequest",
        "view_availabilityslot",
        "add_availabilityslot",
        "change_availabilityslot",
        "delete_availabilityslot",
    )
    client.force_login(user)
    return user


@pytest.fixture
def superuser_client(client):
    client.force_login(UserFactory(is_superuser=True))
    return client


def _change_url(request):
    return reverse("admin:consultations_consultationrequest_change", args=[request.pk])


def _action(client, action, *requests):
    return client.post(CHANGELIST, {"action": action, "_selected_action": [r.pk for r in requests]})


# ----------------------------------------------------------------- request pages


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?status__exact=new",
        "?when=today",
        "?when=week",
        "?when=upcoming",
        "?when=past",
        "?when=none",
        "?modality=video",
        "?confirmation_email_status__exact=failed",
        "?q=CR-",
        "?q=Test+Patient",
        "?q=%2B1202",
    ],
)
def test_request_list_opens_with_filters_and_search(client, coordinator, query):
    request = ConsultationRequestFactory()
    ConsultationRequestFactory(slot=None)
    response = client.get(CHANGELIST + query)
    assert response.status_code == 200
    if query in ("", "?q=CR-", "?when=upcoming", "?status__exact=new"):
        assert request.reference in response.content.decode()


def test_consultations_today_on_the_index_matches_the_list_it_links_to(
    client, coordinator, time_machine
):
    # 10 pm in New York is already tomorrow in UTC: "today" is the clinic's day.
    eastern = ZoneInfo("America/New_York")
    time_machine.move_to(datetime(2026, 3, 4, 9, 0, tzinfo=eastern), tick=False)
    late_today = AvailabilitySlotFactory(starts_at=datetime(2026, 3, 4, 22, 0, tzinfo=eastern))
    going_ahead = ConsultationRequestFactory(slot=late_today, status=Status.CONFIRMED)
    for status, modality in ((Status.CANCELLED, "phone"), (Status.DECLINED, "in_person")):
        ConsultationRequestFactory(
            slot__starts_at=late_today.starts_at, slot__modality=modality, status=status
        )
    for other_day in (datetime(2026, 3, 3, 23, 30), datetime(2026, 3, 5, 0, 30)):
        ConsultationRequestFactory(slot__starts_at=other_day.replace(tzinfo=eastern))

    index = client.get(reverse("admin:index"))
    counts = {item["label"]: item for item in index.context["at_a_glance"]}
    assert counts["Consultations today"]["count"] == 1
    link = re.search(r'<a href="([^"]+)">Consultations today</a>', index.content.decode())[1]
    listed = client.get(link.replace("&amp;", "&"))
    assert listed.status_code == 200
    assert [r.reference for r in listed.context["cl"].result_list] == [going_ahead.reference]


def test_request_list_columns_and_date_filters(client, coordinator, time_machine):
    # A morning, so "five minutes from now" is today (it was not at 11:55 pm).
    eastern = timezone.get_current_timezone()
    time_machine.move_to(datetime(2026, 3, 4, 9, 0, tzinfo=eastern), tick=False)
    today = ConsultationRequestFactory(
        slot__starts_at=timezone.now() + timedelta(minutes=5), assigned_to=coordinator
    )
    past = ConsultationRequestFactory(slot__starts_at=timezone.now() - timedelta(days=40))
    html = client.get(CHANGELIST).content.decode()
    for column in ("Reference", "Requested time", "Status", "Assigned to", "Email"):
        assert f">{column}</" in html
    assert "Eastern time" in html and "Pending" in html
    assert today.reference in client.get(CHANGELIST + "?when=today").content.decode()
    assert past.reference not in client.get(CHANGELIST + "?when=today").content.decode()
    assert past.reference in client.get(CHANGELIST + "?when=past").content.decode()
    assigned = client.get(CHANGELIST + f"?assigned_to__id__exact={coordinator.pk}")
    assert today.reference in assigned.content.decode()
    assert past.reference not in assigned.content.decode()


def test_change_view_is_read_only_for_submitted_data_and_audited(client, coordinator):
    request = ConsultationRequestFactory()
    response = client.get(_change_url(request))
    html = response.content.decode()
    assert response.status_code == 200
    assert request.full_name in html and request.note in html
    assert 'name="full_name"' not in html and 'name="note"' not in html
    assert 'name="status"' in html and 'name="assigned_to"' in html
    assert client.get(reverse("admin:consultations_consultationrequest_add")).status_code == 403
    event = AuditEvent.objects.get()
    assert (event.action, event.request_id, event.reference) == (
        AuditAction.VIEW,
        request.pk,
        request.reference,
    )
    assert event.user == coordinator and event.source_ip == "127.0.0.1"


def _change_form_data(client, request, **changes):
    form = client.get(_change_url(request)).context["adminform"].form
    data = {
        "status": form.initial["status"],
        "assigned_to": form.initial["assigned_to"] or "",
        "staff_notes-TOTAL_FORMS": "1",
        "staff_notes-INITIAL_FORMS": "0",
        "staff_notes-MIN_NUM_FORMS": "0",
        "staff_notes-MAX_NUM_FORMS": "1000",
        "staff_notes-0-text": "",
        "full_name": "Silently Altered",
    }
    data.update(changes)
    return data


def test_staff_change_status_assign_and_add_note(client, coordinator):
    request = ConsultationRequestFactory()
    data = _change_form_data(
        client,
        request,
        status=Status.CONTACTED,
        assigned_to=coordinator.pk,
        **{"staff_notes-0-text": "Left a voicemail."},
    )
    response = client.post(_change_url(request), data)
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == Status.CONTACTED and request.assigned_to == coordinator
    assert request.full_name.startswith("Test Patient")  # submitted data cannot be altered
    change = request.status_changes.get()
    assert (change.from_status, change.to_status, change.changed_by) == (
        Status.NEW,
        Status.CONTACTED,
        coordinator,
    )
    note = request.staff_notes.get()
    assert note.text == "Left a voicemail." and note.author == coordinator and note.created_at
    details = set(
        AuditEvent.objects.filter(action=AuditAction.CHANGE).values_list("detail", flat=True)
    )
    assert details == {
        f"status: new → contacted; assigned to {coordinator.username}",
        "added a staff note",
    }
    # Notes are shown with their author but cannot be edited or removed.
    html = client.get(_change_url(request)).content.decode()
    assert "Left a voicemail." in html and "staff_notes-0-DELETE" not in html


def test_cancelling_in_change_view_frees_the_place(client, coordinator):
    request = ConsultationRequestFactory()
    client.post(_change_url(request), _change_form_data(client, request, status=Status.CANCELLED))
    request.slot.refresh_from_db()
    assert request.slot.held == 0


def test_reopening_when_time_is_gone_is_refused(client, coordinator):
    request = ConsultationRequestFactory(status=Status.CANCELLED, holds_place=False)
    AvailabilitySlot.objects.filter(pk=request.slot_id).update(held=1)  # someone else took it
    response = client.post(_change_url(request), _change_form_data(client, request, status="new"))
    assert response.status_code == 200
    assert "cannot be re-opened" in response.content.decode()
    request.refresh_from_db()
    assert request.status == Status.CANCELLED


def test_reopening_a_cancelled_request_takes_its_place_again(client, coordinator):
    request = ConsultationRequestFactory(status=Status.CANCELLED, holds_place=False, slot__held=0)
    client.post(_change_url(request), _change_form_data(client, request, status="confirmed"))
    request.refresh_from_db()
    request.slot.refresh_from_db()
    assert request.status == Status.CONFIRMED and request.holds_place and request.slot.held == 1


@pytest.mark.parametrize(
    ("action", "status", "held"),
    [
        ("mark_contacted", Status.CONTACTED, 1),
        ("mark_confirmed", Status.CONFIRMED, 1),
        ("mark_declined", Status.DECLINED, 0),
        ("mark_cancelled", Status.CANCELLED, 0),
    ],
)
def test_status_actions(client, coordinator, action, status, held):
    first, second = ConsultationRequestFactory(), ConsultationRequestFactory()
    response = _action(client, action, first, second)
    assert response.status_code == 302
    for request in (first, second):
        request.refresh_from_db()
        request.slot.refresh_from_db()
        assert request.status == status and request.slot.held == held
        assert request.status_changes.get().changed_by == coordinator
    assert AuditEvent.objects.filter(action=AuditAction.CHANGE).count() == 2
    # Running it again changes nothing and says so.
    response = _action(client, action, first)
    assert AuditEvent.objects.filter(action=AuditAction.CHANGE).count() == 2


def test_export_csv_minimal_columns_and_audited(client, coordinator):
    first = ConsultationRequestFactory(full_name="=HYPERLINK(1)")
    second = ConsultationRequestFactory(slot=None)
    response = _action(client, "export_csv", first, second)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == [
        "reference",
        "requested time (Eastern time)",
        "modality",
        "status",
        "name",
        "email",
        "phone",
        "preferred contact",
    ]
    by_reference = {row[0]: row for row in rows[1:]}
    assert set(by_reference) == {first.reference, second.reference}
    assert by_reference[first.reference][4] == "'=HYPERLINK(1)"
    assert by_reference[first.reference][6] == "+12025550143"
    assert by_reference[second.reference][1] == "to arrange"
    assert first.note not in response.content.decode()
    events = AuditEvent.objects.filter(action=AuditAction.EXPORT)
    assert {event.reference for event in events} == {first.reference, second.reference}
    assert all(event.count == 2 and event.user == coordinator for event in events)


def test_export_needs_export_permission(client):
    client.force_login(_user("view_consultationrequest", "change_consultationrequest"))
    request = ConsultationRequestFactory()
    html = client.get(CHANGELIST).content.decode()
    assert "export_csv" not in html and "mark_contacted" in html
    response = _action(client, "export_csv", request)
    assert response.status_code == 302  # not run: the action is not available to them
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()


def test_editor_gets_403_on_every_request_page_and_export(client):
    editor = UserFactory()  # staff, but without any consultation permission
    client.force_login(editor)
    request = ConsultationRequestFactory()
    urls = [
        CHANGELIST,
        _change_url(request),
        reverse("admin:consultations_consultationrequest_history", args=[request.pk]),
        reverse("admin:consultations_consultationrequest_delete", args=[request.pk]),
        AUDIT,
    ]
    for url in urls:
        assert client.get(url).status_code == 403, url
    assert _action(client, "export_csv", request).status_code == 403
    assert not AuditEvent.objects.exists()


def test_delete_is_audited(superuser_client):
    request = ConsultationRequestFactory(status=Status.CANCELLED, holds_place=False)
    url = reverse("admin:consultations_consultationrequest_delete", args=[request.pk])
    assert superuser_client.get(url).status_code == 200
    superuser_client.post(url, {"post": "yes"})
    assert not ConsultationRequest.objects.exists()
    event = AuditEvent.objects.get(action=AuditAction.DELETE)
    assert event.reference == request.reference
    other = ConsultationRequestFactory()
    superuser_client.post(
        CHANGELIST, {"action": "delete_selected", "_selected_action": [other.pk], "post": "yes"}
    )
    assert AuditEvent.objects.filter(action=AuditAction.DELETE).count() == 2


# ---------------------------------------------------------------------- slots


@pytest.mark.parametrize(
    "query", ["", "?state=upcoming", "?state=open", "?state=full", "?state=past", "?modality=phone"]
)
def test_slot_list_and_filters(client, coordinator, query):
    open_slot = AvailabilitySlotFactory()
    full_slot = AvailabilitySlotFactory(held=1)
    past_slot = AvailabilitySlotFactory(starts_at=timezone.now() - timedelta(days=2))
    response = client.get(SLOTS + query)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Generate a series of slots" in html
    expected = {
        "": {open_slot, full_slot, past_slot},
        "?state=upcoming": {open_slot, full_slot},
        "?state=open": {open_slot},
        "?state=full": {full_slot},
        "?state=past": {past_slot},
        "?modality=phone": set(),
    }[query]
    shown = {slot for slot in (open_slot, full_slot, past_slot) if f"/{slot.pk}/change/" in html}
    assert shown == expected
    if query == "":
        assert "0 / 1" in html and "1 / 1" in html


def test_slot_add_change_and_capacity_guard(client, coordinator):
    assert client.get(reverse("admin:consultations_availabilityslot_add")).status_code == 200
    request = ConsultationRequestFactory()
    url = reverse("admin:consultations_availabilityslot_change", args=[request.slot.pk])
    html = client.get(url).content.decode()
    assert 'name="starts_at_0"' not in html  # booked times cannot be moved under patients
    response = client.post(url, {"capacity": "0", "is_open": "on"})
    assert "capacity cannot be lower" in response.content.decode()
    response = client.post(url, {"capacity": "2"})
    assert response.status_code == 302
    request.slot.refresh_from_db()
    assert request.slot.capacity == 2 and not request.slot.is_open


def test_slot_with_requests_cannot_be_deleted_and_admin_says_why(client, coordinator):
    request = ConsultationRequestFactory()
    url = reverse("admin:consultations_availabilityslot_delete", args=[request.slot.pk])
    response = client.get(url, follow=True)
    html = response.content.decode()
    assert "cannot be deleted: 1 consultation request(s) are booked" in html
    assert request.full_name not in html
    client.post(url, {"post": "yes"})
    assert AvailabilitySlot.objects.filter(pk=request.slot.pk).exists()
    # The bulk action is refused by the database's PROTECT, with Django's explanation.
    html = client.post(
        SLOTS, {"action": "delete_selected", "_selected_action": [request.slot.pk]}
    ).content.decode()
    assert "protected related objects" in html or "Cannot delete" in html
    assert AvailabilitySlot.objects.filter(pk=request.slot.pk).exists()
    empty = AvailabilitySlotFactory()
    client.post(
        reverse("admin:consultations_availabilityslot_delete", args=[empty.pk]), {"post": "yes"}
    )
    assert not AvailabilitySlot.objects.filter(pk=empty.pk).exists()


def test_open_and_close_actions(client, coordinator):
    slot = AvailabilitySlotFactory()
    client.post(SLOTS, {"action": "close_slots", "_selected_action": [slot.pk]})
    slot.refresh_from_db()
    assert not slot.is_open
    client.post(SLOTS, {"action": "open_slots", "_selected_action": [slot.pk]})
    slot.refresh_from_db()
    assert slot.is_open


@pytest.fixture
def friday_evening(time_machine):
    """The clock at a Friday evening in the clinic's zone (before anyone signs in)."""
    time_machine.move_to(datetime(2026, 12, 4, 18, 0, tzinfo=timezone.get_current_timezone()))


def test_generate_series_skips_existing(friday_evening, client, coordinator):
    url = reverse("admin:consultations_availabilityslot_generate")
    assert client.get(url).status_code == 200
    start = date(2026, 12, 7)  # the Monday after
    clinician = ClinicianFactory(display_name="Dr. Series")
    data = {
        "clinician": str(clinician.pk),
        "start_date": start.isoformat(),
        "end_date": (start + timedelta(days=6)).isoformat(),
        "weekdays": ["0", "2"],
        "start_times": "09:00, 14:30",
        "duration_minutes": "45",
        "modality": "phone",
        "capacity": "2",
    }
    response = client.post(url, data)
    assert response.status_code == 302
    assert AvailabilitySlot.objects.count() == 4
    slot = AvailabilitySlot.objects.order_by("starts_at").first()
    local = timezone.localtime(slot.starts_at)
    assert (local.date(), local.hour, local.minute) == (start, 9, 0)
    assert (slot.duration_minutes, slot.capacity, slot.modality) == (45, 2, "phone")
    response = client.post(url, data, follow=True)
    assert "Created 0 slot(s) for Dr. Series, MD; skipped 4" in response.content.decode()
    assert AvailabilitySlot.objects.count() == 4


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"start_times": "9am"}, "is not a time like 09:30"),
        ({"start_times": " , "}, "Enter at least one start time"),
        ({"end_date": "2000-01-01"}, "before the start date"),
        ({"end_date": "2099-01-01"}, "at most one year"),
    ],
)
def test_generate_series_validation(friday_evening, client, coordinator, changes, message):
    data = {
        "start_date": "2026-12-05",
        "end_date": "2026-12-12",
        "weekdays": ["0"],
        "start_times": "09:00",
        "duration_minutes": "30",
        "modality": "video",
        "capacity": "1",
        **changes,
    }
    response = client.post(reverse("admin:consultations_availabilityslot_generate"), data)
    assert response.status_code == 200 and message in response.content.decode()


def test_generate_series_needs_add_permission(client):
    client.force_login(_user("view_availabilityslot"))
    url = reverse("admin:consultations_availabilityslot_generate")
    assert client.get(url).status_code == 403
    assert "Generate a series" not in client.get(SLOTS).content.decode()


# ---------------------------------------------------------------------- audit


def test_audit_trail_readable_with_view_permission_only(client):
    event = AuditEvent.objects.create(username="someone", action=AuditAction.EXPORT, count=3)
    client.force_login(_user("view_auditevent"))
    assert client.get(AUDIT).status_code == 200
    change = reverse("admin:consultations_auditevent_change", args=[event.pk])
    assert client.get(change).status_code == 200  # a read-only view
    assert client.post(change, {"username": "edited"}).status_code == 403
    event.refresh_from_db()
    assert event.username == "someone"


def test_nobody_can_add_change_or_delete_audit_events(superuser_client):
    event = AuditEvent.objects.create(username="someone", action=AuditAction.VIEW)
    assert superuser_client.get(reverse("admin:consultations_auditevent_add")).status_code == 403
    delete = reverse("admin:consultations_auditevent_delete", args=[event.pk])
    assert superuser_client.get(delete).status_code == 403
    assert superuser_client.post(delete, {"post": "yes"}).status_code == 403
    html = superuser_client.get(AUDIT).content.decode()
    assert "delete_selected" not in html
    assert AuditEvent.objects.count() == 1


def test_audit_rows_cannot_be_changed_in_code():
    event = AuditEvent.objects.create(username="someone", action=AuditAction.VIEW)
    event.detail = "rewritten"
    with pytest.raises(ValueError):
        event.save()
    with pytest.raises(ValueError):
        event.delete()


# ----------------------------------------------------------------- who handles requests


def test_assigned_to_offers_only_staff_whose_role_handles_requests(client):
    manager = role_member("Clinic managers")
    coordinator = role_member("Intake coordinators")
    editor = role_member("Content editors")
    reviewer = role_member("Medical reviewers")
    gone = role_member("Intake coordinators")
    gone.is_active = False
    gone.save()
    request = ConsultationRequestFactory(assigned_to=reviewer)  # assigned before a move
    client.force_login(manager)
    html = client.get(_change_url(request)).content.decode()
    select = re.search(r'<select name="assigned_to".*?</select>', html, re.S).group(0)
    offered = set(re.findall(r'<option value="(\d+)"', select))
    # Reviewer stays offered only because the request is already theirs.
    assert offered == {str(manager.pk), str(coordinator.pk), str(reviewer.pk)}
    assert str(editor.pk) not in offered and str(gone.pk) not in offered

    other = ConsultationRequestFactory()
    html = client.get(_change_url(other)).content.decode()
    select = re.search(r'<select name="assigned_to".*?</select>', html, re.S).group(0)
    assert set(re.findall(r'<option value="(\d+)"', select)) == {
        str(manager.pk),
        str(coordinator.pk),
    }


def test_a_staff_notes_author_is_a_name_not_a_link_to_a_page_staff_cannot_open(client):
    coordinator = role_member("Intake coordinators")
    request = ConsultationRequestFactory()
    StaffNote.objects.create(request=request, text="Called back.", author=coordinator)
    client.force_login(coordinator)
    html = client.get(_change_url(request)).content.decode()
    assert coordinator.get_username() in html
    user_page = reverse("admin:auth_user_change", args=[coordinator.pk])
    assert user_page not in html
    assert client.get(user_page).status_code == 403  # why a link there would be wrong
