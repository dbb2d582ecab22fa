#!/bin/sh
# Container entrypoint: wait for the database, run the release steps when asked to, then
# hand over to the command: gunicorn by default, or whatever was given, for example
# `python manage.py db_worker` for the email worker.
set -eu

python manage.py wait_for_db --timeout "${DJANGO_DB_WAIT_TIMEOUT:-60}"

if [ "${DJANGO_MIGRATE_ON_START:-0}" = "1" ]; then
    python manage.py migrate --noinput
    python manage.py createcachetable
    python manage.py setup_roles
fi

exec "$@"
