"""The lists staff work from fit a 1280 px screen: no sideways scroll, every column seen.

Opened by a clinic manager (who sees every column of both lists) with the sample content
and slots loaded and a request on every sample slot, at 1280 x 800 with the admin's
navigation sidebar open, as it is by default.
"""

import pytest
from django.core.management import call_command
from django.urls import reverse

from consultations.models import AvailabilitySlot, Status
from tests.browser import audit
from tests.browser.test_staff_journeys import sign_in, staff_member
from tests.factories import ConsultationRequestFactory

LISTS = {
    "requests": "admin:consultations_consultationrequest_changelist",
    "articles": "admin:education_article_changelist",
}

# How far each list's table reaches past its box, and the right edge of its last column.
MEASURE = """() => {
  const box = document.querySelector('#changelist .results');
  const headers = [...document.querySelectorAll('#result_list thead th')];
  const edge = box.getBoundingClientRect().right + 1;
  return {
    overflow: box.scrollWidth - box.clientWidth,
    page_overflow: document.documentElement.scrollWidth - window.innerWidth,
    hidden: headers.filter(th => th.getBoundingClientRect().right > edge)
      .map(th => th.innerText.trim()),
  };
}"""


@pytest.mark.parametrize("name", LISTS)
def test_the_list_fits_1280_px_without_sideways_scroll(page, live_server, name):
    call_command("setup_roles", verbosity=0)
    call_command("load_sample_content", verbosity=0)
    call_command("load_sample_slots", verbosity=0)
    for n, slot in enumerate(AvailabilitySlot.objects.all()[:10]):
        ConsultationRequestFactory(
            slot=slot, full_name=f"Alexandra Example-Longname {n}", status=Status.CONTACTED
        )
    staff_member("manager", "Clinic managers")
    sign_in(page, "manager")
    page.goto(reverse(LISTS[name]))
    audit.screenshot(page, f"admin-{name}-list", widths=(1280,))
    page.set_viewport_size({"width": 1280, "height": 800})
    measured = page.evaluate(MEASURE)
    assert measured == {"overflow": 0, "page_overflow": 0, "hidden": []}, measured
