"""Signed values for the booking flow. None of them carries patient detail.

- The manage link: a TimestampSigner-signed random key (the request's `manage_key`).
- The confirmation page: the request id, signed, kept in the session (never in the URL).
- The one-time form token: signed, naming the session it was served to (by a random key
  kept in that session) and the moment it was served, for the minimum time-to-submit.
  Its hash on the request it made is what recognises the same form sent twice.
"""

import secrets
import time

from django.core import signing

from consultations.models import ConsultationRequest

MANAGE_SALT = "consultations.manage"
MANAGE_LINK_MAX_AGE = 60 * 60 * 24 * 90  # 90 days: longer than any booking lead time
REQUESTED_SESSION_KEY = "consultations_requested"
REQUESTED_SALT = "consultations.requested"
NEW_FORM_SESSION_KEY = "consultations_new_form_after"
FORM_KEY_SESSION_KEY = "consultations_form_key"
FORM_TOKEN_SALT = "consultations.booking-form"
# Longer than anyone takes to fill the form in; short enough that served forms cannot be
# stockpiled (the session's own idle limit usually ends them sooner).
FORM_TOKEN_MAX_AGE = 2 * 60 * 60


def manage_token_make(consultation_request: ConsultationRequest) -> str:
    return signing.TimestampSigner(salt=MANAGE_SALT).sign(consultation_request.manage_key)


def manage_token_read(token: str) -> ConsultationRequest | None:
    """The request for a valid, unexpired token; None if tampered, expired or unknown."""
    try:
        key = signing.TimestampSigner(salt=MANAGE_SALT).unsign(token, max_age=MANAGE_LINK_MAX_AGE)
    except signing.BadSignature:  # includes SignatureExpired
        return None
    return ConsultationRequest.objects.select_related("slot").filter(manage_key=key).first()


def requested_remember(session, consultation_request: ConsultationRequest) -> None:
    session[REQUESTED_SESSION_KEY] = signing.dumps(consultation_request.pk, salt=REQUESTED_SALT)


def requested_recall(session) -> ConsultationRequest | None:
    value = session.get(REQUESTED_SESSION_KEY)
    if not value:
        return None
    try:
        pk = signing.loads(value, salt=REQUESTED_SALT)
    except signing.BadSignature:
        return None
    return ConsultationRequest.objects.select_related("slot").filter(pk=pk).first()


def form_token_issue(session) -> str:
    """A one-time token for one served booking form, bound to this session and signed
    with the moment it was served (the time trap reads it back with form_token_age)."""
    key = session.get(FORM_KEY_SESSION_KEY)
    if not key:
        key = session[FORM_KEY_SESSION_KEY] = secrets.token_urlsafe(8)
    served = round(time.time(), 2)
    return signing.dumps([key, secrets.token_urlsafe(8), served], salt=FORM_TOKEN_SALT)


def form_token_age(session, token: str) -> float | None:
    """Seconds since this session was served the form that carries `token`; None if the
    token is forged, was served to another session, or is older than FORM_TOKEN_MAX_AGE."""
    try:
        key, _nonce, served = signing.loads(token, salt=FORM_TOKEN_SALT, max_age=FORM_TOKEN_MAX_AGE)
        age = time.time() - float(served)
    except (signing.BadSignature, TypeError, ValueError):  # BadSignature covers expiry
        return None
    expected = session.get(FORM_KEY_SESSION_KEY) or ""
    if not isinstance(key, str) or not secrets.compare_digest(key, expected) or not expected:
        return None
    return age


def requested_just_sent(session) -> ConsultationRequest | None:
    """The request this session sent last, unless the patient has asked for a new form
    since: what Back to the booking page leads to, instead of the same form again."""
    if session.get(REQUESTED_SESSION_KEY) == session.get(NEW_FORM_SESSION_KEY):
        return None
    return requested_recall(session)


def requested_start_new_form(session) -> None:
    session[NEW_FORM_SESSION_KEY] = session.get(REQUESTED_SESSION_KEY)
