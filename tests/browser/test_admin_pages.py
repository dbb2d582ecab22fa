"""Staff pages pass axe-core at WCAG 2.2 AA too: the admin is where staff spend their day.

Each page is opened by a superuser (who sees every field and action), with the sample
content and slots loaded, and scanned as it stands. The page must load without asking
another origin for anything and without breaking its Content Security Policy; axe's own
probes then add inline styles the policy blocks, so the policy is checked before axe runs.
"""

from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.core.management import call_command
from django.urls import reverse

from clinic.models import ClinicDetails
from consultations.models import AvailabilitySlot, ConsultationRequest, Location
from education import services
from education.models import Article, GlossaryTerm
from tests.browser import audit
from tests.factories import PASSWORD, AvailabilitySlotFactory, UserFactory


def admin_pages() -> list[str]:
    article = Article.objects.first()
    draft = services.article_draft_open(article=Article.objects.last(), by=None)
    request = ConsultationRequest.objects.first()
    slot = AvailabilitySlot.objects.first()
    return [
        reverse("admin:index"),
        reverse("admin:education_article_changelist"),
        reverse("admin:education_article_add"),
        reverse("admin:education_article_change", args=[article.pk]),
        reverse("admin:education_article_history", args=[article.pk]),
        reverse("admin:education_article_workflow", args=[article.pk]),
        reverse("admin:education_article_change", args=[draft.pk]),
        reverse("admin:education_article_workflow", args=[draft.pk]),
        reverse("admin:education_article_preview", args=[draft.pk]),
        reverse("admin:education_glossaryterm_changelist"),
        reverse("admin:education_articleimage_changelist"),
        reverse("admin:education_articleimage_add"),
        reverse("admin:education_articleredirect_changelist"),
        reverse("admin:education_glossaryterm_change", args=[GlossaryTerm.objects.first().pk]),
        reverse("admin:consultations_consultationrequest_changelist"),
        reverse("admin:consultations_consultationrequest_change", args=[request.pk]),
        reverse("admin:consultations_availabilityslot_changelist"),
        reverse("admin:consultations_availabilityslot_add"),
        reverse("admin:consultations_availabilityslot_change", args=[slot.pk]),
        reverse("admin:consultations_availabilityslot_generate"),
        reverse("admin:consultations_agenda") + "?span=week",
        reverse("admin:consultations_clinician_changelist"),
        reverse("admin:consultations_clinician_change", args=[slot.clinician_id]),
        reverse("admin:consultations_location_changelist"),
        reverse("admin:consultations_location_change", args=[Location.objects.first().pk]),
        reverse("admin:consultations_auditevent_changelist"),
        reverse("admin:consultations_consultationreminder_changelist"),
        reverse("admin:consultations_calendar_feed"),
        reverse("admin:clinic_clinicdetails_change", args=[ClinicDetails.objects.cached().pk]),
        reverse("admin:otp_totp_totpdevice_changelist"),
        reverse("admin:password_change"),
    ]


def test_admin_pages_pass_axe(browser, live_server):
    call_command("load_sample_content", verbosity=0)
    call_command("load_sample_slots", verbosity=0)
    UserFactory(username="admin", is_staff=True, is_superuser=True)
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    requested, csp_errors = [], []
    page.on("request", lambda request: requested.append(request.url))
    page.on(
        "console",
        lambda msg: csp_errors.append(msg.text) if "Content Security Policy" in msg.text else None,
    )

    def scan(url: str) -> list[dict]:
        assert csp_errors == [], f"{url} broke its Content Security Policy: {csp_errors}"
        violations = audit.run_axe(page)
        csp_errors.clear()  # axe's own probes, not the page's
        return violations

    page.goto(reverse("admin:login"))
    problems = {"sign-in": scan("sign-in")}
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    for url in admin_pages():
        response = page.goto(url)
        assert response.status == 200, url
        problems[url] = scan(url)
    context.close()

    foreign = [u for u in requested if urlsplit(u).hostname != "127.0.0.1"]
    assert foreign == [], f"requests to another origin: {foreign}"
    failing = {url: audit.format_violations(v) for url, v in problems.items() if v}
    assert not failing, "\n".join(f"{url}\n{text}" for url, text in failing.items())


def test_slot_date_drill_down_targets_at_every_length(browser, live_server):
    """The drill-down wraps into more rows the more days have slots; every link keeps 24 px.

    Slots on each of January's 31 days and in each month of the year give the longest
    lists that the day and month levels can show, at a phone's width and a desktop's.
    """
    zone = ZoneInfo("America/New_York")
    for day in range(1, 32):
        AvailabilitySlotFactory(starts_at=datetime(2027, 1, day, 10, tzinfo=zone))
    for month in range(2, 13):
        AvailabilitySlotFactory(starts_at=datetime(2027, month, 3, 10, tzinfo=zone))
    UserFactory(username="admin", is_staff=True, is_superuser=True)
    changelist = reverse("admin:consultations_availabilityslot_changelist")
    for width in (390, 1280):
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": width, "height": 800}
        )
        page = context.new_page()
        page.goto(reverse("admin:login"))
        page.get_by_label("Username").fill("admin")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        for query in ("?starts_at__year=2027", "?starts_at__year=2027&starts_at__month=1"):
            page.goto(changelist + query)
            links = page.locator(".toplinks a").count()
            assert links >= 12, f"{query}: the drill-down shows {links} links"
            small = [v for v in audit.run_axe(page) if v["id"] == "target-size"]
            assert small == [], f"{width} px {query}\n{audit.format_violations(small)}"
        context.close()
