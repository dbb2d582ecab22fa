"""The patient's manage link, as a person uses it: cancel asks first, and Back after
cancelling neither undoes the cancel nor sends it twice."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from consultations.formatting import format_clinic_time
from consultations.models import ConsultationRequest, Status
from consultations.tokens import manage_token_make
from tests.browser import audit
from tests.factories import ConsultationRequestFactory


@pytest.fixture
def booked(live_server):
    return ConsultationRequestFactory(email="sam.rivera@example.com")


def test_cancel_asks_first_and_back_after_cancelling_changes_nothing(page, booked, mailoutbox):
    manage_url = reverse("consultations:manage", args=[manage_token_make(booked)])
    page.goto(manage_url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Your consultation request")

    # "Cancel my request" only asks; "No, keep it" goes back with nothing changed.
    page.get_by_role("link", name="Cancel my request").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cancel your consultation?")
    when = format_clinic_time(booked.slot.starts_at)
    expect(page.get_by_role("main")).to_contain_text(f"Cancel your consultation on {when}?")
    audit.audit_page(page, "cancel: are you sure")
    audit.screenshot(page, "manage-cancel-confirm")
    page.get_by_role("link", name="No, keep it").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your consultation request")
    booked.refresh_from_db()
    assert booked.status == Status.NEW and mailoutbox == []

    # Asked again, the patient says yes.
    page.get_by_role("link", name="Cancel my request").click()
    page.get_by_role("button", name="Yes, cancel it").click()
    expect(page).to_have_url(re.compile(re.escape(manage_url) + "$"))
    main = page.get_by_role("main")
    expect(main).to_contain_text("Your request is cancelled. We will email you to confirm it.")
    expect(main).to_contain_text("This request is cancelled")
    expect(page.get_by_role("link", name="Cancel my request")).to_have_count(0)
    audit.audit_page(page, "manage request, cancelled")
    audit.screenshot(page, "manage-cancelled")

    # Back: the page that asked now says the request is cancelled, and offers nothing.
    page.go_back()
    expect(page.get_by_role("main")).to_contain_text("This request is cancelled")
    expect(page.get_by_role("button", name="Yes, cancel it")).to_have_count(0)
    page.go_back()
    expect(page.get_by_role("main")).to_contain_text("This request is cancelled")

    request = ConsultationRequest.objects.get(pk=booked.pk)
    assert request.status == Status.CANCELLED
    assert request.status_changes.filter(to_status=Status.CANCELLED).count() == 1
    (to_patient,) = [m for m in mailoutbox if m.to == [booked.email]]
    assert to_patient.subject.endswith(" is cancelled") and when in to_patient.body
