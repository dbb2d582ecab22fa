"""Wait until the database accepts connections.

The container entrypoint runs this before migrations and before the server starts, since
PostgreSQL may still be starting when the app container does. It retries
``connection.ensure_connection()`` until it succeeds or ``--timeout`` seconds have passed,
and then fails with a message saying which database could not be reached.
"""

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.utils import OperationalError


class Command(BaseCommand):
    help = "Wait until the database accepts connections; fail after --timeout seconds."

    def add_arguments(self, parser):
        parser.add_argument(
            "--timeout",
            type=float,
            default=60,
            help="Seconds to keep trying before giving up (default 60).",
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=1,
            help="Seconds between attempts (default 1).",
        )
        parser.add_argument(
            "--database",
            default=DEFAULT_DB_ALIAS,
            help="Database alias to wait for (default 'default').",
        )

    def handle(self, *args, timeout, interval, database, **options):
        connection = connections[database]
        deadline = time.monotonic() + timeout
        attempts = 0
        while True:
            attempts += 1
            try:
                connection.ensure_connection()
            except OperationalError as error:
                if time.monotonic() + interval > deadline:
                    # First line only: enough to tell "refused" from "no such database".
                    reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
                    raise CommandError(
                        f"Database '{database}' did not accept connections within "
                        f"{timeout:g} s ({attempts} attempts). Last error: {reason}"
                    ) from error
                if attempts == 1:
                    self.stderr.write(f"Waiting for database '{database}'...")
                time.sleep(interval)
            else:
                break
        self.stdout.write(self.style.SUCCESS(f"Database '{database}' is available."))
