"""Run the clinic's periodic jobs: the retention purge, pruning finished tasks,
clearsessions, the stranded-task reaper, the reminders and the weekly review email (the
schedule is `clinic.scheduler.JOBS`).

Compose's `scheduler` service runs it; it keeps running, waking every `--interval` seconds
(default 30) to record its heartbeat (shown by /healthz) and run what has fallen due.
Each job runs once per period even with several schedulers, since a run is claimed by a
unique database row first. It rides out a database restart (tries again, pausing up to
30 s) and stops between jobs on SIGTERM. `--once` runs what is due and exits (for cron);
`--dry-run` lists what is due now and runs nothing.
"""

import signal
import threading
import time

from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections
from django.utils import timezone

from clinic.models import Heartbeat, ScheduledJobRun
from clinic.scheduler import due_jobs, run_due_jobs
from clinic.services import heartbeat_record
from clinic.worker import close_connections_quietly, reconnect_delay


class Command(BaseCommand):
    help = "Run the periodic jobs, each once per period however many schedulers run."

    def add_arguments(self, parser):
        parser.add_argument(
            "--interval", type=float, default=30, help="Seconds between checks (default 30)."
        )
        parser.add_argument("--once", action="store_true", help="Run what is due, then exit.")
        parser.add_argument("--dry-run", action="store_true", help="List what is due; run nothing.")

    def handle(self, *args, interval: float, once: bool, dry_run: bool, **options):
        if dry_run:
            self._list_due()
            return
        if once:
            self._tick()
            return
        stop = threading.Event()

        def request_stop(signum, frame):
            stop.set()  # the job running now finishes; the loop then ends

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        self.stdout.write(f"Scheduler started; checking every {interval:g} s.")
        failures = 0
        while not stop.is_set():  # pragma: no cover - the service's loop; _tick is tested
            try:
                self._tick()
            except DatabaseError as error:
                failures += 1
                delay = reconnect_delay(failures)
                self.stderr.write(
                    f"Database unavailable ({type(error).__name__}); trying again in {delay:g} s."
                )
                close_connections_quietly()
                stop.wait(delay)
                continue
            failures = 0
            stop.wait(interval)
        self.stdout.write("Scheduler stopped.")

    def _tick(self) -> None:
        close_old_connections()
        heartbeat_record(name=Heartbeat.SCHEDULER)
        started = time.monotonic()
        ran = run_due_jobs(stdout=self.stdout)
        if ran:
            self.stdout.write(f"Ran {', '.join(ran)} in {time.monotonic() - started:.1f} s.")

    def _list_due(self) -> None:
        now = timezone.now()
        due = due_jobs(now=now)
        if not due:
            self.stdout.write("Nothing is due.")
        for job, key in due:
            taken = ScheduledJobRun.objects.filter(job=job.name, period=key).first()
            state = f"already {taken.get_outcome_display().lower()}" if taken else "would run"
            self.stdout.write(f"{job.name} for {key}: {state}")
        self.stdout.write("Dry run: nothing was run.")
