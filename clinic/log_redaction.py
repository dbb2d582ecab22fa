"""Keep manage-link and calendar-feed tokens out of every log line.

The patient's manage link carries its secret in the URL path (`/book/manage/<token>/`),
and whoever holds it can cancel or move that booking; a staff calendar feed's address
(`/staff-calendar/<token>.ics`) lets whoever holds it read that staff member's schedule.
Paths reach many log lines: the gunicorn access log, Django's request logger (404, 405,
403, 500 lines), tracebacks. So every log record made in a process that loads this app is
rewritten as it is created (a log-record factory, installed once in
`ClinicConfig.ready`), whichever logger, handler or format writes it later. The same
factory escapes control characters in the values a log call interpolates (paths and
headers come from outside), so they cannot forge lines.
"""

import logging
import re

# The path segment after /book/manage/ (a patient's manage link), /book/offer/ and
# /book/leave-waitlist/ (the waitlist emails' links) or /staff-calendar/ (a staff member's
# calendar feed), in plain or percent-encoded form.
_PATH_TOKEN = re.compile(
    r"(/book/(?:manage|offer|leave-waitlist)/|/staff-calendar/)[^/\s\"'?#]+", re.IGNORECASE
)
REDACTED = "[redacted]"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def redact(text: str) -> str:
    return _PATH_TOKEN.sub(rf"\g<1>{REDACTED}", text)


def _escape(value):
    """A value from outside (a path, a header) shown with its control characters escaped,
    so a decoded %0a in a path cannot forge a log line and a NUL cannot garble the file."""
    if isinstance(value, str) and _CONTROL.search(value):
        return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode(), value)
    return value


def _redacting_factory(make_record):
    def factory(*args, **kwargs):
        record = make_record(*args, **kwargs)
        if isinstance(record.args, dict):
            record.args = {key: _escape(value) for key, value in record.args.items()}
        elif isinstance(record.args, tuple):
            record.args = tuple(_escape(value) for value in record.args)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed log call must still be logged
            return record
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            # Formatted now, so the traceback's text is redacted too.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return record

    factory.redacts_manage_tokens = True
    return factory


def install() -> None:
    """Make every log record of this process redacted (idempotent)."""
    current = logging.getLogRecordFactory()
    if not getattr(current, "redacts_manage_tokens", False):
        logging.setLogRecordFactory(_redacting_factory(current))
