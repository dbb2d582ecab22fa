"""Signed values for the booking flow. None of them carries patient detail.

- The manage link: a TimestampSigner-signed random key (the request's `manage_key`).
- The confirmation page: the request id, signed, kept in the session (never in the URL).
- The one-time form token: random, issued with the form and kept in the session.
- The form's start time: a signed timestamp, for the minimum time-to-submit.
"""

import secrets
import time

from django.core import signing

from consultations.models import ConsultationRequest

MANAGE_SALT = "consultations.manage"
MANAGE_LINK_MAX_AGE = 60 * 60 * 24 * 90  # 90 days: longer than any booking lead time
REQUESTED_SESSION_KEY = "consultations_requested"
REQUESTED_SALT = "consultations.requested"
FORM_TOKENS_SESSION_KEY = "consultations_form_tokens"
FORM_TOKENS_KEPT = 5  # a few open tabs each keep a working form
STARTED_SALT = "consultations.form-started"


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
    token = secrets.token_urlsafe(24)
    tokens = session.get(FORM_TOKENS_SESSION_KEY, [])[-(FORM_TOKENS_KEPT - 1) :]
    session[FORM_TOKENS_SESSION_KEY] = [*tokens, token]
    return token


def form_token_is_issued(session, token: str) -> bool:
    return bool(token) and token in session.get(FORM_TOKENS_SESSION_KEY, [])


def form_token_forget(session, token: str) -> None:
    tokens = session.get(FORM_TOKENS_SESSION_KEY, [])
    session[FORM_TOKENS_SESSION_KEY] = [t for t in tokens if t != token]


def form_started_make() -> str:
    return signing.dumps(time.time(), salt=STARTED_SALT)


def form_started_age(value: str) -> float | None:
    """Seconds since the form was served, or None if the value is missing or forged."""
    try:
        started = float(signing.loads(value, salt=STARTED_SALT))
    except (signing.BadSignature, TypeError, ValueError):
        return None
    return time.time() - started
