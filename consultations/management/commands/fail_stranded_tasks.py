"""Mark failed the background tasks whose worker stopped while they ran.

A worker killed mid-send (or cut off from the database) leaves its task RUNNING forever
(django-tasks issue #46), so a patient's confirmation would stay "pending" with nobody
told. This marks failed every task still RUNNING CLINIC_TASK_STRANDED_SECONDS (default
600) after it started and, when it was a patient email staff can send again, the
request's Email as failed ("WorkerLost"), so the admin shows it and "Resend confirmation
email" repairs it. The scheduler runs it every five minutes; `--dry-run` lists and changes
nothing.
"""

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from consultations.services import stranded_tasks_fail


class Command(BaseCommand):
    help = "Mark failed the tasks stuck in RUNNING, and their requests' emails."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="List; change nothing.")

    def handle(self, *args, dry_run=False, **options):
        stranded = stranded_tasks_fail(dry_run=dry_run)
        limit = settings.CLINIC_TASK_STRANDED_SECONDS
        for task in stranded:
            started = timezone.localtime(task.started_at)
            line = f"{task.name}, running since {started:%Y-%m-%d %H:%M:%S %Z}"
            if task.email_failed_for:
                line += f": email of {task.email_failed_for} marked failed"
            self.stdout.write(line)
        verb = "Would mark" if dry_run else "Marked"
        self.stdout.write(
            f"{verb} {len(stranded)} task(s) failed that were still running {limit} s "
            "after they started."
        )
