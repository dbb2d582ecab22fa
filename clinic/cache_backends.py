"""Two cache backends: Django's, each changed in one place.

`DatabaseCache`: Django's database cache with an increment that two processes cannot both
win.

The booking rate limit (django-ratelimit) counts with `cache.add(key, 1)`, then
`cache.incr(key)`. Django's `DatabaseCache.incr` reads the value and writes it back in two
statements, so two workers counting at the same moment could both write the same number
and one submission would go uncounted. Here the read and the write are one transaction
that holds the row: `SELECT ... FOR UPDATE` on PostgreSQL; on SQLite the IMMEDIATE
transaction (clinic/settings.py) already holds the write lock from its first statement.

`ObjectMemoryCache`: Django's local-memory cache (per process, least recently used out
first) that keeps each value as it is given, where Django's pickles it on every `set` and
unpickles a copy on every `get`. For values nobody changes once stored (the kept public
pages, clinic/page_cache.py: a frozen dataclass of bytes and a dict of headers), that copy
only costs time: under `make bench` about 30 us of the 270 us an article took in-process.
"""

import base64
import pickle

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.db import DatabaseCache as DjangoDatabaseCache
from django.core.cache.backends.locmem import LocMemCache
from django.db import connections, models, router, transaction
from django.utils.timezone import now


class DatabaseCache(DjangoDatabaseCache):
    def incr(self, key, delta=1, version=None):
        key = self.make_and_validate_key(key, version=version)
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        quote_name = connection.ops.quote_name
        table, cache_key = quote_name(self._table), quote_name("cache_key")
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        with transaction.atomic(using=db), connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {quote_name('value')}, {quote_name('expires')} FROM {table} "
                f"WHERE {cache_key} = %s{lock}",
                [key],
            )
            row = cursor.fetchone()
            if row is None or self._expired(connection, row[1]):
                raise ValueError(f"Key '{key}' not found")
            stored = connection.ops.process_clob(row[0])
            value = pickle.loads(base64.b64decode(stored.encode())) + delta
            pickled = pickle.dumps(value, self.pickle_protocol)
            cursor.execute(
                f"UPDATE {table} SET {quote_name('value')} = %s WHERE {cache_key} = %s",
                [base64.b64encode(pickled).decode("latin1"), key],
            )
        return value

    @staticmethod
    def _expired(connection, expires) -> bool:
        # As Django's get_many reads the column: aware or naive by database and USE_TZ.
        expression = models.Expression(output_field=models.DateTimeField())
        for converter in connection.ops.get_db_converters(
            expression
        ) + expression.get_db_converters(connection):
            expires = converter(expires, expression, connection)
        return expires < now()


class ObjectMemoryCache(LocMemCache):
    """LocMemCache's add, get, set and incr without the pickling: only for values that are
    never changed once stored."""

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        key = self.make_and_validate_key(key, version=version)
        with self._lock:
            if self._has_expired(key):
                self._set(key, value, timeout)
                return True
            return False

    def get(self, key, default=None, version=None):
        key = self.make_and_validate_key(key, version=version)
        with self._lock:
            if self._has_expired(key):
                self._delete(key)
                return default
            self._cache.move_to_end(key, last=False)
            return self._cache[key]

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        key = self.make_and_validate_key(key, version=version)
        with self._lock:
            self._set(key, value, timeout)

    def incr(self, key, delta=1, version=None):
        key = self.make_and_validate_key(key, version=version)
        with self._lock:
            if self._has_expired(key):
                self._delete(key)
                raise ValueError(f"Key '{key}' not found")
            value = self._cache[key] + delta
            self._cache[key] = value
            self._cache.move_to_end(key, last=False)
        return value
