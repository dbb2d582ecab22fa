"""The scheduler (`run_scheduled_jobs`, clinic/scheduler.py): each periodic job runs once
per period, at its time in the clinic's zone, however many schedulers run at once."""

import datetime
import threading
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import connections

from clinic import scheduler
from clinic.models import Heartbeat, JobOutcome, ScheduledJobRun
from clinic.scheduler import JOBS, Job, due_jobs, run_due_jobs

ZONE = ZoneInfo("America/New_York")
MONDAY_9AM = datetime.datetime(2026, 12, 7, 9, 2, tzinfo=ZONE)  # every job is due
EVERY_JOB = {job.name for job in JOBS}


def ny(*parts) -> datetime.datetime:
    return datetime.datetime(*parts, tzinfo=ZONE)


def job(name: str) -> Job:
    return next(job for job in JOBS if job.name == name)


@pytest.fixture
def commands_run(monkeypatch):
    """Count the commands the scheduler runs instead of running them."""
    calls = []
    lock = threading.Lock()

    def call_command(name, **options):
        with lock:
            calls.append(name)

    monkeypatch.setattr(scheduler, "call_command", call_command)
    return calls


@pytest.mark.parametrize(
    ("now", "period", "due"),
    [
        (ny(2026, 12, 2, 10, 0), "2026-W49", ny(2026, 11, 30, 8, 0)),  # a Wednesday
        # Monday before 8 am: the new week's period, not yet due.
        (ny(2026, 12, 7, 7, 59), "2026-W50", ny(2026, 12, 7, 8, 0)),
        (ny(2026, 12, 7, 8, 0), "2026-W50", ny(2026, 12, 7, 8, 0)),
        # Across the end of daylight saving time: still 8 am on the clock.
        (ny(2026, 11, 2, 12, 0), "2026-W45", ny(2026, 11, 2, 8, 0)),
        # A new year inside an ISO week that began in December.
        (ny(2027, 1, 1, 12, 0), "2026-W53", ny(2026, 12, 28, 8, 0)),
    ],
)
def test_the_review_email_is_due_monday_8_am_clinic_time(now, period, due):
    assert job("email_review_due").period(now) == (period, due)


def test_daily_jobs_fall_due_at_their_clinic_time():
    purge = job("purge_consultation_requests")
    # 11:30 pm in New York is already the next day in UTC: the clinic's day counts.
    assert purge.period(ny(2026, 12, 7, 23, 30)) == ("2026-12-07", ny(2026, 12, 7, 3, 0))
    assert job("clearsessions").period(ny(2026, 12, 7, 1, 0)) == (
        "2026-12-07",
        ny(2026, 12, 7, 3, 30),
    )


def test_five_minute_jobs_have_one_period_per_five_minutes():
    reaper = job("fail_stranded_tasks")
    utc = datetime.UTC
    assert reaper.period(datetime.datetime(2026, 12, 7, 14, 9, 59, 999, tzinfo=utc)) == (
        "2026-12-07T14:05Z",
        datetime.datetime(2026, 12, 7, 14, 5, tzinfo=utc),
    )
    assert reaper.period(datetime.datetime(2026, 12, 7, 14, 10, tzinfo=utc))[0] == (
        "2026-12-07T14:10Z"
    )


def test_what_is_due_at_a_moment():
    due = {job.name for job, _ in due_jobs(now=ny(2026, 12, 7, 2, 0))}
    assert due == {"fail_stranded_tasks", "send_consultation_reminders"}
    due = {job.name for job, _ in due_jobs(now=ny(2026, 12, 7, 3, 10))}
    assert due == {"fail_stranded_tasks", "send_consultation_reminders",
                   "purge_consultation_requests"}  # fmt: skip
    assert {job.name for job, _ in due_jobs(now=MONDAY_9AM)} == EVERY_JOB


def test_a_job_whose_command_is_missing_is_skipped(monkeypatch):
    commands = dict(scheduler.get_commands())
    commands.pop("send_consultation_reminders")
    monkeypatch.setattr(scheduler, "get_commands", lambda: commands)
    assert {job.name for job, _ in due_jobs(now=MONDAY_9AM)} == EVERY_JOB - {
        "send_consultation_reminders"
    }


@pytest.mark.django_db
def test_each_job_runs_once_per_period(commands_run):
    assert sorted(run_due_jobs(now=MONDAY_9AM)) == sorted(EVERY_JOB)
    assert run_due_jobs(now=MONDAY_9AM + datetime.timedelta(minutes=2)) == []
    # The next five minutes: only the five-minute jobs again.
    assert sorted(run_due_jobs(now=MONDAY_9AM + datetime.timedelta(minutes=3))) == [
        "fail_stranded_tasks",
        "send_consultation_reminders",
    ]
    assert sorted(commands_run) == sorted([*EVERY_JOB, "fail_stranded_tasks",
                                           "send_consultation_reminders"])  # fmt: skip
    assert set(ScheduledJobRun.objects.values_list("outcome", flat=True)) == {JobOutcome.DONE}


@pytest.mark.django_db(transaction=True)
def test_two_schedulers_at_once_run_each_job_once(commands_run):
    """Two schedulers (threads, each with its own database connection) tick at the same
    moment: the unique claim row lets exactly one of them run each job."""
    barrier = threading.Barrier(2)
    ran, errors = [], []

    def tick():
        try:
            barrier.wait()
            ran.append(run_due_jobs(now=MONDAY_9AM))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(repr(error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=tick) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(ran[0] + ran[1]) == sorted(EVERY_JOB)
    assert sorted(commands_run) == sorted(EVERY_JOB)
    assert ScheduledJobRun.objects.count() == len(EVERY_JOB)


@pytest.mark.django_db
def test_a_failing_job_is_recorded_and_the_others_still_run(monkeypatch, caplog):
    ran = []

    def call_command(name, **options):
        if name == "purge_consultation_requests":
            raise ValueError("patient@example.com is not a valid thing")  # never logged
        ran.append(name)

    monkeypatch.setattr(scheduler, "call_command", call_command)
    run_due_jobs(now=MONDAY_9AM)

    failed = ScheduledJobRun.objects.get(job="purge_consultation_requests")
    assert failed.outcome == JobOutcome.FAILED and failed.error == "ValueError"
    assert failed.finished_at is not None
    assert set(ran) == EVERY_JOB - {"purge_consultation_requests"}
    assert "job purge_consultation_requests for 2026-12-07: failed (ValueError)" in caplog.text
    assert "patient@example.com" not in caplog.text


# Transactional: each tick closes old connections, as a request's end does.
@pytest.mark.django_db(transaction=True)
def test_the_command_once_runs_the_real_jobs_and_records_its_heartbeat(mailoutbox, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}  # as deployed
    out = StringIO()
    with time_machine.travel(MONDAY_9AM, tick=False):
        call_command("run_scheduled_jobs", "--once", stdout=out)

    assert Heartbeat.objects.get(name=Heartbeat.SCHEDULER).beat_at == MONDAY_9AM
    runs = dict(ScheduledJobRun.objects.values_list("job", "outcome"))
    assert set(runs) == EVERY_JOB
    assert set(runs.values()) == {JobOutcome.DONE}
    text = out.getvalue()
    assert "Marked 0 task(s) failed" in text  # the reaper's own report
    assert "Deleted 0 consultation request(s)" in text
    assert "No article is due for review" in text


@pytest.mark.django_db
def test_the_command_dry_run_lists_what_is_due_and_runs_nothing(commands_run):
    ScheduledJobRun.objects.create(job="clearsessions", period="2026-12-07")
    out = StringIO()
    with time_machine.travel(MONDAY_9AM, tick=False):
        call_command("run_scheduled_jobs", "--dry-run", stdout=out)

    text = out.getvalue()
    assert "fail_stranded_tasks for 2026-12-07T14:00Z: would run" in text
    assert "clearsessions for 2026-12-07: already running" in text
    assert "email_review_due for 2026-W50: would run" in text
    assert commands_run == []
    assert ScheduledJobRun.objects.count() == 1
