"""The patient's booking flow: the form, the confirmation page and the manage link."""

from datetime import timedelta
from functools import wraps

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_safe
from django_ratelimit.core import get_usage

from consultations.calendar_files import consultation_ics
from consultations.formatting import clinic_zone_name
from consultations.forms import (
    LIMIT_MESSAGE,
    TAKEN_MESSAGE,
    BookingForm,
    MoveForm,
    WaitlistForm,
    state_code,
)
from consultations.models import AuditAction, Clinician, ConsultationRequest, StaffCalendarFeed
from consultations.services import (
    DuplicateSubmission,
    SlotUnavailable,
    TooLateToChange,
    audit_event_record,
    consultation_request_cancel_by_patient,
    consultation_request_create,
    consultation_request_move,
)
from consultations.staff_calendar import feed_allowed, staff_calendar_ics
from consultations.tokens import (
    form_token_issue,
    manage_token_read,
    requested_just_sent,
    requested_recall,
    requested_remember,
    requested_start_new_form,
)
from consultations.us_states import US_STATES
from consultations.waitlist import (
    leave_token_make,
    leave_token_read,
    offer_token_read,
    offer_week,
    waitlist_entry_create,
    waitlist_entry_leave,
    waitlist_entry_leave_after_booking,
    waitlist_offer_remember,
)


def _limit_reached(request, group: str, rate: str, *, count: bool = False) -> bool:
    """Whether this client address has used up `rate` ("5/h"; "off": never) in `group`;
    with count=True this request counts towards it first. Counted in the shared cache."""
    if rate.strip().lower() == "off":
        return False
    usage = get_usage(request, group=group, key="ip", rate=rate, increment=count)
    # Counting, this request is one of them; only looking, one more must still fit.
    return usage["should_limit"] if count else usage["count"] >= usage["limit"]


def _posts_limit_reached(request) -> bool:
    """Every POST counts (mistakes too): the ceiling against floods."""
    return _limit_reached(request, "booking-posts", settings.CLINIC_BOOKING_POST_LIMIT, count=True)


def _requests_limit_reached(request, *, count: bool = False) -> bool:
    """Only requests sent count."""
    return _limit_reached(
        request, "booking-requests", settings.CLINIC_BOOKING_RATE_LIMIT, count=count
    )


def _email_limit_reached(email: str) -> bool:
    limit = settings.CLINIC_BOOKING_EMAIL_LIMIT
    if not limit:
        return False
    since = timezone.now() - timedelta(days=1)
    return ConsultationRequest.objects.sent_with_email(email, since=since).count() >= limit


def _render_form(request, form, *, status=200, limited=False):
    # A form shown again keeps its one-time token, and so the moment it was first served,
    # unless the token was refused: then it gets a new one.
    if not form.is_bound and form.form_token_age() is None:
        form.initial["form_token"] = form_token_issue(request.session)
    elif form.form_token_age() is None:
        form.data = form.data.copy()
        form.data["form_token"] = form_token_issue(request.session)
    state = form.patient_state
    context = {
        "form": form,
        "states": US_STATES,
        "patient_state": state,
        "patient_state_name": dict(US_STATES).get(state, ""),
        "licensed_here": bool(state) and Clinician.objects.licensed_in(state).exists(),
        "taken": form.has_error("slot", "taken"),
        "limited": limited,
        "next_times": form.fields["slot"].slots[:3],
        "zone_name": clinic_zone_name(),
    }
    return render(request, "consultations/book.html", context, status=status)


def _already_sent(request, consultation_request):
    """The answer to a form that was already sent: its request, never a second one."""
    requested_remember(request.session, consultation_request)
    return render(
        request, "consultations/already_sent.html", {"consultation_request": consultation_request}
    )


@never_cache
@sensitive_post_parameters()
@require_http_methods(["GET", "POST"])
def book(request):
    if request.method == "GET":
        if "new" in request.GET:
            requested_start_new_form(request.session)
            return redirect("consultations:book")
        just_sent = requested_just_sent(request.session)
        if just_sent is not None:
            # Back from the confirmation: the page the patient left is gone, and a browser
            # would fill the new one in by position, on a list that has lost their time.
            return _already_sent(request, just_sent)
        # The state first (a short GET step above the form): the times shown are then
        # only those legal there, and the form's state box starts with it.
        state = state_code(request.GET.get("state"))
        initial = {"state": state} if state else {}
        return _render_form(request, BookingForm(initial=initial, session=request.session))
    if "self_check_start" in request.POST:
        # From the self-check's result page: the form, carrying the answers to share.
        shared = {"self_check": request.POST.get("self_check", "")[:4000], "share_self_check": True}
        return _render_form(request, BookingForm(initial=shared, session=request.session))

    flooded = _posts_limit_reached(request)
    form = BookingForm(request.POST, session=request.session)
    if "week" in request.POST and not flooded:
        # Earlier or later times: the answers so far shown again, nothing checked or sent.
        week = request.POST["week"]
        return _render_form(request, form.carried_over(week=week))
    valid = form.is_valid()
    # Looked up after the checks: a form sent twice finds its first request even when that
    # request took the slot's last place (which the checks then call taken).
    first = ConsultationRequest.objects.made_with_form_token(request.POST.get("form_token", ""))
    if first is not None:
        return _already_sent(request, first)
    if flooded or (
        valid
        and (_requests_limit_reached(request) or _email_limit_reached(form.cleaned_data["email"]))
    ):
        # Nothing is sent; everything typed stays, with the clinic's number (the page).
        form.add_error(None, forms.ValidationError(LIMIT_MESSAGE, code="limit"))
        return _render_form(request, form, status=429, limited=True)
    if valid:
        try:
            consultation_request = consultation_request_create(**form.request_fields())
        except DuplicateSubmission as duplicate:
            return _already_sent(request, duplicate.existing)
        except SlotUnavailable:
            form.add_error("slot", forms.ValidationError(TAKEN_MESSAGE, code="taken"))
        else:
            _requests_limit_reached(request, count=True)
            waitlist_entry_leave_after_booking(request.session)
            requested_remember(request.session, consultation_request)
            return redirect("consultations:requested")
    return _render_form(request, form)


@never_cache
def requested(request):
    consultation_request = requested_recall(request.session)
    if consultation_request is None:
        return redirect("consultations:book")
    return render(
        request, "consultations/requested.html", {"consultation_request": consultation_request}
    )


@never_cache
def requested_ics(request):
    consultation_request = requested_recall(request.session)
    if consultation_request is None or consultation_request.slot is None:
        raise Http404
    response = HttpResponse(consultation_ics(consultation_request), content_type="text/calendar")
    response["Content-Disposition"] = 'attachment; filename="consultation.ics"'
    return response


def _keeps_token_private(view):
    """For pages whose address carries the manage token: never hand it on in a Referer,
    not even to this site's own pages (a proxy in front may log referrers). Only the
    origin goes; "no-referrer" would also make browsers send `Origin: null`, which CSRF
    refuses. Never cached, so Back after a change shows the request as it is now."""

    @wraps(view)
    def wrapper(request, token):
        response = view(request, token)
        response["Referrer-Policy"] = "strict-origin"
        return response

    return never_cache(wrapper)


@_keeps_token_private
@require_http_methods(["GET", "HEAD", "POST"])
def manage(request, token):
    consultation_request = manage_token_read(token)
    if consultation_request is None:
        return render(request, "consultations/link_invalid.html", status=404)
    closed_reason = consultation_request.self_service_closed_reason()
    move_form = MoveForm(
        request.POST if request.POST.get("action") == "move" else None,
        current_slot=consultation_request.slot,
        state=consultation_request.state,
    )
    context = {
        "consultation_request": consultation_request,
        "closed_reason": closed_reason,
        "move_form": move_form,
        "cutoff_hours": settings.CLINIC_SELF_SERVICE_CUTOFF_HOURS,
        "token": token,
    }
    if request.method != "POST" or closed_reason:
        return render(request, "consultations/manage.html", context)

    action = request.POST.get("action")
    if action == "cancel":
        # Sent from a page shown before cancelling asked first: ask now.
        return redirect("consultations:manage_cancel", token=token)
    if action != "move":
        return render(request, "consultations/manage.html", context, status=400)
    if not move_form.is_valid():
        return render(request, "consultations/manage.html", context)
    try:
        consultation_request_move(
            consultation_request=consultation_request, new_slot=move_form.cleaned_data["slot"]
        )
    except SlotUnavailable:
        move_form.add_error("slot", TAKEN_MESSAGE)
        return render(request, "consultations/manage.html", context)
    except TooLateToChange:
        pass
    else:
        messages.success(request, "Your request is moved. We have emailed you the new time.")
    return redirect("consultations:manage", token=token)


@_keeps_token_private
@require_http_methods(["GET", "HEAD", "POST"])
def manage_cancel(request, token):
    """The page that asks "Cancel your consultation on …?", and its "Yes, cancel it".
    Asked for again after the cancel (Back), it sends the patient to the manage page,
    which says it is cancelled; the same form sent twice cancels once."""
    consultation_request = manage_token_read(token)
    if consultation_request is None:
        return render(request, "consultations/link_invalid.html", status=404)
    if request.method == "POST":
        try:
            consultation_request_cancel_by_patient(consultation_request=consultation_request)
        except TooLateToChange:
            pass  # already cancelled, or too soon: the manage page says which
        else:
            messages.success(
                request,
                "Your request is cancelled. We will email you to confirm it. "
                "You do not need to do anything else.",
            )
        return redirect("consultations:manage", token=token)
    if consultation_request.self_service_closed_reason():
        return redirect("consultations:manage", token=token)
    context = {"consultation_request": consultation_request, "token": token}
    return render(request, "consultations/manage_cancel.html", context)


@never_cache
@require_safe
def staff_calendar_feed(request, token):
    """A staff member's calendar subscription (consultations/staff_calendar.py). The token
    in the path is the only credential: a replaced, turned-off or unknown one answers 404,
    as does the feed of an account that may no longer see consultations. Every fetch
    counts against the client address's limit and is written to the audit trail."""
    if _limit_reached(
        request, "calendar-feed", settings.CLINIC_CALENDAR_FEED_RATE_LIMIT, count=True
    ):
        response = HttpResponse("Too many requests: try again later.\n", status=429)
        response["Content-Type"] = "text/plain; charset=utf-8"
        response["Retry-After"] = "3600"
        return response
    feed = StaffCalendarFeed.objects.for_token(token)
    if feed is None or not feed_allowed(feed.user):
        raise Http404
    content, count = staff_calendar_ics(feed.user)
    audit_event_record(
        http_request=request,
        user=feed.user,
        action=AuditAction.LIST,
        count=count,
        detail="calendar feed fetched",
    )
    response = HttpResponse(content, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="consultations.ics"'
    response["X-Robots-Tag"] = "noindex"
    return response


# ------------------------------------------------------------------------------ waitlist


@never_cache
@sensitive_post_parameters()
@require_http_methods(["GET", "POST"])
def waitlist_join(request):
    """'Email me when a time opens': the form, and on a valid POST the entry."""
    if request.method == "GET":
        state = state_code(request.GET.get("state"))
        return _render_waitlist_form(request, WaitlistForm(initial={"state": state}))
    form = WaitlistForm(request.POST)
    if _posts_limit_reached(request):
        form.is_valid()
        form.add_error(None, forms.ValidationError(LIMIT_MESSAGE, code="limit"))
        return _render_waitlist_form(request, form, status=429)
    if not form.is_valid():
        return _render_waitlist_form(request, form)
    waitlist_entry_create(**form.entry_fields())
    return redirect("consultations:waitlist_added")


def _render_waitlist_form(request, form, *, status=200):
    context = {"form": form, "retention_days": settings.CLINIC_WAITLIST_RETENTION_DAYS}
    return render(request, "consultations/waitlist_join.html", context, status=status)


@never_cache
def waitlist_added(request):
    return render(request, "consultations/waitlist_added.html")


@_keeps_token_private
@require_http_methods(["GET", "HEAD"])
def waitlist_offer(request, token):
    """The emailed link to book: the booking form for the patient's state, at the week
    they wait for. Nothing is booked or held until they send the form."""
    entry, valid = offer_token_read(token)
    if entry is None:
        return render(request, "consultations/waitlist_link_invalid.html", status=404)
    if not valid:
        context = {"leave_path": _leave_path(entry)}
        return render(request, "consultations/waitlist_link_expired.html", context, status=410)
    waitlist_offer_remember(request.session, entry)
    week = offer_week(entry)
    form = BookingForm(
        initial={"state": entry.state},
        session=request.session,
        week=week.isoformat() if week else "",
    )
    return _render_form(request, form)


def _leave_path(entry) -> str:
    return reverse("consultations:waitlist_leave", args=[leave_token_make(entry)])


@_keeps_token_private
@require_http_methods(["GET", "HEAD", "POST"])
def waitlist_leave(request, token):
    """'Leave the waitlist' from any of its emails: a page that asks (a mail scanner that
    opens the link changes nothing), and its button."""
    entry = leave_token_read(token)
    if request.method == "POST":
        if entry is not None:
            waitlist_entry_leave(entry=entry)
        return render(request, "consultations/waitlist_left.html")
    if entry is None:
        return render(request, "consultations/waitlist_left.html", {"unknown": True}, status=404)
    return render(request, "consultations/waitlist_leave.html")
