"""The periodic jobs, and running each exactly once per period however many schedulers run.

`JOBS` is the whole schedule (times in the clinic's zone):

- `fail_stranded_tasks` every 5 minutes: tasks whose worker stopped mid-send;
- `send_consultation_reminders` every 5 minutes: reminders before consultations;
- `purge_consultation_requests` daily at 3:00 am: the retention purge;
- `prune_db_task_results` daily at 3:15 am: finished background tasks older than 14 days;
- `clearsessions` daily at 3:30 am: expired sessions (every visit to /book/ makes one);
- `email_review_due` every Monday at 8:00 am: the articles due for clinical review.

Each job's time is divided into periods (a five-minute slot in UTC, a day, an ISO week),
each with a moment it falls due. On every tick a scheduler tries, for each job that is due
in its current period, to claim that (job, period) by inserting a `ScheduledJobRun` row;
the unique constraint lets exactly one insert succeed, and only that scheduler runs the
job. So `--scale scheduler=2`, or a restart mid-period, never runs a job twice in a
period, and a scheduler that was down at 3:00 am still runs that day's purge when it
comes back the same day. A run cut short (the scheduler killed, or the database lost,
mid-job) stays "running" and is not retried in its period: the next period runs it.
"""

import datetime
import logging
from dataclasses import dataclass
from io import TextIOBase

from django.core.management import call_command, get_commands
from django.utils import timezone

from clinic.services import scheduled_job_claim, scheduled_job_finish

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """A management command run once per period: every `minutes` (UTC slots), or daily
    (`weekday` None) or weekly on `weekday` (0 is Monday) at `at`, clinic time."""

    name: str
    minutes: int | None = None
    at: datetime.time | None = None
    weekday: int | None = None

    def period(self, now: datetime.datetime) -> tuple[str, datetime.datetime]:
        """The key of the period holding `now`, and when the job falls due in it."""
        if self.minutes is not None:
            utc = now.astimezone(datetime.UTC)
            start = utc.replace(minute=utc.minute - utc.minute % self.minutes, second=0)
            start = start.replace(microsecond=0)
            return start.strftime("%Y-%m-%dT%H:%MZ"), start
        day = timezone.localtime(now).date()
        if self.weekday is None:
            return day.isoformat(), timezone.make_aware(datetime.datetime.combine(day, self.at))
        first = day - datetime.timedelta(days=(day.weekday() - self.weekday) % 7)
        year, week, _ = first.isocalendar()
        due = timezone.make_aware(datetime.datetime.combine(first, self.at))
        return f"{year}-W{week:02d}", due

    def available(self) -> bool:
        """Whether the command exists (a job whose app is not installed is skipped)."""
        return self.name in get_commands()


JOBS = (
    Job("fail_stranded_tasks", minutes=5),
    Job("send_consultation_reminders", minutes=5),
    Job("purge_consultation_requests", at=datetime.time(3, 0)),
    # django-tasks-db's own: finished task rows older than 14 days (the queue stays small,
    # so /healthz's look at it stays cheap, and no old traceback lingers).
    Job("prune_db_task_results", at=datetime.time(3, 15)),
    Job("clearsessions", at=datetime.time(3, 30)),
    Job("email_review_due", at=datetime.time(8, 0), weekday=0),
)


def due_jobs(*, now: datetime.datetime, jobs=JOBS) -> list[tuple[Job, str]]:
    """Each available job whose current period has fallen due, with the period's key."""
    found = []
    for job in jobs:
        if not job.available():
            continue
        key, due = job.period(now)
        if now >= due:
            found.append((job, key))
    return found


def run_due_jobs(
    *, now: datetime.datetime | None = None, jobs=JOBS, stdout: TextIOBase | None = None
) -> list[str]:
    """Claim and run every due job no scheduler has run in its period; the names of the
    jobs this call ran. A job's failure is recorded (its exception's class name, never
    its message) and logged; the other jobs still run. Database errors propagate."""
    ran = []
    for job, key in due_jobs(now=now or timezone.now(), jobs=jobs):
        run = scheduled_job_claim(job=job.name, period=key)
        if run is None:
            continue  # another scheduler has it
        logger.info("job %s for %s: started", job.name, key)
        try:
            call_command(job.name, stdout=stdout)
        except Exception as error:  # noqa: BLE001 - recorded; the next job still runs
            scheduled_job_finish(run=run, error=error)
            logger.error("job %s for %s: failed (%s)", job.name, key, type(error).__name__)
        else:
            scheduled_job_finish(run=run)
            logger.info("job %s for %s: done", job.name, key)
        ran.append(job.name)
    return ran
