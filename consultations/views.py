"""The patient's booking flow: the form, the confirmation page and the manage link."""

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods
from django_ratelimit.decorators import ratelimit

from consultations.calendar_files import consultation_ics
from consultations.formatting import clinic_zone_name
from consultations.forms import TAKEN_MESSAGE, BookingForm, MoveForm
from consultations.models import ConsultationRequest
from consultations.services import (
    DuplicateSubmission,
    SlotUnavailable,
    TooLateToChange,
    consultation_request_cancel_by_patient,
    consultation_request_create,
    consultation_request_move,
    submission_token_hash,
)
from consultations.tokens import (
    form_started_make,
    form_token_forget,
    form_token_is_issued,
    form_token_issue,
    manage_token_read,
    requested_recall,
    requested_remember,
)

BOT_MESSAGE = (
    "Sorry, we could not send your request just now. Please check your answers, wait a "
    "moment and send it again, or call us."
)
EXPIRED_MESSAGE = "This form had expired. Please check your answers and send it again."


def booking_rate(group, request):
    """The per-IP rate from CLINIC_BOOKING_RATE_LIMIT; "off" turns the limit off."""
    rate = settings.CLINIC_BOOKING_RATE_LIMIT
    return None if rate.strip().lower() == "off" else rate


def _render_form(request, form, *, status=200, taken=False):
    # Every render issues a fresh one-time token and keeps the original start time.
    form.data = form.data.copy() if form.is_bound else form.data
    token = form_token_issue(request.session)
    if form.is_bound:
        form.data["form_token"] = token
    else:
        form.initial.update({"form_token": token, "started": form_started_make()})
    context = {
        "form": form,
        "taken": taken or form.has_error("slot", "taken"),
        "next_times": form.fields["slot"].slots[:3],
        "zone_name": clinic_zone_name(),
    }
    return render(request, "consultations/book.html", context, status=status)


def _first_request_for_used_token(session, token):
    """The request an already-used one-time token created, if any."""
    if not token or form_token_is_issued(session, token):
        return None
    return ConsultationRequest.objects.filter(
        submission_token_hash=submission_token_hash(token)
    ).first()


@never_cache
@sensitive_post_parameters()
@require_http_methods(["GET", "POST"])
@ratelimit(key="ip", rate=booking_rate, method="POST", block=True)
def book(request):
    if request.method == "GET":
        return _render_form(request, BookingForm())
    if "self_check_start" in request.POST:
        # From the self-check's result page: the form, carrying the answers to share.
        shared = {"self_check": request.POST.get("self_check", "")[:4000], "share_self_check": True}
        return _render_form(request, BookingForm(initial=shared))

    token = request.POST.get("form_token", "")[:100]
    first = _first_request_for_used_token(request.session, token)
    if first is not None:
        # A refresh or second click after success: show the first request, make no other.
        requested_remember(request.session, first)
        return redirect("consultations:requested")
    form = BookingForm(request.POST)
    if not form.is_valid():
        return _render_form(request, form)
    if form.is_bot():
        form.add_error(None, BOT_MESSAGE)
        return _render_form(request, form)
    if not form_token_is_issued(request.session, token):
        form.add_error(None, EXPIRED_MESSAGE)
        return _render_form(request, form)
    data = form.cleaned_data
    try:
        consultation_request = consultation_request_create(
            slot=data["slot"],
            full_name=data["full_name"],
            email=data["email"],
            phone=str(data["phone"]),
            preferred_contact=data["preferred_contact"],
            state=data["state"],
            discuss_topics=data["discuss_topics"],
            note=data["note"],
            has_therapist=data["has_therapist"],
            heard_about=data["heard_about"],
            expects_self_pay=data["expects_self_pay"],
            preferred_times=data["preferred_times"],
            shared_self_check=data["self_check"],
            submission_token=token,
        )
    except DuplicateSubmission as duplicate:
        consultation_request = duplicate.existing
    except SlotUnavailable:
        form = BookingForm(request.POST)  # a fresh list of open times
        form.is_valid()
        form.add_error("slot", TAKEN_MESSAGE)
        return _render_form(request, form, taken=True)
    form_token_forget(request.session, token)
    requested_remember(request.session, consultation_request)
    return redirect("consultations:requested")


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
    """ "Cancel your consultation on …?" and its "Yes, cancel it". Asked for again after
    the cancel (Back), it sends the patient to the manage page, which says it is
    cancelled; the same form sent twice cancels once."""
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
