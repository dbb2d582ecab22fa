"""`email_review_due`: the weekly reminder of articles due for clinical review."""

import datetime
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core.management import call_command

from tests.factories import ArticleFactory, UserFactory

pytestmark = pytest.mark.django_db

ZONE = ZoneInfo("America/New_York")
TODAY = datetime.datetime(2026, 12, 2, 10, 0, tzinfo=ZONE)  # a Wednesday


@pytest.fixture
def reviewer():
    call_command("setup_roles", stdout=StringIO(), stderr=StringIO())
    user = UserFactory(email="riley@clinic.example")
    user.groups.add(Group.objects.get(name="Medical reviewers"))
    UserFactory(email="eden@clinic.example").groups.add(Group.objects.get(name="Content editors"))
    return user


@time_machine.travel(TODAY)
def test_reviewers_get_the_articles_due_within_30_days(reviewer, mailoutbox):
    ArticleFactory(title="Overdue one", next_review_due=datetime.date(2026, 11, 1))
    ArticleFactory(title="Due soon", next_review_due=datetime.date(2026, 12, 30))
    ArticleFactory(title="Due later", next_review_due=datetime.date(2027, 1, 5))
    ArticleFactory(title="A draft", draft=True, next_review_due=datetime.date(2026, 12, 3))
    out = StringIO()
    call_command("email_review_due", stdout=out)
    (email,) = mailoutbox
    assert email.to == ["riley@clinic.example"]
    assert email.subject == "2 articles due for review"
    assert "Overdue one: review due Sunday, November 1, 2026 (overdue)" in email.body
    assert "Due soon: review due Wednesday, December 30, 2026" in email.body
    assert "Due later" not in email.body and "A draft" not in email.body
    assert "https://clinic.example/admin/education/article/" in email.body
    assert "Sent “2 articles due for review” to 1 reviewer(s)." in out.getvalue()


@time_machine.travel(TODAY)
def test_dry_run_sends_nothing_and_nothing_due_sends_nothing(reviewer, mailoutbox):
    ArticleFactory(title="Due soon", next_review_due=datetime.date(2026, 12, 10))
    out = StringIO()
    call_command("email_review_due", "--dry-run", stdout=out)
    assert mailoutbox == [] and "Due soon" in out.getvalue() and "Dry run" in out.getvalue()
    call_command("email_review_due", "--days", "3", stdout=out)
    assert mailoutbox == [] and "No article is due for review" in out.getvalue()
