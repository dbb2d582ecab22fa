"""The waitlist (issue 18): joining keeps only the contact chosen, with consent; an
opening (a cancel, a decline, new or re-opened slots) emails the patients who fit, oldest
first, a few at a time, with a link to book that expires and a link to leave; nobody is
booked; entries are purged; no patient data in a URL or a log line.
"""

import logging
import re
import threading
from datetime import date, time, timedelta

import pytest
from django.core import signing
from django.core.management import call_command
from django.db import connections
from django.urls import reverse
from django.utils import timezone

from consultations.models import (
    WAITLIST_POLICY_VERSION,
    AvailabilitySlot,
    ConsultationRequest,
    Status,
    WaitlistEntry,
    clinic_week_start,
)
from consultations.services import (
    availability_slot_save,
    availability_slot_series_create,
    consultation_request_cancel_by_patient,
    consultation_request_set_status,
)
from consultations.waitlist import OFFER_SALT, waitlist_notify
from tests.consultations.conftest import submit
from tests.factories import (
    AvailabilitySlotFactory,
    ClinicianFactory,
    ConsultationRequestFactory,
    UserFactory,
    WaitlistEntryFactory,
)

pytestmark = pytest.mark.django_db

JOIN = reverse("consultations:waitlist_join")
LINK = re.compile(r"https?://[^/\s]+(/book/(?:offer|leave-waitlist)/[^\s]+/)")


def join(client, **overrides):
    data = {"email": "wait@example.com", "state": "NY", "consent": "on", **overrides}
    return client.post(JOIN, {k: v for k, v in data.items() if v is not None})


def links(message) -> dict[str, str]:
    """{'offer': path, 'leave': path} of one waitlist email."""
    found = LINK.findall(message.body)
    return {("offer" if "/offer/" in path else "leave"): path for path in found}


def waiting(n: int, **fields) -> list[WaitlistEntry]:
    """n entries, the first the oldest (joined n days ago, then one day apart)."""
    now = timezone.now()
    return [
        WaitlistEntryFactory(created_at=now - timedelta(days=n - i), **fields) for i in range(n)
    ]


def free_a_place(slot_factory_kwargs=None, *, capture):
    """A booked request cancelled by staff: its slot has a place again."""
    request = ConsultationRequestFactory(slot__held=1, **(slot_factory_kwargs or {}))
    with capture(execute=True):
        consultation_request_set_status(
            consultation_request=request,
            status=Status.CANCELLED,
            by=UserFactory(),
            email_patient=False,
        )
    return request.slot


def offers(mailoutbox) -> list:
    return [m for m in mailoutbox if "has opened" in m.subject]


# --- joining -----------------------------------------------------------------------------


def test_the_booking_page_offers_the_waitlist_for_the_chosen_state(client):
    html = client.get("/book/?state=NJ").content.decode()
    assert f'<a href="{JOIN}?state=NJ">Ask us to email you when a time opens</a>' in html
    page = client.get(JOIN + "?state=NJ")
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    assert '<option value="NJ" selected>' in page.content.decode()


def test_joining_keeps_only_the_chosen_contact_and_wishes_with_consent(client):
    clinician = ClinicianFactory(display_name="Dr. Ana Ruiz")
    week = clinic_week_start(timezone.now() + timedelta(days=14))
    before = timezone.now()
    response = join(client, modality="phone", clinician=str(clinician.pk), week=week.isoformat())
    assert response.status_code == 302 and response["Location"] == "/book/waitlist/added/"
    entry = WaitlistEntry.objects.get()
    assert (entry.email, entry.state, entry.modality) == ("wait@example.com", "NY", "phone")
    assert (entry.clinician, entry.week) == (clinician, week)
    assert entry.consent_policy_version == WAITLIST_POLICY_VERSION == "2026-12"
    assert before <= entry.consent_at <= timezone.now()
    assert not ConsultationRequest.objects.exists()
    assert "You are on the waitlist" in client.get(response["Location"]).content.decode()


def test_without_consent_nothing_is_kept_and_the_form_keeps_what_was_typed(client):
    response = join(client, consent=None, modality="video")
    html = response.content.decode()
    assert response.status_code == 200 and not WaitlistEntry.objects.exists()
    assert '<a href="#id_consent">Tick the box to let us email you when a time opens.</a>' in html
    assert 'value="wait@example.com"' in html
    assert re.search(r'value="video"[^>]*checked', html)


def test_joining_twice_for_the_same_wishes_keeps_the_first_place_in_line(client):
    assert join(client).status_code == 302
    first = WaitlistEntry.objects.get()
    assert join(client, email="WAIT@example.com").status_code == 302
    assert list(WaitlistEntry.objects.all()) == [first]


# --- an opening emails who fits, oldest first, a few at a time -----------------------------


def test_a_cancel_emails_the_oldest_who_fit_a_few_at_a_time(
    settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.CLINIC_WAITLIST_BATCH = 2
    entries = waiting(3)
    slot = free_a_place(capture=django_capture_on_commit_callbacks)
    told = offers(mailoutbox)
    assert [m.to for m in told] == [[entries[0].email], [entries[1].email]]
    assert not ConsultationRequest.objects.filter(email__startswith="waiting").exists()
    slot.refresh_from_db()
    assert slot.held == 0  # nobody is booked: the place stays open to whoever books first
    # The next opening goes to the next in line: the first two hold a link that still works.
    mailoutbox.clear()
    free_a_place(capture=django_capture_on_commit_callbacks)
    assert [m.to for m in offers(mailoutbox)] == [[entries[2].email]]


def test_once_their_link_has_expired_the_oldest_are_first_again(
    settings, mailoutbox, django_capture_on_commit_callbacks, time_machine
):
    settings.CLINIC_WAITLIST_BATCH = 1
    entries = waiting(2)
    free_a_place(capture=django_capture_on_commit_callbacks)
    time_machine.move_to(timezone.now() + timedelta(hours=settings.CLINIC_WAITLIST_LINK_HOURS + 1))
    mailoutbox.clear()
    free_a_place(capture=django_capture_on_commit_callbacks)
    assert [m.to for m in offers(mailoutbox)] == [[entries[0].email]]
    assert WaitlistEntry.objects.get(pk=entries[0].pk).times_notified == 2


def test_only_patients_the_time_fits_are_told(
    settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.CLINIC_WAITLIST_BATCH = 10
    slot_clinician = ClinicianFactory(states=["NY"])
    other = ClinicianFactory()
    slot_start = timezone.now() + timedelta(days=10)
    week = clinic_week_start(slot_start)
    fits = [
        WaitlistEntryFactory(),
        WaitlistEntryFactory(modality="video"),
        WaitlistEntryFactory(clinician=slot_clinician),
        WaitlistEntryFactory(week=week),
    ]
    WaitlistEntryFactory(modality="phone")
    WaitlistEntryFactory(clinician=other)
    WaitlistEntryFactory(week=week + timedelta(weeks=1))
    WaitlistEntryFactory(state="TX")  # a video call with a clinician not licensed there
    with django_capture_on_commit_callbacks(execute=True):
        availability_slot_save(
            slot=AvailabilitySlot(clinician=slot_clinician, starts_at=slot_start, modality="video")
        )
    assert sorted(m.to[0] for m in offers(mailoutbox)) == sorted(e.email for e in fits)


def test_an_in_person_time_fits_patients_from_any_state(
    mailoutbox, django_capture_on_commit_callbacks
):
    texan = WaitlistEntryFactory(state="TX")
    free_a_place({"slot__modality": "in_person"}, capture=django_capture_on_commit_callbacks)
    assert [m.to for m in offers(mailoutbox)] == [[texan.email]]


@pytest.mark.parametrize("how", ["series", "re-opened", "declined", "patient cancel"])
def test_each_kind_of_opening_tells_the_waitlist(
    how, mailoutbox, django_capture_on_commit_callbacks
):
    entry = WaitlistEntryFactory()
    with django_capture_on_commit_callbacks(execute=True):
        if how == "series":
            day = (timezone.now() + timedelta(days=5)).date()
            availability_slot_series_create(
                clinician=ClinicianFactory(),
                start_date=day,
                end_date=day,
                weekdays=range(7),
                start_times=[time(10, 0)],
                duration_minutes=30,
                modality="video",
            )
        elif how == "re-opened":
            slot = AvailabilitySlotFactory(is_open=False)
            slot.is_open = True
            availability_slot_save(slot=slot)
        elif how == "declined":
            request = ConsultationRequestFactory()
            consultation_request_set_status(
                consultation_request=request, status=Status.DECLINED, by=UserFactory()
            )
        else:
            request = ConsultationRequestFactory()
            consultation_request_cancel_by_patient(consultation_request=request)
    assert [m.to for m in offers(mailoutbox)] == [[entry.email]]


def test_editing_an_open_slot_or_a_full_one_tells_nobody(
    mailoutbox, django_capture_on_commit_callbacks
):
    WaitlistEntryFactory()
    slot = AvailabilitySlotFactory()
    with django_capture_on_commit_callbacks(execute=True):
        slot.duration_minutes = 45
        availability_slot_save(slot=slot)
    assert offers(mailoutbox) == []
    assert waitlist_notify(slot_ids=[AvailabilitySlotFactory(held=1).pk]) == 0


def test_two_runs_for_one_opening_never_email_a_patient_twice(settings, mailoutbox):
    settings.CLINIC_WAITLIST_BATCH = 1
    entries = waiting(2)
    slot = AvailabilitySlotFactory()
    assert waitlist_notify(slot_ids=[slot.pk]) == 1
    assert waitlist_notify(slot_ids=[slot.pk]) == 1
    assert [m.to for m in offers(mailoutbox)] == [[entries[0].email], [entries[1].email]]
    assert waitlist_notify(slot_ids=[slot.pk]) == 0


def test_the_email_is_neutral_and_carries_no_patient_data(mailoutbox):
    clinician = ClinicianFactory()
    entry = WaitlistEntryFactory(email="quiet.patient@example.com", clinician=clinician)
    slot = AvailabilitySlotFactory(clinician=clinician)
    waitlist_notify(slot_ids=[slot.pk])
    (message,) = offers(mailoutbox)
    text = message.subject + message.body
    assert "ketamine" not in text.lower() and "quiet.patient" not in text
    assert message.subject == "A consultation time has opened at Riverside Health Clinic"
    assert "video call" in message.body and "We have not booked anything for you" in message.body
    paths = links(message)
    assert set(paths) == {"offer", "leave"}
    for path in paths.values():
        assert "?" not in path and "@" not in path and "quiet" not in path
    # The offer link carries only the entry's random key, signed.
    token = paths["offer"].split("/")[3]
    assert signing.TimestampSigner(salt=OFFER_SALT).unsign(token) == entry.key


# --- the links ---------------------------------------------------------------------------


def _told(mailoutbox, slot=None, **entry_fields):
    entry = WaitlistEntryFactory(**entry_fields)
    slot = slot or AvailabilitySlotFactory()
    waitlist_notify(slot_ids=[slot.pk])
    (message,) = offers(mailoutbox)
    return entry, slot, links(message)


def test_the_offer_link_opens_the_booking_form_for_their_state_and_week(client, mailoutbox):
    later = AvailabilitySlotFactory(starts_at=timezone.now() + timedelta(days=20))
    entry, _slot, paths = _told(mailoutbox, later, week=clinic_week_start(later.starts_at))
    response = client.get(paths["offer"])
    html = response.content.decode()
    assert response.status_code == 200
    assert (
        response["Referrer-Policy"] == "strict-origin" and "no-store" in response["Cache-Control"]
    )
    assert response.context["form"].patient_state == "NY"
    assert response.context["form"].shown_week() == entry.week
    assert f'value="{later.pk}"' in html and 'action="/book/"' in html
    assert not ConsultationRequest.objects.exists()


def test_the_offer_link_expires(client, mailoutbox, settings, time_machine):
    entry, _slot, paths = _told(mailoutbox)
    time_machine.move_to(
        timezone.now() + timedelta(hours=settings.CLINIC_WAITLIST_LINK_HOURS, minutes=1)
    )
    response = client.get(paths["offer"])
    html = response.content.decode()
    assert response.status_code == 410 and "This link has expired" in html
    assert "You are still on the waitlist" in html
    # Leaving still works from the expired page.
    leave = re.search(r'<a href="(/book/leave-waitlist/[^"]+/)">Leave the waitlist</a>', html)[1]
    assert client.post(leave).status_code == 200
    assert not WaitlistEntry.objects.filter(pk=entry.pk).exists()


def test_a_tampered_offer_link_is_refused(client, mailoutbox):
    _entry, _slot, paths = _told(mailoutbox)
    assert client.get(paths["offer"][:-3] + "x/").status_code == 404


def test_leaving_asks_first_then_deletes_the_entry(client, mailoutbox):
    entry, _slot, paths = _told(mailoutbox)
    page = client.get(paths["leave"])
    assert page.status_code == 200 and "Yes, leave the waitlist" in page.content.decode()
    assert WaitlistEntry.objects.filter(pk=entry.pk).exists()  # opening it changes nothing
    left = client.post(paths["leave"])
    assert left.status_code == 200 and "You have left the waitlist" in left.content.decode()
    assert not WaitlistEntry.objects.exists()
    assert client.post(paths["leave"]).status_code == 200  # sent twice: still left
    assert client.get(paths["leave"]).status_code == 404
    assert client.get(paths["offer"]).status_code == 404


def test_any_earlier_email_can_take_the_patient_off(client, mailoutbox, settings, time_machine):
    settings.CLINIC_WAITLIST_LINK_HOURS = 1
    entry = WaitlistEntryFactory()
    waitlist_notify(slot_ids=[AvailabilitySlotFactory().pk])
    time_machine.move_to(timezone.now() + timedelta(hours=2))
    waitlist_notify(slot_ids=[AvailabilitySlotFactory().pk])
    first, second = offers(mailoutbox)
    assert links(first)["leave"] == links(second)["leave"]
    time_machine.move_to(timezone.now() + timedelta(days=30))
    assert client.post(links(first)["leave"]).status_code == 200
    assert not WaitlistEntry.objects.filter(pk=entry.pk).exists()


def test_the_links_are_redacted_from_logs(client, mailoutbox, caplog):
    _entry, _slot, paths = _told(mailoutbox)
    with caplog.at_level(logging.INFO):
        assert client.put(paths["offer"]).status_code == 405
        assert client.put(paths["leave"]).status_code == 405
    logged = caplog.text + "".join(record.getMessage() for record in caplog.records)
    assert "/book/offer/[redacted]/" in logged and "/book/leave-waitlist/[redacted]/" in logged
    for path in paths.values():
        assert path.split("/")[3] not in logged


# --- the purge ---------------------------------------------------------------------------


def test_the_purge_deletes_entries_after_the_setting(settings, capsys):
    settings.CLINIC_WAITLIST_RETENTION_DAYS = 90
    now = timezone.now()
    old = WaitlistEntryFactory(created_at=now - timedelta(days=91))
    kept = WaitlistEntryFactory(created_at=now - timedelta(days=89))
    call_command("purge_consultation_requests", "--dry-run")
    assert "Would delete 1 waitlist entry made more than 90 days ago." in capsys.readouterr().out
    assert WaitlistEntry.objects.filter(pk=old.pk).exists()
    call_command("purge_consultation_requests")
    assert "Deleted 1 waitlist entry" in capsys.readouterr().out
    assert list(WaitlistEntry.objects.all()) == [kept]
    call_command("purge_consultation_requests", "--waitlist-days", "30")
    assert not WaitlistEntry.objects.exists()


def test_a_week_in_the_past_is_never_offered(client):
    html = client.get(JOIN).content.decode()
    monday = clinic_week_start(timezone.now())
    assert f'<option value="{monday.isoformat()}">' in html
    assert f'<option value="{(monday - timedelta(weeks=1)).isoformat()}">' not in html
    assert isinstance(monday, date)


@pytest.mark.django_db(transaction=True)
def test_workers_running_at_once_never_email_a_patient_twice(settings, mailoutbox):
    """Four workers told of the same opening at the same moment: each waiting patient is
    claimed by one of them (a conditional update), so nobody gets two emails."""
    settings.CLINIC_WAITLIST_BATCH = 2
    entries = waiting(6)
    slot = AvailabilitySlotFactory()
    workers = 4
    barrier = threading.Barrier(workers)
    sent, errors = [], []

    def worker():
        try:
            barrier.wait()
            sent.append(waitlist_notify(slot_ids=[slot.pk]))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(repr(error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    told = [m.to[0] for m in offers(mailoutbox)]
    assert len(told) == len(set(told)) == sum(sent) == len(entries)
    notified = WaitlistEntry.objects.values_list("times_notified", flat=True)
    assert set(notified) == {1}


def test_booking_from_the_offer_link_ends_the_entry(client, mailoutbox):
    entry, slot, paths = _told(mailoutbox)
    other = WaitlistEntryFactory()
    page = client.get(paths["offer"])
    tokens = {"form_token": page.context["form"]["form_token"].value()}
    assert submit(client, slot, tokens=tokens).status_code == 302
    assert ConsultationRequest.objects.count() == 1
    assert list(WaitlistEntry.objects.all()) == [other]


def test_booking_without_the_offer_link_leaves_the_waitlist_alone(client, slot):
    entry = WaitlistEntryFactory()
    assert submit(client, slot).status_code == 302
    assert list(WaitlistEntry.objects.all()) == [entry]
