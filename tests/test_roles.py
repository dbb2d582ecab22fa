"""Role boundaries in the admin, proven from the outside with the groups `setup_roles` makes.

Editors and reviewers never reach consultation requests (health data); coordinators never
change articles; only managers read the audit trail; nobody edits the audit trail.
"""

import datetime
from io import StringIO

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from consultations.models import (
    AuditEvent,
    AvailabilitySlot,
    ConsultationReminder,
    ConsultationRequest,
    StaffCalendarFeed,
    StaffNote,
    StatusChange,
)
from education.models import FAQ, Article, GlossaryTerm, Reference
from tests.factories import (
    ArticleFactory,
    AvailabilitySlotFactory,
    ConsultationRequestFactory,
    TherapistContactFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

EDITOR, REVIEWER, COORDINATOR, MANAGER = (
    "Content editors",
    "Medical reviewers",
    "Intake coordinators",
    "Clinic managers",
)
CLINICIAN = "Clinicians"
EXPORT_ACTION = "export_csv"
MARK_REVIEWED_ACTION = "mark_reviewed"


@pytest.fixture
def roles():
    call_command("setup_roles", stdout=StringIO(), stderr=StringIO())


def staff_client(client, group_name):
    user = UserFactory()
    user.groups.add(Group.objects.get(name=group_name))
    client.force_login(user)
    return client


@pytest.fixture
def editor(client, roles):
    return staff_client(client, EDITOR)


@pytest.fixture
def reviewer(client, roles):
    return staff_client(client, REVIEWER)


@pytest.fixture
def coordinator(client, roles):
    return staff_client(client, COORDINATOR)


@pytest.fixture
def manager(client, roles):
    return staff_client(client, MANAGER)


@pytest.fixture
def consultation_rows():
    request = ConsultationRequestFactory(slot=AvailabilitySlotFactory())
    StaffNote.objects.create(request=request, text="Called, left a message.")
    StatusChange.objects.create(request=request, to_status="new")
    AuditEvent.objects.create(username="someone", action="view", request_id=request.pk)
    ConsultationReminder.objects.create(
        request=request, hours_before=24, starts_at=request.slot.starts_at
    )
    StaffCalendarFeed.objects.create(user=UserFactory(), token_hash="0" * 64)
    return request


def admin_urls(model, obj=None):
    """Every admin page of a model: list and add, plus change, history, delete for obj."""
    info = model._meta.app_label, model._meta.model_name
    urls = [
        reverse("admin:{}_{}_changelist".format(*info)),
        reverse("admin:{}_{}_add".format(*info)),
    ]
    if obj is not None:
        for page in ("change", "history", "delete"):
            urls.append(reverse(f"admin:{info[0]}_{info[1]}_{page}", args=[obj.pk]))
    return urls


def consultation_admin_pages(request):
    rows = {
        ConsultationRequest: request,
        AvailabilitySlot: request.slot,
        StaffNote: request.staff_notes.first(),
        StatusChange: request.status_changes.first(),
        AuditEvent: AuditEvent.objects.first(),
        ConsultationReminder: request.reminders.first(),
    }
    pages = []
    for model, obj in rows.items():
        if admin.site.is_registered(model):
            pages += admin_urls(model, obj)
    return pages


# Editors and reviewers never see requests ------------------------------------------------


@pytest.mark.parametrize("group_name", [EDITOR, REVIEWER])
def test_content_staff_get_403_on_every_request_page(client, roles, consultation_rows, group_name):
    staff = staff_client(client, group_name)
    pages = consultation_admin_pages(consultation_rows)
    assert len(pages) >= 10  # at least requests and slots, five pages each
    for url in pages:
        assert staff.get(url).status_code == 403, url
    export = staff.post(
        reverse("admin:consultations_consultationrequest_changelist"),
        {"action": EXPORT_ACTION, "_selected_action": [consultation_rows.pk]},
    )
    assert export.status_code == 403
    assert "text/csv" not in export.get("Content-Type", "")


def test_editor_index_shows_no_request_numbers_or_audit_trail(editor, consultation_rows):
    html = editor.get(reverse("admin:index")).content.decode()
    assert "New requests" not in html and "Consultations today" not in html
    assert "Audit events" not in html and "Consultation requests" not in html
    assert "Articles overdue for review" in html


# Coordinators handle requests, never articles ------------------------------------------------


def test_coordinator_cannot_change_or_add_articles(coordinator):
    article = ArticleFactory(draft=True)
    for url in (
        reverse("admin:education_article_add"),
        reverse("admin:education_article_change", args=[article.pk]),
        reverse("admin:education_article_changelist"),
    ):
        assert coordinator.get(url).status_code == 403, url


def test_coordinator_opens_requests_and_exports(coordinator, consultation_rows):
    changelist = reverse("admin:consultations_consultationrequest_changelist")
    assert coordinator.get(changelist).status_code == 200
    change = reverse("admin:consultations_consultationrequest_change", args=[consultation_rows.pk])
    assert coordinator.get(change).status_code == 200
    export = coordinator.post(
        changelist, {"action": EXPORT_ACTION, "_selected_action": [consultation_rows.pk]}
    )
    assert export.status_code == 200
    assert export["Content-Type"].startswith("text/csv")
    assert consultation_rows.reference in export.content.decode()


def test_coordinator_cannot_open_the_audit_trail(coordinator, consultation_rows):
    url = reverse("admin:consultations_auditevent_changelist")
    assert coordinator.get(url).status_code == 403


# Reviewing articles ---------------------------------------------------------------------


def test_reviewer_marks_article_reviewed_today(reviewer):
    article = ArticleFactory(draft=True)
    changelist = reverse("admin:education_article_changelist")
    assert MARK_REVIEWED_ACTION in reviewer.get(changelist).content.decode()
    reviewer.post(
        changelist,
        {
            "action": MARK_REVIEWED_ACTION,
            "_selected_action": [article.pk],
            "review_note": "Checked against current guidance.",
            "apply": "1",
        },
        follow=True,
    )
    article.refresh_from_db()
    assert article.last_reviewed == timezone.localdate()


def test_editor_cannot_mark_article_reviewed(editor):
    article = ArticleFactory(draft=True)
    changelist = reverse("admin:education_article_changelist")
    assert MARK_REVIEWED_ACTION not in editor.get(changelist).content.decode()
    editor.post(
        changelist,
        {
            "action": MARK_REVIEWED_ACTION,
            "_selected_action": [article.pk],
            "review_note": "Forged.",
            "apply": "1",
        },
        follow=True,
    )
    article.refresh_from_db()
    assert article.last_reviewed is None


# The audit trail ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("group_name", "status"),
    [(EDITOR, 403), (REVIEWER, 403), (COORDINATOR, 403), (MANAGER, 200)],
)
def test_only_managers_read_the_audit_trail(client, roles, consultation_rows, group_name, status):
    staff = staff_client(client, group_name)
    assert staff.get(reverse("admin:consultations_auditevent_changelist")).status_code == status


@pytest.mark.parametrize("who", ["manager", "superuser"])
def test_nobody_edits_the_audit_trail(client, roles, consultation_rows, admin_user, who):
    if who == "manager":
        staff_client(client, MANAGER)
    else:
        client.force_login(admin_user)
    event = AuditEvent.objects.first()
    assert client.get(reverse("admin:consultations_auditevent_add")).status_code == 403
    change = reverse("admin:consultations_auditevent_change", args=[event.pk])
    assert client.get(change).status_code == 200  # read-only view
    assert client.post(change, {"username": "forged"}).status_code == 403
    delete = reverse("admin:consultations_auditevent_delete", args=[event.pk])
    assert client.get(delete).status_code == 403
    assert client.post(delete, {"post": "yes"}).status_code == 403
    changelist = reverse("admin:consultations_auditevent_changelist")
    assert "delete_selected" not in client.get(changelist).content.decode()
    event.refresh_from_db()
    assert event.username == "someone"


# Managers --------------------------------------------------------------------------------


def test_manager_opens_every_page_of_both_apps(manager, consultation_rows):
    article = ArticleFactory(draft=True)
    pages = [reverse("admin:education_article_changelist")]
    pages.append(reverse("admin:education_article_change", args=[article.pk]))
    pages.append(reverse("admin:consultations_consultationrequest_changelist"))
    pages.append(reverse("admin:consultations_auditevent_changelist"))
    pages.append(reverse("admin:clinic_clinicdetails_changelist"))
    for url in pages:
        assert manager.get(url).status_code == 200, url


# At a glance ---------------------------------------------------------------------------


@pytest.fixture
def morning(time_machine):
    """9 am in the clinic's zone (before anyone signs in): 11 pm is later the same day."""
    zone = timezone.get_current_timezone()
    time_machine.move_to(datetime.datetime(2026, 12, 2, 9, 0, tzinfo=zone))


def test_at_a_glance_counts_for_a_coordinator(morning, coordinator):
    now = timezone.localtime()
    today_slot = AvailabilitySlotFactory(
        starts_at=now.replace(hour=23, minute=0, second=0, microsecond=0)
    )
    ConsultationRequestFactory(slot=today_slot)
    ConsultationRequestFactory(slot=AvailabilitySlotFactory())  # new, another day
    ConsultationRequestFactory(slot=AvailabilitySlotFactory(modality="phone"), status="contacted")
    ConsultationRequestFactory(slot=today_slot, status="cancelled")
    response = coordinator.get(reverse("admin:index"))
    glance = {item["label"]: item["count"] for item in response.context["at_a_glance"]}
    assert glance == {"New requests": 2, "Consultations today": 1}
    html = response.content.decode()
    assert "At a glance" in html and "?status__exact=new" in html
    assert "Articles overdue for review" not in html


def test_at_a_glance_counts_overdue_articles_for_an_editor(editor):
    ArticleFactory(draft=True, next_review_due=timezone.localdate() - datetime.timedelta(days=1))
    ArticleFactory(draft=True, next_review_due=timezone.localdate() + datetime.timedelta(days=10))
    response = editor.get(reverse("admin:index"))
    assert response.context["at_a_glance"][0]["count"] == 1


def test_at_a_glance_adds_only_three_counts(client, admin_user, django_assert_max_num_queries):
    client.force_login(admin_user)
    client.get(reverse("admin:index"))  # warm caches
    with django_assert_max_num_queries(30) as captured:
        client.get(reverse("admin:index"))
    counts = [q["sql"] for q in captured.captured_queries if "COUNT(" in q["sql"].upper()]
    assert len(counts) == 3


# Every admin page opens ----------------------------------------------------------------


def test_every_admin_page_opens_for_a_superuser(admin_client, admin_user, consultation_rows):
    article = ArticleFactory(draft=True)
    FAQ.objects.create(article=article, question="Does it hurt?", answer="No.")
    Reference.objects.create(article=article, citation="A study.")
    GlossaryTerm.objects.create(term="Glutamate", slug="glutamate", definition="A messenger.")
    checked = []
    for model, model_admin in admin.site._registry.items():
        info = model._meta.app_label, model._meta.model_name
        assert admin_client.get(reverse("admin:{}_{}_changelist".format(*info))).status_code == 200
        add = admin_client.get(reverse("admin:{}_{}_add".format(*info)))
        assert add.status_code == (200 if model_admin.has_add_permission(add.wsgi_request) else 403)
        obj = model._default_manager.first()
        if obj is not None:
            for page in ("change", "history"):
                url = reverse(f"admin:{info[0]}_{info[1]}_{page}", args=[obj.pk])
                assert admin_client.get(url).status_code == 200, url
            checked.append(model)
    assert {Article, ConsultationRequest, AvailabilitySlot, AuditEvent} <= set(checked)


# What each role may open, written out here rather than asked of the admin: "L" the list
# (and a row's page), "A" the add page. Every other admin page answers 403. Everyone may
# set up their own authenticator (otp_totp).
EDUCATION_WRITE = {
    "education.article": "LA", "education.articleimage": "LA", "education.articleredirect": "L",
    "education.contributor": "LA", "education.glossaryterm": "LA",
    "education.networktherapist": "LA", "education.planneritem": "LA",
    "education.readingpath": "LA", "education.topic": "LA",
}  # fmt: skip
OWN_DEVICE = {"otp_totp.totpdevice": "LA"}
# Coordinators and managers: the clinicians, locations and times offered, and the requests.
SCHEDULING = {
    "consultations.availabilityslot": "LA",
    "consultations.clinician": "LA",
    "consultations.location": "LA",
    "consultations.consultationrequest": "L",
    # The reminders sent, failed or stuck: read-only for everyone.
    "consultations.consultationreminder": "L",
}
OPENS = {
    EDITOR: EDUCATION_WRITE | OWN_DEVICE,
    REVIEWER: {
        "consultations.screenquestion": "L",
        "education.article": "L",
        "education.contributor": "L",
        "education.glossaryterm": "L",
        "education.topic": "L",
    }
    | OWN_DEVICE,  # fmt: skip
    # Coordinators see the clinicians and locations; managers add them.
    COORDINATOR: SCHEDULING
    | {"consultations.clinician": "L", "consultations.location": "L"}
    | OWN_DEVICE,
    MANAGER: EDUCATION_WRITE
    | OWN_DEVICE
    | {
        "auth.group": "L",
        "auth.user": "L",
        "axes.accessattempt": "L",
        "axes.accesslog": "L",
        "clinic.clinicdetails": "L",
        "clinic.fee": "LA",
        "consultations.auditevent": "L",
        "consultations.staffcalendarfeed": "L",
        "consultations.availabilityslot": "LA",
        "consultations.consultationrequest": "L",
        "consultations.screenquestion": "L",
    }
    | SCHEDULING,
}


@pytest.mark.parametrize("group_name", [EDITOR, REVIEWER, COORDINATOR, MANAGER])
def test_every_admin_list_add_and_change_page_answers_each_role(
    client, roles, consultation_rows, group_name
):
    """Pages a role may use open; the rest refuse with 403, never an error or a leak."""
    staff = staff_client(client, group_name)
    article = ArticleFactory(draft=True)
    FAQ.objects.create(article=article, question="Does it hurt?", answer="No.")
    answers, expected = {}, {}
    for model in admin.site._registry:
        label, info = model._meta.label_lower, (model._meta.app_label, model._meta.model_name)
        may = OPENS[group_name].get(label, "")
        pages = {"list": reverse("admin:{}_{}_changelist".format(*info))}
        pages["add"] = reverse("admin:{}_{}_add".format(*info))
        if (obj := model._default_manager.first()) is not None:
            pages["change"] = reverse("admin:{}_{}_change".format(*info), args=[obj.pk])
        for page, url in pages.items():
            answers[(label, page)] = staff.get(url).status_code
            opens = "A" in may if page == "add" else "L" in may
            expected[(label, page)] = 200 if opens else 403
    assert answers == expected


# Who sees the patient's own therapist on a request's page, written out here: "shown" (and
# the view's audit row says so), "hidden" (the page opens without them) or the status the
# page answers. Clinicians reach no request page (their agenda shows no patient details).
THERAPIST_SEEN = {
    EDITOR: 403,
    REVIEWER: 403,
    CLINICIAN: 403,
    COORDINATOR: "shown",
    MANAGER: "shown",
}


@pytest.mark.parametrize("group_name", THERAPIST_SEEN)
def test_therapist_details_are_seen_only_by_the_intake_team_and_managers(client, roles, group_name):
    contact = TherapistContactFactory(name="Dr. Sam Roleplay")
    staff = staff_client(client, group_name)
    url = reverse("admin:consultations_consultationrequest_change", args=[contact.request.pk])
    response = staff.get(url)
    html = response.content.decode()
    if response.status_code == 200:
        answer = "shown" if "Dr. Sam Roleplay" in html else "hidden"
        audit = AuditEvent.objects.get(action="view", request_id=contact.request.pk)
        assert (audit.detail == "with the therapist's details") == (answer == "shown")
    else:
        answer = response.status_code
        assert "Dr. Sam Roleplay" not in html
    assert answer == THERAPIST_SEEN[group_name]
