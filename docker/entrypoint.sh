#!/bin/sh
# Container entrypoint: wait for the database, run the release steps when asked to, then
# hand over to the command: gunicorn by default, or whatever was given, for example
# `python manage.py db_worker` for the email worker.
set -eu

python manage.py wait_for_db --timeout "${DJANGO_DB_WAIT_TIMEOUT:-60}"

if [ "${DJANGO_MIGRATE_ON_START:-0}" = "1" ]; then
    python manage.py migrate --noinput
    python manage.py createcachetable
    if python manage.py help setup_roles >/dev/null 2>&1; then
        python manage.py setup_roles
    else
        echo "entrypoint: no setup_roles command in this version; skipped" >&2
    fi
fi

exec "$@"
