"""Times as patients read them: in the clinic's zone, with the zone named."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from django.utils.formats import date_format

# Friendly names for the zones a US clinic is likely to be in; others fall back to the
# zone's abbreviation (for example "CET").
FRIENDLY_ZONE_NAMES = {
    "America/New_York": "Eastern time",
    "America/Detroit": "Eastern time",
    "America/Indiana/Indianapolis": "Eastern time",
    "America/Chicago": "Central time",
    "America/Denver": "Mountain time",
    "America/Boise": "Mountain time",
    "America/Phoenix": "Arizona time",
    "America/Los_Angeles": "Pacific time",
    "America/Anchorage": "Alaska time",
    "Pacific/Honolulu": "Hawaii time",
    "America/Puerto_Rico": "Atlantic time",
}


def clinic_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def clinic_zone_name(when: datetime | None = None) -> str:
    friendly = FRIENDLY_ZONE_NAMES.get(settings.TIME_ZONE)
    if friendly:
        return friendly
    return timezone.localtime(when or timezone.now(), clinic_zone()).tzname() or settings.TIME_ZONE


def format_clinic_day(when: datetime) -> str:
    """'Tuesday, March 3': the day in the clinic's zone."""
    return format_day(timezone.localtime(when, clinic_zone()).date())


def format_clinic_clock(when: datetime) -> str:
    """'2:30 pm'."""
    local = timezone.localtime(when, clinic_zone())
    hour = local.hour % 12 or 12
    return f"{hour}:{local.minute:02d} {'am' if local.hour < 12 else 'pm'}"


def format_clinic_time(when: datetime) -> str:
    """'Tuesday, March 3, 2:30 pm Eastern time'."""
    return f"{format_clinic_day(when)}, {format_clinic_clock(when)} {clinic_zone_name(when)}"


def format_day(day: date) -> str:
    """'Wednesday, December 2': a calendar day as US readers write it (MONTH_DAY_FORMAT in
    clinic/formats/en/formats.py)."""
    return date_format(day, "MONTH_DAY_FORMAT")
