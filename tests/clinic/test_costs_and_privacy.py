"""The Costs page (fees staff manage, treatments offered, the Good Faith Estimate notice),
the self-pay question on the booking form, and the privacy notice linked from every page."""

import decimal
from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.test import override_settings
from django.urls import reverse

from clinic.models import ClinicDetails, Fee
from consultations.models import ConsultationRequest
from tests.consultations.conftest import submit
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

GFE_FACTS = ["Good Faith Estimate", "within 1 business day", "within 3 business days", "$400"]


def html_of(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


def staff(client, group_name):
    call_command("setup_roles", stdout=StringIO(), stderr=StringIO())
    user = UserFactory()
    user.groups.add(Group.objects.get(name=group_name))
    client.force_login(user)
    return client


def test_costs_page_lists_the_fees_staff_manage_and_the_estimate_notice(client):
    Fee.objects.create(
        name="Consultation",
        price=decimal.Decimal("250"),
        includes="A visit with a psychiatrist, about 45 minutes.",
        insurance_usually_covers=True,
        order=1,
    )
    Fee.objects.create(
        name="IV ketamine session",
        price=decimal.Decimal("1200.50"),
        includes="One infusion and the time you rest after it.",
        order=2,
    )
    html = html_of(client.get(reverse("costs")))
    assert html.index("Consultation") < html.index("IV ketamine session")
    assert "$250.00" in html and "$1,200.50" in html
    assert "Usually covered" in html and "Usually not covered" in html
    assert "One infusion and the time you rest after it." in html
    for fact in GFE_FACTS:
        assert fact in html


def test_costs_page_shows_the_treatments_the_clinic_offers(client):
    html = html_of(client.get(reverse("costs")))
    assert "IV ketamine, given in the clinic" in html and "Esketamine nasal spray" not in html
    assert "Our fee list is being updated" in html  # no fees yet: never a blank table
    ClinicDetails.objects.filter(pk=1).update(offers_esketamine=True)
    ClinicDetails.objects.get(pk=1).save()  # a save through the admin raises the version
    html = html_of(client.get(reverse("costs")))
    assert "Esketamine nasal spray (Spravato)" in html


def test_a_fee_added_in_the_admin_shows_on_the_costs_page(client):
    assert "Follow-up visit" not in html_of(client.get(reverse("costs")))
    manager = staff(client, "Clinic managers")
    assert manager.get(reverse("admin:clinic_fee_changelist")).status_code == 200
    response = manager.post(
        reverse("admin:clinic_fee_add"),
        {
            "name": "Follow-up visit",
            "price": "150.00",
            "includes": "A check-in after your series.",
            "order": "3",
        },
    )
    assert response.status_code == 302
    client.logout()
    assert "Follow-up visit" in html_of(client.get(reverse("costs")))


def test_only_managers_manage_fees(client):
    editor = staff(client, "Content editors")
    assert editor.get(reverse("admin:clinic_fee_changelist")).status_code == 403


def test_a_fee_cannot_be_negative():
    with pytest.raises(IntegrityError), transaction.atomic():
        Fee.objects.create(name="Refund", price=decimal.Decimal("-1"), includes="No.")


def test_booking_page_carries_the_estimate_notice_privacy_link_and_self_pay_question(client):
    html = html_of(client.get(reverse("consultations:book")))
    for fact in GFE_FACTS:
        assert fact in html
    assert "Do you expect to pay for this care yourself? (optional)" in html
    consent = html.index('name="contact_consent"')
    privacy_link = html.index(f'href="{reverse("privacy")}">our privacy notice</a>')
    assert html.rindex("Before you send", 0, consent) < privacy_link < consent


def test_the_self_pay_answer_is_optional_and_staff_see_it(client, admin_client):
    assert submit(client, expects_self_pay=None).status_code == 302
    assert ConsultationRequest.objects.get().expects_self_pay == ""
    ConsultationRequest.objects.all().delete()
    assert submit(client, expects_self_pay="yes").status_code == 302
    request = ConsultationRequest.objects.get()
    assert request.expects_self_pay == "yes"
    url = reverse("admin:consultations_consultationrequest_change", args=[request.pk])
    html = html_of(admin_client.get(url))
    assert "Expects to pay for themselves" in html
    assert "Yes, I expect to pay for myself" in html


def test_a_wrong_self_pay_answer_is_explained_and_keeps_the_form(client):
    response = submit(client, expects_self_pay="maybe")
    assert response.status_code == 200 and ConsultationRequest.objects.count() == 0
    html = response.content.decode()
    assert "Select a valid choice" in html and 'value="Alex Example"' in html


@override_settings(CLINIC_RETENTION_DAYS=90)
def test_privacy_notice_says_what_is_collected_who_sees_it_and_how_long(client):
    html = html_of(client.get(reverse("privacy")))
    assert "<h1>Privacy notice</h1>" in html
    assert "we delete it after 90 days" in html  # the retention setting, read live
    assert "{retention_days}" not in html
    for promise in ["no analytics", "Who sees it", "ask us to\ndelete it", "a copy"]:
        assert promise in html, promise


def test_staff_edit_the_privacy_notice_in_the_admin(client, admin_client):
    details = ClinicDetails.objects.cached()
    url = reverse("admin:clinic_clinicdetails_change", args=[1])
    assert "Privacy notice" in html_of(admin_client.get(url))
    details.privacy_notice = "## Our promise\n\nWe keep requests for {retention_days} days."
    details.save()
    html = html_of(client.get(reverse("privacy")))
    assert "<h2" in html and "Our promise" in html and "What we collect" not in html


@pytest.mark.parametrize("name", ["home", "costs", "privacy", "consultations:book"])
def test_every_page_links_costs_and_privacy_in_the_footer(client, name):
    html = html_of(client.get(reverse(name)))
    footer = html[html.index('class="site-footer"') :]
    assert f'href="{reverse("privacy")}"' in footer and f'href="{reverse("costs")}"' in footer


@override_settings(CLINIC_WAITLIST_RETENTION_DAYS=45)
def test_privacy_notice_names_the_therapist_details_and_the_waitlist(client):
    text = " ".join(html_of(client.get(reverse("privacy"))).split())
    assert "kept only if you tick the box that lets us contact them" in text
    assert "leave the waitlist (every email has a link) or after 45 days" in text
    assert "{waitlist_days}" not in text


def test_a_notice_with_the_sample_wording_gains_both_lines_and_loses_them_going_back():
    from importlib import import_module

    from django.apps import apps

    therapist = import_module("clinic.migrations.0003_privacy_notice_names_therapist_details")
    waitlist = import_module("clinic.migrations.0005_privacy_notice_names_the_waitlist")
    details = ClinicDetails.objects.cached()
    old = details.privacy_notice.replace(therapist.THERAPIST_LINE, "").replace(
        waitlist.WAITLIST_LINE, ""
    )
    ClinicDetails.objects.filter(pk=1).update(privacy_notice=old)
    therapist.add_therapist_line(apps, None)
    waitlist.add_waitlist_line(apps, None)
    assert ClinicDetails.objects.get(pk=1).privacy_notice == details.privacy_notice
    waitlist.remove_waitlist_line(apps, None)
    therapist.remove_therapist_line(apps, None)
    assert ClinicDetails.objects.get(pk=1).privacy_notice == old
    # A clinic's own wording is left alone.
    ClinicDetails.objects.filter(pk=1).update(privacy_notice="## Ours\n\nOur own words.")
    therapist.add_therapist_line(apps, None)
    assert ClinicDetails.objects.get(pk=1).privacy_notice == "## Ours\n\nOur own words."
