#!/usr/bin/env bash
# `make bench-scale`: production settings, a throwaway database (DATABASE_URL as given if
# set, else bench-scale.sqlite3, rebuilt each run), the samples loaded, then bench/scale.py.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_DB=bench-scale
source bench/production_env.sh

echo "bench-scale: preparing (${DATABASE_URL%%:*} database, static files, sample content)" >&2
$PY manage.py collectstatic --noinput -v 0
$PY manage.py migrate --noinput -v 0
$PY manage.py createcachetable
$PY manage.py load_sample_content >/dev/null
$PY manage.py load_sample_slots >/dev/null
$PY bench/scale.py
