"""Email the reminders due now before confirmed consultations (consultations/reminders.py).

Run it every 5 minutes from a scheduler. Each reminder goes out once, however many runs
overlap: each run claims a reminder by inserting its row before sending it. So there is
no `transaction.atomic()` around the run: each claim commits on its own, before the
email goes, or other runs could not see it. A reminder whose send failed is tried again
on later runs until CLINIC_REMINDER_GRACE_MINUTES after it was due. `--dry-run` lists
what is due and claims and sends nothing.
"""

from django.core.management.base import BaseCommand

from consultations.reminders import consultation_reminders_send


class Command(BaseCommand):
    help = "Email the consultation reminders due now (run every 5 minutes)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="List the reminders due; send nothing."
        )

    def handle(self, *args, dry_run=False, **options):
        run = consultation_reminders_send(dry_run=dry_run)
        if dry_run:
            listed = f": {', '.join(run.due)}" if run.due else "."
            self.stdout.write(f"Would send {len(run.due)} reminder(s){listed}")
            return
        self.stdout.write(
            f"Sent {len(run.sent)} reminder(s), {len(run.failed)} failed (tried again on the "
            f"next run while within the grace), {len(run.skipped)} not sent (changed or "
            "overtaken)."
        )
        if run.failed:
            self.stderr.write(f"Failed: {', '.join(run.failed)}")
