"""Email the medical reviewers the articles due for clinical review within 30 days.

Run it once a week. `--weekly` keeps it running and sends every Monday at 8 am in the
clinic's zone (the compose deployment's `scheduler` service runs it that way; a restart
waits for the next Monday rather than sending twice). `--dry-run` prints the email.
"""

import datetime
import time

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.management.base import BaseCommand
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from education.models import Article
from education.notifications import absolute_url, reviewer_addresses

DUE_WITHIN_DAYS = 30
SEND_WEEKDAY, SEND_TIME = 0, datetime.time(8, 0)  # Monday, 8 am clinic time


def next_weekly_run(now: datetime.datetime) -> datetime.datetime:
    """The first Monday 8 am (clinic time) strictly after `now`."""
    local = timezone.localtime(now)
    days_ahead = (SEND_WEEKDAY - local.weekday()) % 7
    candidate = timezone.make_aware(
        datetime.datetime.combine(local.date() + datetime.timedelta(days=days_ahead), SEND_TIME)
    )
    if candidate <= now:
        candidate = timezone.make_aware(
            datetime.datetime.combine(candidate.date() + datetime.timedelta(days=7), SEND_TIME)
        )
    return candidate


def review_due_message(days: int = DUE_WITHIN_DAYS) -> EmailMessage | None:
    """The reminder, or None when nothing is due or nobody reviews."""
    today = timezone.localdate()
    due = list(
        Article.objects.review_due_within(days, today).select_related("reviewer")
        .order_by("next_review_due", "title")
    )  # fmt: skip
    to = reviewer_addresses()
    if not due or not to:
        return None
    rows = [
        (article, absolute_url(reverse("admin:education_article_workflow", args=[article.pk])))
        for article in due
    ]
    body = render_to_string(
        "emails/articles_review_due.txt", {"rows": rows, "days": days, "today": today}
    )
    return EmailMessage(
        subject=f"{len(due)} article{'' if len(due) == 1 else 's'} due for review",
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=to,
    )


class Command(BaseCommand):
    help = "Email the medical reviewers the articles due for review within 30 days."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=DUE_WITHIN_DAYS)
        parser.add_argument("--dry-run", action="store_true", help="Print; send nothing.")
        parser.add_argument(
            "--weekly", action="store_true", help="Keep running; send every Monday at 8 am."
        )

    def handle(self, *args, days: int, dry_run: bool, weekly: bool, **options):
        if not weekly:
            self._send(days, dry_run)
            return
        while True:  # pragma: no cover - the scheduler's loop; next_weekly_run is tested
            wake = next_weekly_run(timezone.now())
            self.stdout.write(f"Next reminder: {timezone.localtime(wake):%A, %B %-d, %-I:%M %p %Z}")
            time.sleep(max(0.0, (wake - timezone.now()).total_seconds()))
            self._send(days, dry_run)

    def _send(self, days: int, dry_run: bool) -> None:
        message = review_due_message(days)
        if message is None:
            self.stdout.write("No article is due for review, or no reviewer to tell.")
            return
        if dry_run:
            self.stdout.write(f"To: {', '.join(message.to)}\nSubject: {message.subject}\n")
            self.stdout.write(message.body)
            self.stdout.write("Dry run: nothing was sent.")
            return
        message.send()
        self.stdout.write(f"Sent “{message.subject}” to {len(message.to)} reviewer(s).")
