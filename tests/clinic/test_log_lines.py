"""Every log record is rewritten as it is made (clinic/log_redaction.py): values from
outside lose their control characters whichever way a log call passes them, a malformed
call is still logged, and installing the rewrite twice does not stack it."""

import logging

from clinic import log_redaction

FORGED = "/articles/x\n2026-01-01 INFO forged line/"


def test_a_newline_passed_as_an_argument_cannot_forge_a_line(caplog):
    logging.getLogger("tests").warning("Not Found: %s", FORGED)
    (record,) = caplog.records
    assert record.getMessage() == "Not Found: /articles/x\\n2026-01-01 INFO forged line/"


def test_a_newline_passed_by_name_cannot_forge_a_line(caplog):
    logging.getLogger("tests").warning(
        "Not Found: %(path)s (%(status)d)", {"path": FORGED, "status": 404}
    )
    (record,) = caplog.records
    assert "\n" not in record.getMessage()
    assert record.getMessage() == "Not Found: /articles/x\\n2026-01-01 INFO forged line/ (404)"


def test_a_malformed_log_call_is_still_logged(caplog, monkeypatch):
    monkeypatch.setattr(logging, "raiseExceptions", False)  # as in production
    logging.getLogger("tests").warning("%s cancelled %s", "/book/manage/abc/")
    (record,) = caplog.records
    assert record.msg == "%s cancelled %s" and record.args == ("/book/manage/abc/",)


def test_installing_twice_wraps_the_factory_once():
    installed = logging.getLogRecordFactory()
    assert installed.redacts_manage_tokens  # ClinicConfig.ready installed it
    log_redaction.install()
    assert logging.getLogRecordFactory() is installed
