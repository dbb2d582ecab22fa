"""Delete consultation requests that closed more than N days ago (default CLINIC_RETENTION_DAYS),
and waitlist entries older than CLINIC_WAITLIST_RETENTION_DAYS.

Closed means completed, no-show, declined or cancelled. Their notes, status history,
shared self-check answers and therapist contact go with them; the audit trail keeps only
ids and references.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from consultations.services import consultation_requests_purge
from consultations.waitlist import waitlist_entries_purge


class Command(BaseCommand):
    help = "Delete consultation requests closed more than N days ago, and old waitlist entries."

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="Keep requests closed within this many days (default: CLINIC_RETENTION_DAYS).",
        )
        parser.add_argument(
            "--waitlist-days",
            type=int,
            default=None,
            help="Keep waitlist entries made within this many days "
            "(default: CLINIC_WAITLIST_RETENTION_DAYS).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Count, delete nothing.")

    def handle(self, *args, days=None, waitlist_days=None, dry_run=False, **options):
        days = settings.CLINIC_RETENTION_DAYS if days is None else days
        if waitlist_days is None:
            waitlist_days = settings.CLINIC_WAITLIST_RETENTION_DAYS
        if days < 1 or waitlist_days < 1:
            raise CommandError("--days and --waitlist-days must be at least 1.")
        count = consultation_requests_purge(older_than_days=days, dry_run=dry_run)
        waiting = waitlist_entries_purge(older_than_days=waitlist_days, dry_run=dry_run)
        verb = "Would delete" if dry_run else "Deleted"
        self.stdout.write(
            f"{verb} {count} consultation request(s) closed more than {days} days ago."
        )
        self.stdout.write(
            f"{verb} {waiting} waitlist entr{'y' if waiting == 1 else 'ies'} made more than "
            f"{waitlist_days} days ago."
        )
