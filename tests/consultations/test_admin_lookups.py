"""The request list answers only the filters it offers, and the audit trail records that
a search was made (never its words), which filters were used and what was exported."""

import re
from html import unescape

import pytest
from django.test import Client

from consultations.models import AuditAction, AuditEvent
from tests.consultations.test_admin import CHANGELIST
from tests.factories import ConsultationRequestFactory, UserFactory
from tests.test_roles import COORDINATOR, roles, staff_client  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db


@pytest.fixture
def coordinator(roles):  # noqa: F811 - the roles fixture
    return staff_client(Client(), COORDINATOR)


@pytest.mark.parametrize(
    "query",
    [
        "email__contains=example",
        "full_name__startswith=A",
        "manage_key__startswith=a",
        "phone__contains=555",
        "note__icontains=x",
        "slot__requests__email__contains=x",
        "assigned_to__password__startswith=pbkdf2",
        "status__in=new,contacted",
    ],
)
def test_lookups_the_list_does_not_offer_are_refused(coordinator, query):
    ConsultationRequestFactory(email="alex@example.com", full_name="Alex Example")
    response = coordinator.get(f"{CHANGELIST}?{query}")
    assert response.status_code == 400
    assert "Alex" not in response.content.decode()


def test_every_filter_link_the_list_offers_works(coordinator):
    ConsultationRequestFactory(assigned_to=UserFactory(is_staff=True))
    html = coordinator.get(CHANGELIST).content.decode()
    # The sidebar filters, then the date drill-down at each level.
    links = {unescape(href) for href in re.findall(r'href="(\?[^"]+)"', html)}
    links = {link for link in links if not link.startswith("?o=")}
    assert len(links) >= 12
    for level in ("created_at__year", "created_at__month", "created_at__day"):
        drill = sorted(link for link in links if level in link)
        if drill:
            links |= {
                unescape(href)
                for href in re.findall(
                    r'href="(\?[^"]+)"', coordinator.get(CHANGELIST + drill[0]).content.decode()
                )
            }
    for link in links:
        assert coordinator.get(CHANGELIST + link).status_code == 200, link


def test_searches_and_filters_are_audited_without_the_words(coordinator):
    ConsultationRequestFactory(full_name="Alex Example")
    coordinator.get(CHANGELIST)  # a plain look at the list records nothing
    assert not AuditEvent.objects.exists()
    coordinator.get(CHANGELIST, {"q": "Alex Example", "status__exact": "new", "when": "upcoming"})
    event = AuditEvent.objects.get()
    assert event.action == AuditAction.LIST and event.count == 1
    assert event.detail == (
        "searched (the words are not recorded); filters: status__exact=new, when=upcoming"
    )
    assert "Alex" not in str(AuditEvent.objects.values_list())


def test_export_records_each_reference(coordinator):
    first, second = ConsultationRequestFactory(), ConsultationRequestFactory()
    coordinator.post(
        CHANGELIST, {"action": "export_csv", "_selected_action": [first.pk, second.pk]}
    )
    events = AuditEvent.objects.filter(action=AuditAction.EXPORT)
    assert sorted(events.values_list("reference", flat=True)) == sorted(
        [first.reference, second.reference]
    )
