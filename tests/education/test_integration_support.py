"""Find integration support: the clinic's referral network, public and filtered by state."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from education.models import NetworkTherapist, NetworkTherapistState
from tests.factories import role_member

pytestmark = pytest.mark.django_db
URL = reverse("education:integration_support")


def therapist(name: str, states: list[str], **fields) -> NetworkTherapist:
    person = NetworkTherapist.objects.create(name=name, credentials="LCSW", **fields)
    for code in states:
        NetworkTherapistState.objects.create(therapist=person, state=code)
    return person


def test_page_is_public_cached_and_lists_the_network(client):
    therapist("Ana Ruiz", ["NY", "NJ"], phone="(212) 555-0123", in_person=True)
    therapist("Gone Away", ["NY"], is_active=False)
    response = client.get(URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("public")
    assert "Ana Ruiz, LCSW" in html and "New Jersey, New York" in html
    assert "In person or by video." in html
    assert "Gone Away" not in html


def test_filtered_by_state(client):
    therapist("Ana Ruiz", ["NY"])
    therapist("Ben Cho", ["CA"])
    html = client.get(URL, {"state": "CA"}).content.decode()
    assert "Ben Cho" in html and "Ana Ruiz" not in html
    assert '<option value="CA" selected>' in html
    none = client.get(URL, {"state": "TX"}).content.decode()
    assert "no therapist listed for that state" in none
    unknown = client.get(URL, {"state": "%00<x>"})  # ignored, never a 500
    assert unknown.status_code == 200 and "Ana Ruiz" in unknown.content.decode()


def test_samples_are_marked_as_samples(client):
    call_command("load_sample_content", verbosity=0)
    html = client.get(URL).content.decode()
    assert NetworkTherapist.objects.filter(is_sample=True).count() == 2
    assert html.count("Sample, not a real person") == 2
    call_command("load_sample_content", verbosity=0)
    assert NetworkTherapist.objects.count() == 2


def test_planner_and_sitemap_link_to_it(client):
    assert URL in client.get(reverse("education:sitemap")).content.decode()
    assert reverse("education:planner") in client.get(URL).content.decode()


@pytest.mark.parametrize(
    ("role", "status"), [("Content editors", 200), ("Intake coordinators", 403)]
)
def test_editors_manage_the_network_in_the_admin(client, role, status):
    person = therapist("Ana Ruiz", ["NY"])
    client.force_login(role_member(role))
    for url in [
        reverse("admin:education_networktherapist_changelist"),
        reverse("admin:education_networktherapist_add"),
        reverse("admin:education_networktherapist_change", args=[person.pk]),
    ]:
        assert client.get(url).status_code == status, url
