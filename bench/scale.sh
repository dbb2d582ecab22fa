#!/usr/bin/env bash
# `make bench-scale`: production settings, a throwaway database (DATABASE_URL as given if
# set, else bench-scale.sqlite3, rebuilt each run), the samples loaded, then bench/scale.py.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python

export DJANGO_SETTINGS_MODULE=clinic.settings
export DJANGO_DEBUG=0
DJANGO_SECRET_KEY=$($PY -c 'import secrets; print(secrets.token_urlsafe(50))')
export DJANGO_SECRET_KEY
export DJANGO_SECURE_SSL_REDIRECT=0
export DJANGO_ALLOWED_HOSTS=127.0.0.1
export DJANGO_LOG_LEVEL=${DJANGO_LOG_LEVEL:-WARNING}
if [ -z "${DATABASE_URL:-}" ]; then
  rm -f bench-scale.sqlite3 bench-scale.sqlite3-wal bench-scale.sqlite3-shm
  export DATABASE_URL="sqlite:///$PWD/bench-scale.sqlite3"
fi

echo "bench-scale: preparing (${DATABASE_URL%%:*} database, static files, sample content)" >&2
$PY manage.py collectstatic --noinput -v 0
$PY manage.py migrate --noinput -v 0
$PY manage.py createcachetable
$PY manage.py load_sample_content >/dev/null
$PY manage.py load_sample_slots >/dev/null
$PY bench/scale.py
