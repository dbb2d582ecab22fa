"""An email backend that always fails, as an unreachable SMTP server would."""

import smtplib

from django.core.mail.backends.base import BaseEmailBackend


class FailingEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        # The text mimics a real server echoing the address back; it must never be stored.
        raise smtplib.SMTPException("550 mailbox unavailable for patient@example.com")
