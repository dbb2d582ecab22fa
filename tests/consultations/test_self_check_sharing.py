"""Sharing self-check answers with a booking: only by choice, one signed copy, checked
again on submit, seen only by the roles that need it, audited, flagged as priority for
item 9, and purged with the request. No answer reaches a URL, an email or a log line.
"""

import logging
import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group, Permission
from django.core import signing
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from consultations.models import (
    AuditAction,
    AuditEvent,
    ConsultationRequest,
    ScreenQuestion,
    SharedSelfCheck,
    Status,
)
from consultations.self_check.sharing import SHARE_SALT
from consultations.services import consultation_requests_purge
from tests.consultations.conftest import submit
from tests.consultations.test_self_check import items_for, post_data
from tests.factories import ConsultationRequestFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def screen_questions(db):
    """The screen's questions (a transactional test elsewhere may have emptied the table)."""
    return ScreenQuestion.objects.for_self_check()


CHANGELIST = reverse("admin:consultations_consultationrequest_changelist")
TOKEN_RE = re.compile(r'name="self_check" value="([^"]+)"')


def change_url(request) -> str:
    return reverse("admin:consultations_consultationrequest_change", args=[request.pk])


def take_self_check(client, **kwargs) -> str:
    """Do the self-check and return the share token on the result page."""
    response = client.post("/self-check/", post_data(**kwargs))
    assert response.status_code == 200
    return TOKEN_RE.search(response.content.decode())[1]


def start_booking(client, token: str):
    """Press "Share these answers with the clinic when I book"."""
    response = client.post("/book/", {"self_check": token, "self_check_start": "1"})
    assert response.status_code == 200
    form = response.context["form"]
    tokens = {"form_token": form["form_token"].value()}
    return response, tokens


def book_sharing(client, slot, token: str, **overrides):
    _response, tokens = start_booking(client, token)
    fields = {"self_check": token, "share_self_check": "on", **overrides}
    return submit(client, slot, tokens=tokens, **fields)


def staff(group: str, username: str):
    call_command("setup_roles", verbosity=0)
    user = UserFactory(username=username)
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def shared_request(client, slot):
    token = take_self_check(client, items=items_for(14, item9=2), screen={"pregnancy": "yes"})
    assert book_sharing(client, slot, token).status_code == 302
    return ConsultationRequest.objects.get()


# --- the patient's side --------------------------------------------------------------


def test_share_button_opens_the_booking_form_carrying_the_answers(client):
    token = take_self_check(client)
    response, _tokens = start_booking(client, token)
    html = response.content.decode()
    assert f'name="self_check" value="{token}"' in html
    assert 'name="share_self_check" id="id_share_self_check" checked' in html
    assert "Your self-check answers" in html
    assert "Take the two-minute self-check" not in html
    assert "no-store" in response["Cache-Control"]
    assert SharedSelfCheck.objects.count() == 0


def test_with_consent_exactly_one_copy_is_stored_with_the_request(client, slot):
    token = take_self_check(client, items=items_for(14, item9=2), screen={"pregnancy": "yes"})
    before = timezone.now()
    assert book_sharing(client, slot, token).status_code == 302
    request = ConsultationRequest.objects.get()
    shared = SharedSelfCheck.objects.get()
    assert shared.request == request
    assert shared.phq9_answers == items_for(14, item9=2)
    assert shared.phq9_score == 14 and shared.band.label == "Moderate"
    assert shared.phq9_difficulty == "somewhat"
    assert shared.call_back_today is True
    assert shared.consent_policy_version == "2026-12" and shared.consent_at >= before
    pregnancy = next(a for a in shared.screen_answers if a["key"] == "pregnancy")
    assert pregnancy["answer"] == "yes" and pregnancy["needs_attention"] is True
    assert pregnancy["question"] == ScreenQuestion.objects.get(key="pregnancy").text
    assert len(shared.screen_answers) == 9


def test_the_stored_copy_keeps_the_wording_the_patient_saw(shared_request):
    ScreenQuestion.objects.filter(key="pregnancy").update(text="Reworded later")
    pregnancy = next(a for a in shared_request.self_check.screen_answers if a["key"] == "pregnancy")
    assert pregnancy["question"].startswith("Are you pregnant")


def test_unticking_the_box_books_without_storing_anything(client, slot):
    token = take_self_check(client)
    assert book_sharing(client, slot, token, share_self_check=None).status_code == 302
    assert ConsultationRequest.objects.count() == 1
    assert SharedSelfCheck.objects.count() == 0


def test_booking_without_the_self_check_stores_nothing(client, slot):
    assert submit(client, slot).status_code == 302
    assert SharedSelfCheck.objects.count() == 0


def test_a_resent_form_never_stores_a_second_copy(client, slot):
    token = take_self_check(client)
    _response, tokens = start_booking(client, token)
    fields = {"self_check": token, "share_self_check": "on"}
    assert submit(client, slot, tokens=tokens, **fields).status_code == 302
    again = submit(client, slot, tokens=tokens, **fields)
    assert "You already sent this request" in again.content.decode()
    assert ConsultationRequest.objects.count() == 1
    assert SharedSelfCheck.objects.count() == 1


def _tampered(token: str) -> str:
    payload = signing.loads(token, salt=SHARE_SALT)
    payload["p"][8] = 0  # hide item 9
    forged = signing.dumps(payload, salt=SHARE_SALT, compress=True)
    return forged.rsplit(":", 1)[0] + ":" + token.rsplit(":", 1)[1]


@pytest.mark.parametrize(
    "spoil", [_tampered, lambda token: token[:-3] + "abc", lambda token: "not-a-token"]
)
def test_tampered_answers_are_refused_clearly_and_nothing_else_is_lost(client, slot, spoil):
    token = take_self_check(client, items=items_for(10, item9=1))
    response = book_sharing(client, slot, spoil(token), note="kept note")
    html = response.content.decode()
    assert response.status_code == 200
    assert ConsultationRequest.objects.count() == 0 and SharedSelfCheck.objects.count() == 0
    assert "We could not check your self-check answers, so we did not send them" in html
    assert '<a href="#id_self_check">' in html
    assert "kept note" in html and 'value="Alex Example"' in html
    # The refused token is not sent again: the next send books without it.
    assert not TOKEN_RE.search(html)


def test_answers_signed_with_another_key_are_refused(client, slot, settings):
    forged = signing.dumps(
        {"p": [0] * 9, "d": "", "s": {}, "t": int(timezone.now().timestamp())},
        key="attacker",
        salt=SHARE_SALT,
        compress=True,
    )
    response = book_sharing(client, slot, forged)
    assert "We could not check your self-check answers" in response.content.decode()
    assert ConsultationRequest.objects.count() == 0


def test_signed_but_malformed_answers_are_refused(client, slot):
    bad = signing.dumps(
        {"p": [9] * 9, "d": "", "s": {"adult": "maybe"}, "t": 0}, salt=SHARE_SALT, compress=True
    )
    response = book_sharing(client, slot, bad)
    assert "We could not check your self-check answers" in response.content.decode()
    assert SharedSelfCheck.objects.count() == 0


def test_answers_older_than_an_hour_are_refused_with_their_own_message(client, slot):
    with time_machine.travel(timezone.now() - timedelta(minutes=61), tick=False):
        token = take_self_check(client)
    response = book_sharing(client, slot, token)
    html = response.content.decode()
    assert "more than an hour old, so we did not send them" in html
    assert ConsultationRequest.objects.count() == 0


# --- staff -------------------------------------------------------------------------


def test_coordinator_sees_score_band_and_flags_and_the_view_is_audited(client, shared_request):
    client.force_login(staff("Intake coordinators", "casey"))
    response = client.get(change_url(shared_request))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Self-check shared by the patient" in html
    assert "PHQ-9 score: 14 of 27 (Moderate, 10–14)" in html
    assert "Priority: call back today." in html
    assert ScreenQuestion.objects.get(key="pregnancy").explanation in html
    assert "Thoughts that you would be better off dead or of hurting yourself" in html
    event = AuditEvent.objects.get(action=AuditAction.VIEW)
    assert event.reference == shared_request.reference
    assert event.detail == "with the shared self-check answers"


def test_manager_sees_the_answers_too(client, shared_request):
    client.force_login(staff("Clinic managers", "morgan"))
    assert "PHQ-9 score: 14 of 27" in client.get(change_url(shared_request)).content.decode()


@pytest.mark.parametrize("group", ["Content editors", "Medical reviewers"])
def test_editors_and_reviewers_get_403_on_the_answers(client, shared_request, group):
    client.force_login(staff(group, "eddie"))
    for url in (change_url(shared_request), CHANGELIST):
        response = client.get(url)
        assert response.status_code == 403
        assert "PHQ-9" not in response.content.decode()
    assert not AuditEvent.objects.exists()


def test_request_viewers_without_the_answers_permission_do_not_see_them(client, shared_request):
    viewer = UserFactory(username="viewer")
    viewer.user_permissions.add(Permission.objects.get(codename="view_consultationrequest"))
    client.force_login(viewer)
    html = client.get(change_url(shared_request)).content.decode()
    assert "PHQ-9" not in html and "Self-check shared" not in html
    assert AuditEvent.objects.get().detail == ""


def test_priority_requests_sort_first_while_new(client, shared_request):
    later = ConsultationRequestFactory()
    client.force_login(staff("Intake coordinators", "casey"))
    html = client.get(CHANGELIST).content.decode()
    assert html.index(shared_request.reference) < html.index(later.reference)
    assert html.count("Call back today") == 1
    shared_request.status = Status.CONTACTED
    shared_request.save()
    html = client.get(CHANGELIST).content.decode()
    assert html.index(later.reference) < html.index(shared_request.reference)
    assert "Call back today" not in html


def test_staff_email_says_priority_and_carries_no_answer(
    client, slot, mailoutbox, django_capture_on_commit_callbacks
):
    token = take_self_check(client, items=items_for(20, item9=3), screen={"pregnancy": "yes"})
    with django_capture_on_commit_callbacks(execute=True):
        book_sharing(client, slot, token)
    assert len(mailoutbox) == 2
    notice = next(m for m in mailoutbox if "New consultation request" in m.subject)
    assert notice.subject.startswith("Priority: ")
    assert "Priority: please call this patient back today." in notice.body
    for message in mailoutbox:
        content = message.subject + message.body
        for private in ("PHQ", "Severe", "pregnan", "self-harm", "hurting", "dead"):
            assert private not in content, (private, message.subject)


def test_staff_email_without_priority_is_unchanged(
    client, slot, mailoutbox, django_capture_on_commit_callbacks
):
    token = take_self_check(client)
    with django_capture_on_commit_callbacks(execute=True):
        book_sharing(client, slot, token)
    notice = next(m for m in mailoutbox if "New consultation request" in m.subject)
    assert not notice.subject.startswith("Priority") and "Priority" not in notice.body


def test_the_purge_removes_the_answers_with_the_request(shared_request):
    ConsultationRequest.objects.filter(pk=shared_request.pk).update(
        status=Status.COMPLETED, status_changed_at=timezone.now() - timedelta(days=400)
    )
    assert consultation_requests_purge(older_than_days=365) == 1
    assert SharedSelfCheck.objects.count() == 0


# --- the screen questions in the admin --------------------------------------------


def test_reviewer_rewords_a_question_but_cannot_add_or_delete(client):
    client.force_login(staff("Medical reviewers", "riley"))
    question = ScreenQuestion.objects.get(key="pregnancy")
    url = reverse("admin:consultations_screenquestion_change", args=[question.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"text": "Are you pregnant or nursing?", "explanation": "Why."})
    assert response.status_code == 302
    question.refresh_from_db()
    assert question.text == "Are you pregnant or nursing?"
    assert question.concern_answer == "yes"
    assert client.get(reverse("admin:consultations_screenquestion_add")).status_code == 403
    delete = reverse("admin:consultations_screenquestion_delete", args=[question.pk])
    assert client.get(delete).status_code == 403


@pytest.mark.parametrize(
    ("group", "status"), [("Content editors", 403), ("Intake coordinators", 403)]
)
def test_other_roles_cannot_edit_the_questions(client, group, status):
    client.force_login(staff(group, "other"))
    url = reverse("admin:consultations_screenquestion_changelist")
    assert client.get(url).status_code == status


def test_no_admin_page_lists_shared_answers_on_their_own(client):
    client.force_login(UserFactory(is_superuser=True))
    assert client.get("/admin/consultations/sharedselfcheck/").status_code == 404


# --- nothing in URLs or logs ------------------------------------------------------


def test_no_answer_in_any_url_or_log_line(
    client, slot, caplog, mailoutbox, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.DEBUG)
    urls = []
    token = take_self_check(client, items=items_for(21, item9=3), screen={"pregnancy": "yes"})
    _response, tokens = start_booking(client, token)
    with django_capture_on_commit_callbacks(execute=True):
        response = submit(client, slot, tokens=tokens, self_check=token, share_self_check="on")
    assert len(mailoutbox) == 2
    urls.append(response["Location"])
    urls.append(client.get(response["Location"]).wsgi_request.get_full_path())
    client.force_login(staff("Intake coordinators", "casey"))
    request = ConsultationRequest.objects.get()
    client.get(change_url(request))
    urls += [change_url(request), CHANGELIST]
    assert all("?" not in url for url in urls), urls
    logged = caplog.text + "".join(m.body for m in mailoutbox)
    assert token not in logged and token[:20] not in " ".join(urls)
    for private in ("item_", "screen_", "PHQ", "pregnan", "Severe", "better off dead"):
        assert private not in logged, private


def test_a_mistake_elsewhere_keeps_the_shared_answers_for_the_next_send(client, slot):
    token = take_self_check(client, items=items_for(10, item9=1))
    _response, tokens = start_booking(client, token)
    fields = {"self_check": token, "share_self_check": "on"}
    response = submit(client, slot, tokens=tokens, email="not-an-email", **fields)
    html = response.content.decode()
    assert response.status_code == 200 and f'name="self_check" value="{token}"' in html
    assert 'id="id_share_self_check" checked' in html
    form = response.context["form"]
    tokens = {"form_token": form["form_token"].value()}
    assert submit(client, slot, tokens=tokens, **fields).status_code == 302
    assert SharedSelfCheck.objects.get().call_back_today
