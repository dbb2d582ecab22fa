"""The email worker's loop: django-tasks-db's `db_worker`, plus a heartbeat and riding out
a database restart.

Upstream's worker (django_tasks_db 0.13) exits on any database error other than "database
is locked", so a PostgreSQL restart stops every email until someone restarts the worker.
`ClinicWorker.run` is upstream's loop (`Worker.run`) split into one pass per call, with
two additions:

- a database error in a pass is logged (its class name only), the connections are
  closed, and the loop tries again after a growing pause (1 s, 2 s, 4 s ... at most
  30 s), so the worker reconnects once the database is back. A task that was running
  when the database went away stays RUNNING; `fail_stranded_tasks` marks it failed
  later, as it does for a worker that was killed;
- every pass records the heartbeat "worker" (at most every HEARTBEAT_SECONDS), which
  /healthz reports, so monitoring sees a worker that stopped.

`clinic/management/commands/db_worker.py` runs this loop under upstream's command name.
"""

import logging
import random
import time

from django.db import DatabaseError, close_old_connections, connections
from django.db.utils import OperationalError
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

from clinic.models import Heartbeat
from clinic.services import heartbeat_record

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 30
RECONNECT_FIRST_SECONDS = 1.0
RECONNECT_MAX_SECONDS = 30.0


def reconnect_delay(failures: int) -> float:
    """Seconds to wait after the `failures`-th database error in a row."""
    return min(RECONNECT_MAX_SECONDS, RECONNECT_FIRST_SECONDS * 2 ** (failures - 1))


def close_connections_quietly() -> None:
    """Drop every connection, so the next query opens a fresh one (closing a connection
    whose server went away can itself fail)."""
    for connection in connections.all(initialized_only=True):
        try:
            connection.close()
        except DatabaseError:
            pass


class ClinicWorker(Worker):
    """See the module docstring."""

    _last_beat = float("-inf")

    def run(self) -> None:
        logger.info("Starting worker worker_id=%s queues=%s", self.worker_id, self.queue_names)
        if self.startup_delay and self.interval:
            time.sleep(random.random())  # noqa: S311 - upstream's guard against a thundering herd
        failures = 0
        while self.running:
            try:
                outcome = self.run_once()
            except DatabaseError as error:
                failures += 1
                delay = reconnect_delay(failures)
                logger.warning(
                    "database unavailable (%s); worker tries again in %g s",
                    type(error).__name__,
                    delay,
                )
                close_connections_quietly()
                time.sleep(delay)
                continue
            if failures:
                logger.info("database available again; worker resumes")
                failures = 0
            if outcome == "stop":
                return
            # Interrupted by a signal mid-task: exit at once rather than sleep.
            if self.running and outcome == "idle":
                time.sleep(self.interval)

    def run_once(self) -> str:
        """One pass of upstream's loop: "ran" a task, found none ("idle"), or "stop"
        (batch finished or --max-tasks reached). Database errors propagate."""
        close_old_connections()
        self.beat()
        tasks = DBTaskResult.objects.ready().filter(backend_name=self.backend_name)
        if not self.process_all_queues:
            tasks = tasks.filter(queue_name__in=self.queue_names)
        if self.excluded_queue_names:
            tasks = tasks.exclude(queue_name__in=self.excluded_queue_names)

        with exclusive_transaction(tasks.db):
            try:
                task_result = tasks.get_locked()
                retrieved = True
                if task_result is not None:
                    task_result.claim(self.worker_id)  # so no other worker runs it
            except OperationalError as error:
                if not is_locked_database_exception(error):
                    raise
                retrieved, task_result = False, None  # SQLite busy: try again later

        if task_result is not None:
            self.run_task(task_result)
        if self.batch and retrieved and task_result is None:
            logger.info("No more tasks to run for worker_id=%s - exiting.", self.worker_id)
            return "stop"
        if self.max_tasks is not None and self._run_tasks >= self.max_tasks:
            logger.info("Ran the maximum tasks (%d) - exiting.", self._run_tasks)
            return "stop"
        close_old_connections()
        return "ran" if task_result is not None else "idle"

    def beat(self) -> None:
        now = time.monotonic()
        if now - self._last_beat >= HEARTBEAT_SECONDS:
            heartbeat_record(name=Heartbeat.WORKER)
            self._last_beat = now
