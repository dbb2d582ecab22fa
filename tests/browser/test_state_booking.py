"""The booking page for a state with licensed clinicians and for one without: axe-clean,
screenshots at phone and desktop widths for reviewers."""

import pytest
from django.core.management import call_command

from tests.browser import audit

pytestmark = pytest.mark.browser


def test_booking_page_by_state(page, live_server):
    call_command("load_sample_content", verbosity=0)
    call_command("load_sample_slots", verbosity=0)
    page.goto(live_server.url + "/book/")
    page.get_by_label("Which state do you live in?").select_option("NY")
    page.get_by_role("button", name="Show times for my state").click()
    assert "state=NY" in page.url
    assert page.get_by_text("times you can book from New York").is_visible()
    assert page.get_by_text("video call with Dr. Maya Chen (sample), MD").first.is_visible()
    assert (
        page.get_by_text("Jordan Ellis").count() == 0
        or not page.get_by_text("video call with Jordan Ellis").count()
    )
    assert audit.run_axe(page) == []
    audit.screenshot(page, "booking-state-with-clinicians")
    page.goto(live_server.url + "/book/?state=TX")
    assert page.get_by_text("none of our clinicians is licensed in Texas yet").is_visible()
    assert page.get_by_text("video call with").count() == 0
    assert audit.run_axe(page) == []
    audit.screenshot(page, "booking-state-without-clinicians")
