"""Email the medical reviewers the articles due for clinical review within 30 days.

The scheduler (`run_scheduled_jobs`, clinic/scheduler.py) runs it every Monday at 8 am
in the clinic's zone, once however many schedulers run. `--dry-run` prints the email.
"""

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.management.base import BaseCommand
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from education.models import Article
from education.notifications import absolute_url, reviewer_addresses

DUE_WITHIN_DAYS = 30


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

    def handle(self, *args, days: int, dry_run: bool, **options):
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
