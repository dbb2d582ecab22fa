"""Django's PostgreSQL backend, with a health check that needs no round trip to the server
while the connection is quiet (`CONN_HEALTH_CHECKS`, clinic/settings.py).

Django checks a kept connection at the start of each request by sending `SELECT 1`: on a
search that no kept page answers, that was one of its two waits for the database. A
connection the server has ended (a restart, `pg_terminate_backend`, an idle timeout) has
something to read on its socket: the server's last message, or the end of the stream. A
quiet socket means the connection is usable; one with something to read (which on a live
connection is only ever a notice) is asked with Django's `SELECT 1`.
"""

import select

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        if self.connection is None or self.connection.closed:
            return False
        try:
            readable, _, _ = select.select([self.connection.fileno()], [], [], 0)
        except (OSError, ValueError, base.Database.Error):
            return False
        return not readable or super().is_usable()
