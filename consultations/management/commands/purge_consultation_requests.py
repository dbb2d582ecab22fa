"""Delete consultation requests that closed more than N days ago (default CLINIC_RETENTION_DAYS).

Closed means completed, no-show, declined or cancelled. Their notes and status history go
with them; the audit trail keeps only ids and references.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from consultations.services import consultation_requests_purge


class Command(BaseCommand):
    help = "Delete consultation requests closed more than N days ago."

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="Keep requests closed within this many days (default: CLINIC_RETENTION_DAYS).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Count, delete nothing.")

    def handle(self, *args, days=None, dry_run=False, **options):
        days = settings.CLINIC_RETENTION_DAYS if days is None else days
        if days < 1:
            raise CommandError("--days must be at least 1.")
        count = consultation_requests_purge(older_than_days=days, dry_run=dry_run)
        verb = "Would delete" if dry_run else "Deleted"
        self.stdout.write(
            f"{verb} {count} consultation request(s) closed more than {days} days ago."
        )
