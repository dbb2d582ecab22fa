"""The staff agenda: a day's or a week's consultations per clinician, in the clinic's zone.

A plain admin page (GET only, no JavaScript) for intake coordinators and clinicians. It
shows each consultation's time, length, modality, location, reference and status, and
no patient free text: no name, note or preferred times. A clinician linked to a staff
account sees their own by default; anyone allowed may choose another or all.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import groupby

from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from consultations.formatting import (
    clinic_zone,
    clinic_zone_name,
    format_clinic_clock,
    format_day,
)
from consultations.models import (
    PLACE_FREEING_STATUSES,
    AuditAction,
    Clinician,
    ConsultationRequest,
    clinic_day_start,
)
from consultations.services import audit_event_record

SPANS = {"day": 1, "week": 7}
ALL = "all"


def own_clinician(user) -> Clinician | None:
    """The active clinician this staff account belongs to, if any."""
    if not user.is_authenticated:
        return None
    return Clinician.objects.active().filter(user=user).first()


def agenda_allowed(user) -> bool:
    """Intake coordinators (and anyone who may see requests) and clinicians themselves."""
    return user.has_perm("consultations.view_consultationrequest") or (
        own_clinician(user) is not None
    )


def agenda_url(*, day: date | None = None, span: str = "day", clinician="") -> str:
    params = [f"span={span}"]
    if day is not None:
        params.append(f"day={day.isoformat()}")
    if clinician:
        params.append(f"clinician={clinician}")
    return reverse("admin:consultations_agenda") + "?" + "&".join(params)


@dataclass
class ClinicianDay:
    clinician: Clinician
    rows: list = field(default_factory=list)


@dataclass
class AgendaDay:
    day: date
    label: str
    clinicians: list[ClinicianDay] = field(default_factory=list)


def _chosen_day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return clinic_day_start().date()


def agenda_view(request, admin_site):
    if not agenda_allowed(request.user):
        raise PermissionDenied
    span = request.GET.get("span") if request.GET.get("span") in SPANS else "day"
    day = _chosen_day(request.GET.get("day", ""))
    first_day = day - timedelta(days=day.weekday()) if span == "week" else day
    days = SPANS[span]
    mine = own_clinician(request.user)
    chosen = request.GET.get("clinician") or (str(mine.pk) if mine else ALL)
    clinicians = list(Clinician.objects.all())
    shown = next((c for c in clinicians if str(c.pk) == chosen), None)
    if shown is None:
        chosen = ALL

    consultations = (
        ConsultationRequest.objects.for_days(first_day, days)
        .exclude(status__in=PLACE_FREEING_STATUSES)
        .select_related("slot__clinician", "slot__location")
        .order_by("slot__starts_at", "slot__clinician__display_name", "slot__clinician_id")
    )
    if shown is not None:
        consultations = consultations.filter(slot__clinician=shown)
    consultations = list(consultations)
    can_open = request.user.has_perm("consultations.view_consultationrequest")
    zone = clinic_zone()

    agenda = []
    for offset in range(days):
        current = first_day + timedelta(days=offset)
        agenda.append(AgendaDay(day=current, label=format_day(current)))
    by_day = {entry.day: entry for entry in agenda}
    for local_day, items in groupby(
        consultations, key=lambda r: timezone.localtime(r.slot.starts_at, zone).date()
    ):
        entry = by_day[local_day]
        per_clinician: dict[int, ClinicianDay] = {}
        for item in items:
            slot = item.slot
            group = per_clinician.setdefault(slot.clinician_id, ClinicianDay(slot.clinician))
            group.rows.append(
                {
                    "time": format_clinic_clock(slot.starts_at),
                    "minutes": slot.duration_minutes,
                    "modality": slot.get_modality_display(),
                    "location": slot.location.name if slot.location else "",
                    "reference": item.reference,
                    "url": reverse("admin:consultations_consultationrequest_change", args=[item.pk])
                    if can_open
                    else "",
                    "status": item.get_status_display(),
                }
            )
        entry.clinicians = sorted(
            per_clinician.values(), key=lambda g: (g.clinician.display_name, g.clinician.pk)
        )

    who = str(shown) if shown else "all clinicians"
    audit_event_record(
        http_request=request,
        action=AuditAction.LIST,
        count=len(consultations),
        detail=f"agenda: {span} from {first_day.isoformat()}, {who}"[:200],
    )
    step = timedelta(days=days)
    context = {
        **admin_site.each_context(request),
        "title": "Agenda",
        "agenda": agenda,
        "span": span,
        "day": first_day,
        "chosen": chosen,
        "clinicians": clinicians,
        "mine": mine,
        "shown": shown,
        "count": len(consultations),
        "zone_name": clinic_zone_name(),
        "earlier_url": agenda_url(day=first_day - step, span=span, clinician=chosen),
        "later_url": agenda_url(day=first_day + step, span=span, clinician=chosen),
        "today_url": agenda_url(span=span, clinician=chosen),
        "heading": (
            f"Week of {format_day(first_day)}" if span == "week" else format_day(first_day)
        ),
    }
    response = TemplateResponse(request, "admin/consultations/agenda.html", context)
    response["Cache-Control"] = "no-store"
    return response
