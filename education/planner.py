"""The integration planner: a day-by-day plan and a calendar file, computed from one POST.

Nothing the patient enters is stored, logged, cached or put in a URL: the dates of a
treatment series are health information. The plan runs from the first session to a week
after the last; each day counts the days since the most recent session, and staff decide
in the admin which supports and prompts suit which of those days (`PlannerItem`).
"""

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone
from icalendar import Calendar, Event

from clinic.models import ClinicDetails
from consultations.formatting import clinic_zone, format_day
from education.models import PlannerItem

# Session days as offsets from the first session. The series article's example: six
# sessions, about two a week, over two to three weeks (Mondays and Thursdays), or three a
# week for two weeks as in the early trials.
SERIES_PATTERNS: dict[str, tuple[str, tuple[int, ...]]] = {
    "twice_weekly": ("Twice a week for three weeks (6 sessions)", (0, 3, 7, 10, 14, 17)),
    "three_weekly": ("Three times a week for two weeks (6 sessions)", (0, 2, 4, 7, 9, 11)),
}
OWN_DATES = "own_dates"
DAYS_AFTER_SERIES = 7
TREATMENT_DAY_TITLE = "Appointment"
REMINDER_MINUTES = 15


@dataclass
class PlanDay:
    day: date
    days_after: int  # days since the most recent session; 0 on a treatment day
    session: int | None = None  # 1 for the first session, and so on
    items: list[PlannerItem] = field(default_factory=list)
    prompt: PlannerItem | None = None

    @property
    def label(self) -> str:
        return format_day(self.day)


def series_dates(*, first: date, pattern: str, own_dates: list[date]) -> list[date]:
    if pattern == OWN_DATES:
        return sorted({first, *own_dates})
    return [first + timedelta(days=offset) for offset in SERIES_PATTERNS[pattern][1]]


def plan_build(
    *,
    sessions: list[date],
    supports: list[PlannerItem],
    treatment_items: list[PlannerItem],
    weekdays: set[int],
    prompts: list[PlannerItem],
) -> list[PlanDay]:
    """One PlanDay from the first session to DAYS_AFTER_SERIES days after the last."""
    session_numbers = {day: number for number, day in enumerate(sessions, start=1)}
    days: list[PlanDay] = []
    last_session = sessions[0]
    day = sessions[0]
    prompt_turn = 0
    while day <= sessions[-1] + timedelta(days=DAYS_AFTER_SERIES):
        if day in session_numbers:
            last_session = day
        after = (day - last_session).days
        plan_day = PlanDay(day=day, days_after=after, session=session_numbers.get(day))
        if plan_day.session:
            plan_day.items = list(treatment_items)
        plan_day.items += [
            item
            for item in supports
            if item.first_day <= after <= item.last_day
            and (not item.on_chosen_weekdays or day.weekday() in weekdays)
        ]
        suitable = [p for p in prompts if p.first_day <= after <= p.last_day]
        if suitable:
            plan_day.prompt = suitable[prompt_turn % len(suitable)]
            prompt_turn += 1
        days.append(plan_day)
        day += timedelta(days=1)
    return days


def _uid(*parts) -> str:
    """Stable for the same plan, so importing it again updates the events, not doubles them."""
    host = urlsplit(settings.CLINIC_SITE_URL).hostname or "localhost"
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:32]
    return f"plan-{digest}@{host}"


def plan_ics(plan: list[PlanDay]) -> bytes:
    """Treatment days as all-day "Appointment" events; each support as an all-day event, or
    a short reminder at its time of day in the clinic's zone. Titles stay neutral."""
    clinic = ClinicDetails.objects.cached()
    calendar = Calendar()
    calendar.add("prodid", f"-//{clinic.name}//Planner//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    first = plan[0].day
    stamp = timezone.now()
    for plan_day in plan:
        if plan_day.session:
            notes = [
                item.text or item.label for item in plan_day.items if item.kind == "treatment_day"
            ]
            calendar.add_component(
                _event(
                    _uid(first, plan_day.day, "session"),
                    stamp,
                    TREATMENT_DAY_TITLE,
                    plan_day.day,
                    " ".join(notes),
                )
            )
        for item in plan_day.items:
            if item.kind == PlannerItem.Kind.PRACTICE:
                title = item.calendar_title or item.label
                start = (
                    datetime.combine(plan_day.day, item.time_of_day, tzinfo=clinic_zone())
                    if item.time_of_day
                    else plan_day.day
                )
                calendar.add_component(
                    _event(_uid(first, plan_day.day, item.slug), stamp, title, start, item.text)
                )
    calendar.add_missing_timezones(first_date=first, last_date=plan[-1].day + timedelta(days=1))
    return calendar.to_ical()


def _event(uid: str, stamp: datetime, title: str, start, description: str) -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("summary", title)
    event.add("dtstart", start)
    if isinstance(start, datetime):
        event.add("dtend", start + timedelta(minutes=REMINDER_MINUTES))
    else:
        event.add("dtend", start + timedelta(days=1))
    if description:
        event.add("description", description)
    event.add("transp", "TRANSPARENT")
    return event
