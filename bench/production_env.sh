# Sourced by bench/serve.sh and bench/scale.sh: production settings on 127.0.0.1 over plain
# HTTP, and a throwaway database: DATABASE_URL as given if set, else $BENCH_DB.sqlite3 in
# the project folder (rebuilt each run, never the developer's db.sqlite3). Sets PY.
PY=.venv/bin/python
export DJANGO_SETTINGS_MODULE=clinic.settings
export DJANGO_DEBUG=0
DJANGO_SECRET_KEY=$($PY -c 'import secrets; print(secrets.token_urlsafe(50))')
export DJANGO_SECRET_KEY
export DJANGO_SECURE_SSL_REDIRECT=0
export DJANGO_ALLOWED_HOSTS=127.0.0.1
export DJANGO_LOG_LEVEL=${DJANGO_LOG_LEVEL:-WARNING}
if [ -z "${DATABASE_URL:-}" ]; then
  rm -f "$BENCH_DB.sqlite3" "$BENCH_DB.sqlite3-wal" "$BENCH_DB.sqlite3-shm"
  export DATABASE_URL="sqlite:///$PWD/$BENCH_DB.sqlite3"
fi
