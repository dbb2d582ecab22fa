"""The integration planner over HTTP: a plan and a calendar file from one POST, nothing kept."""

import datetime
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse
from icalendar import Calendar

from education.models import PlannerItem
from tests.factories import ArticleFactory, PlannerItemFactory, role_member

pytestmark = pytest.mark.django_db
URL = reverse("education:planner")
NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(datetime.datetime(2027, 2, 20, 10, tzinfo=NEW_YORK), tick=False):
        yield


@pytest.fixture
def items():
    return {
        "sleep": PlannerItemFactory(
            label="Sleep routine",
            calendar_title="Evening wind-down",
            first_day=0,
            time_of_day=datetime.time(21, 30),
        ),
        "walk": PlannerItemFactory(label="Walk", calendar_title="Walk"),
        "friend": PlannerItemFactory(label="See a friend", last_day=2),
        "therapy": PlannerItemFactory(
            label="Therapy sessions", calendar_title="Session", on_chosen_weekdays=True
        ),
        "ride": PlannerItemFactory(
            kind="treatment_day", label="Arrange a ride home", first_day=0, last_day=0
        ),
        "prompt_a": PlannerItemFactory(kind="prompt", label="Notice one easier thing.", order=1),
        "prompt_b": PlannerItemFactory(kind="prompt", label="Name one small step.", order=2),
    }


def plan(client, **data):
    return client.post(URL, {"pattern": "twice_weekly", **data})


def ics(client, **data):
    response = plan(client, download="1", **data)
    assert response["Content-Type"].startswith("text/calendar")
    return Calendar.from_ical(response.content)


def events(calendar):
    return list(calendar.walk("VEVENT"))


def test_form_page_is_public_and_offers_every_field(client, items):
    response = client.get(URL)
    assert response.status_code == 200
    assert "Set-Cookie" not in response
    html = response.content.decode()
    for name in ["first_date", "pattern", "session_2", "supports", "weekdays", "treatment_items"]:
        assert f'name="{name}"' in html
    assert 'type="date"' in html
    for item in PlannerItem.objects.exclude(kind="prompt"):
        assert item.label in html


def test_twice_weekly_plan_lists_each_day_with_its_sessions(client, items):
    response = plan(
        client,
        first_date="2027-03-01",
        supports=[items["walk"].pk, items["friend"].pk],
        treatment_items=[items["ride"].pk],
    )
    html = response.content.decode()
    assert response.status_code == 200
    # Mondays and Thursdays for three weeks, then a week after the last session.
    assert "Monday, March 1" in html and "Thursday, March 18" in html
    assert "Thursday, March 25" in html and "Friday, March 26" not in html
    assert html.count("<strong>Session ") == 6
    assert html.count("Arrange a ride home") == 6
    # "See a friend" suits days 1-2 after a session: Tue, Wed after each Monday, Fri, Sat
    # after each Thursday, and the days after the last.
    assert html.count("See a friend") == 12
    assert "Notice one easier thing." in html and "Name one small step." in html
    assert "What comes after the series" in html
    assert "If you feel much worse" in html


def test_plan_and_file_are_never_kept(client, items):
    response = plan(client, first_date="2027-03-01")
    assert "no-store" in response["Cache-Control"]
    assert "Set-Cookie" not in response
    assert ics(client, first_date="2027-03-01")  # same POST gives the file
    response = plan(client, first_date="2027-03-01", download="1")
    assert "no-store" in response["Cache-Control"]
    assert "2027" not in response.get("Content-Disposition", "")


def test_three_weekly_pattern_and_own_dates(client, items):
    html = plan(client, first_date="2027-03-01", pattern="three_weekly").content.decode()
    assert html.count("<strong>Session ") == 6
    assert "Friday, March 12" in html  # the sixth session: day 11
    own = plan(
        client,
        first_date="2027-03-01",
        pattern="own_dates",
        session_2="03/05/2027",  # typed, as a browser without a date picker sends it
        session_3="2027-03-15",
    ).content.decode()
    assert own.count("<strong>Session ") == 3
    assert "Friday, March 5" in own and "Monday, March 22" in own


def test_ics_has_neutral_titles_and_right_dates(client, items):
    calendar = ics(
        client,
        first_date="2027-03-01",
        supports=[items["sleep"].pk, items["walk"].pk],
        treatment_items=[items["ride"].pk],
    )
    found = events(calendar)
    titles = {str(event["SUMMARY"]) for event in found}
    assert titles == {"Appointment", "Evening wind-down", "Walk"}
    body = calendar.to_ical().decode().lower()
    assert "ketamine" not in body and "treatment" not in body
    sessions = sorted(e.decoded("DTSTART") for e in found if str(e["SUMMARY"]) == "Appointment")
    assert sessions[0] == datetime.date(2027, 3, 1) and len(sessions) == 6
    # 25 days; the wind-down every day, the walk on every day but the 6 session days.
    assert len(found) == 6 + 25 + 19
    assert len({str(e["UID"]) for e in found}) == len(found)


def test_timed_reminders_stay_at_local_time_across_daylight_saving(client, items):
    # New York moves its clocks forward on Sunday, March 14, 2027.
    calendar = ics(client, first_date="2027-03-08", supports=[items["sleep"].pk])
    reminders = {
        e.decoded("DTSTART").date(): e.decoded("DTSTART")
        for e in events(calendar)
        if str(e["SUMMARY"]) == "Evening wind-down"
    }
    before, after = reminders[datetime.date(2027, 3, 13)], reminders[datetime.date(2027, 3, 14)]
    assert before.hour == after.hour == 21 and before.minute == 30
    assert before.utcoffset() == datetime.timedelta(hours=-5)
    assert after.utcoffset() == datetime.timedelta(hours=-4)
    assert calendar.walk("VTIMEZONE")


def test_plan_crosses_the_end_of_a_month(client, items):
    html = plan(client, first_date="2027-02-22").content.decode()
    # Sessions Feb 22, 25, Mar 1, 4, 8, 11: February has 28 days in 2027.
    assert "Sunday, February 28" in html and "Monday, March 1" in html
    assert "February 29" not in html and html.count("<strong>Session ") == 6


def test_therapy_days_need_weekdays_and_follow_them(client, items):
    response = plan(client, first_date="2027-03-01", supports=[items["therapy"].pk])
    html = response.content.decode()
    assert "Choose the days of your sessions" in html
    assert 'href="#id_weekdays_0"' in html
    assert 'value="2027-03-01"' in html  # what was typed is kept
    html = plan(
        client, first_date="2027-03-01", supports=[items["therapy"].pk], weekdays=["2"]
    ).content.decode()
    assert html.count("Therapy sessions.") == 4  # the Wednesdays from March 3 to March 24


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"first_date": ""}, "Enter the date of your first session."),
        ({"first_date": "13/45/2027"}, "Enter a real date"),
        ({"first_date": "2029-01-01"}, "Enter a date between"),
        ({"first_date": "2027-03-01", "pattern": "own_dates"}, "date of your second session"),
        (
            {"first_date": "2027-03-01", "pattern": "own_dates", "session_2": "2027-02-01"},
            "after your first session",
        ),
    ],
)
def test_bad_input_gets_a_clear_message_and_keeps_what_was_typed(client, items, data, message):
    response = plan(client, **data)
    html = response.content.decode()
    assert response.status_code == 200
    assert message in html
    assert "error-summary" in html
    for value in data.values():
        if value and value not in ("own_dates",):
            assert f'value="{value}"' in html


def test_change_my_answers_brings_the_form_back_filled_in(client, items):
    html = plan(
        client, first_date="2027-03-01", supports=[items["walk"].pk], edit="1"
    ).content.decode()
    assert 'value="2027-03-01"' in html
    walk = re.search(rf'<input[^>]*name="supports" value="{items["walk"].pk}"[^>]*>', html)
    friend = re.search(rf'<input[^>]*name="supports" value="{items["friend"].pk}"[^>]*>', html)
    assert "checked" in walk.group(0) and "checked" not in friend.group(0)
    assert "error-summary" not in html.split("</head>")[1]  # the inline CSS names it too


def test_plan_page_reposts_its_own_values_for_the_calendar_file(client, items):
    html = plan(client, first_date="2027-03-01", supports=[items["walk"].pk]).content.decode()
    assert '<input type="hidden" name="first_date" value="2027-03-01">' in html
    assert f'<input type="hidden" name="supports" value="{items["walk"].pk}">' in html
    assert 'name="download"' in html


def test_items_link_to_the_article_section_that_explains_them(client):
    article = ArticleFactory(slug="after")
    PlannerItemFactory(label="Walk", article=article, section="gentle-movement")
    walk = PlannerItem.objects.get()
    html = plan(client, first_date="2027-03-01", supports=[walk.pk]).content.decode()
    assert 'href="/articles/after/#gentle-movement"' in html


def test_sample_lines_link_to_sections_that_exist(client):
    call_command("load_sample_content", verbosity=0)
    linked = PlannerItem.objects.exclude(article=None)
    assert linked.count() >= 10
    for item in linked:
        assert f'id="{item.section}"' in item.article.body_html, item.slug


@pytest.mark.parametrize(
    ("role", "status"), [("Content editors", 200), ("Intake coordinators", 403)]
)
def test_editors_write_the_planner_lines_in_the_admin(client, items, role, status):
    client.force_login(role_member(role))
    for url in [
        reverse("admin:education_planneritem_changelist"),
        reverse("admin:education_planneritem_add"),
        reverse("admin:education_planneritem_change", args=[items["walk"].pk]),
    ]:
        assert client.get(url).status_code == status, url


def test_kept_form_page_shows_a_staff_edit_at_once(client, items, settings):
    settings.CLINIC_PAGE_CACHE = True
    assert "Walk" in client.get(URL).content.decode()
    items["walk"].label = "A short walk outside"
    items["walk"].save()
    assert "A short walk outside" in client.get(URL).content.decode()


def test_sitemap_lists_the_planner(client):
    assert URL in client.get(reverse("education:sitemap")).content.decode()
