#!/bin/sh
# Container entrypoint: wait for the database, then hand over to the command: gunicorn by
# default, or whatever was given, for example `python manage.py db_worker` for the email
# worker.
#
# `release` as the command runs the release steps (migrations, the cache table, the staff
# roles) and exits: compose's one-shot `migrate` service, which every other app service
# waits for, so replicas never race to migrate. DJANGO_MIGRATE_ON_START=1 runs the same
# steps before the command, for a single container on its own.
set -eu

python manage.py wait_for_db --timeout "${DJANGO_DB_WAIT_TIMEOUT:-60}"

release() {
    python manage.py migrate --noinput
    python manage.py createcachetable
    python manage.py setup_roles
}

if [ "${1:-}" = "release" ]; then
    release
    exit 0
fi

if [ "${DJANGO_MIGRATE_ON_START:-0}" = "1" ]; then
    release
fi

exec "$@"
