"""Keep manage-link tokens out of every log line.

The patient's manage link carries its secret in the URL path (`/book/manage/<token>/`),
and whoever holds it can cancel or move that booking. Paths reach many log lines: the
gunicorn access log, Django's request logger (404, 405, 403, 500 lines), tracebacks. So
every log record made in a process that loads this app is rewritten as it is created
(a log-record factory, installed once in `ClinicConfig.ready`), whichever logger, handler
or format writes it later.
"""

import logging
import re

# The path segment after /book/manage/, in plain or percent-encoded form.
_MANAGE_TOKEN = re.compile(r"(/book/manage/)[^/\s\"'?#]+", re.IGNORECASE)
REDACTED = "[redacted]"


def redact(text: str) -> str:
    return _MANAGE_TOKEN.sub(rf"\g<1>{REDACTED}", text)


def _redacting_factory(make_record):
    def factory(*args, **kwargs):
        record = make_record(*args, **kwargs)
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
