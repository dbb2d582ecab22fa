"""While the database is unreachable: "briefly unavailable" (503) rather than a 500.

Public pages with a kept copy never get here: clinic/page_cache.py serves the copy. Any
other page whose view finds the database unreachable gets a short page saying so, with
status 503 and `Retry-After`, and the clinic's phone number from the details this process
kept (none if it never read them: the sample number must never be offered). The booking
and manage pages say plainly that booking is briefly unavailable. Any other database
error (a fault in a query) stays a 500, to be fixed. Both kinds of answer leave the
visitor's session untouched (`SessionMiddleware` here), as it cannot be read or saved.
"""

import logging

from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.http import HttpResponse
from django.template import loader

from clinic.models import ClinicDetails
from clinic.page_cache import database_unreachable

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 60


def _is_booking(request) -> bool:
    match = getattr(request, "resolver_match", None)
    return match is not None and match.namespace == "consultations"


def mark_database_unreachable(response: HttpResponse) -> HttpResponse:
    """Mark a response made without the database, so the session is left alone."""
    response.database_unreachable = True
    return response


class SessionMiddleware(DjangoSessionMiddleware):
    """Django's, except that a response made while the database is unreachable (a kept
    copy, or the outage page) leaves the session and its cookie as they are. With
    SESSION_SAVE_EVERY_REQUEST, Django would read the visitor's session row for its
    expiry and save it, which fails then and would turn the answer into a 500."""

    def process_response(self, request, response):
        if getattr(response, "database_unreachable", False):
            return response
        return super().process_response(request, response)


def outage_response(request) -> HttpResponse:
    booking = _is_booking(request)
    details = ClinicDetails.objects.kept()
    context = {"booking": booking, "kept_details": details}
    try:
        content = loader.render_to_string("outage.html", context, request=request)
    except Exception:  # noqa: BLE001 - the outage page itself must never fail
        content = loader.render_to_string("outage_plain.html", context)
    response = HttpResponse(content, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return mark_database_unreachable(response)


class DatabaseOutageMiddleware:
    """Answer a view's "database unreachable" error with the outage page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not database_unreachable(exception):
            return None
        match = getattr(request, "resolver_match", None)
        # The view's name only: paths can carry a manage link's token.
        logger.warning(
            "database unreachable: %s answered 503 (%s)",
            match.view_name if match else "?",
            type(exception).__name__,
        )
        return outage_response(request)
