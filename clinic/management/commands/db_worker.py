"""Run the email worker: django-tasks-db's `db_worker`, with the clinic's loop.

Same name, options and behaviour as upstream's command (this app comes first in
INSTALLED_APPS, so Django finds this one), plus what `clinic/worker.py` adds: it
reconnects after a database restart instead of exiting, and records the heartbeat that
/healthz reports. `make run`, compose's `worker` service and the README keep calling
`python manage.py db_worker`.
"""

from django_tasks_db.management.commands import db_worker

from clinic.worker import ClinicWorker


class Command(db_worker.Command):
    help = "Run the email worker (reconnects after a database restart; records a heartbeat)."

    def handle(self, *args, **options):
        # Upstream's handle() builds its Worker by the module-level name; point that name
        # at ours for the duration, so every option keeps upstream's meaning.
        original = db_worker.Worker
        db_worker.Worker = ClinicWorker
        try:
            super().handle(*args, **options)
        finally:
            db_worker.Worker = original
