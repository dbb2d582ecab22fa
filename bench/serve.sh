# Sourced by bench/run.sh and bench/lighthouse.sh: production settings on 127.0.0.1 only,
# a throwaway database (DATABASE_URL as given if set, else bench.sqlite3, never the
# developer's db.sqlite3), static files collected, sample content and slots loaded, then
# gunicorn started as production runs it. Sets PORT, GUNICORN_PID and WORK, and defines
# free_port; stops gunicorn on exit (stop).
BENCH_DB=bench
source bench/production_env.sh
GUNICORN=.venv/bin/gunicorn
GUNICORN_CONF=docker/gunicorn.conf.py
WORK=$(mktemp -d -t clinic-bench.XXXXXX)

# No booking limits for the run: the booking load sends every request from one address.
export CLINIC_BOOKING_RATE_LIMIT=off CLINIC_BOOKING_POST_LIMIT=off CLINIC_BOOKING_EMAIL_LIMIT=0
export CLINIC_BOOKING_MIN_SECONDS=${CLINIC_BOOKING_MIN_SECONDS:-1}

echo "bench: preparing (${DATABASE_URL%%:*} database, static files, sample content)" >&2
$PY manage.py collectstatic --noinput -v 0
$PY manage.py migrate --noinput -v 0
$PY manage.py createcachetable
for command in load_sample_content load_sample_slots; do
  $PY manage.py "$command" >"$WORK/$command.log"
done
# Loading the sample content rewrites every article: on a reused PostgreSQL database the
# dead rows piled up run after run (autovacuum waits for more), and every search had to
# step over them. Vacuumed here, each run measures the same tables.
$PY manage.py shell -c 'from django.db import connection
if connection.vendor == "postgresql":
    connection.cursor().execute("VACUUM ANALYZE")'

free_port() {
  $PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
PORT=$(free_port)
export PORT GUNICORN_WORKERS=2
# Command-line options win over the config file: loopback only, two workers.
$GUNICORN --config "$GUNICORN_CONF" --bind "127.0.0.1:$PORT" --workers 2 clinic.wsgi:application \
  >"$WORK/gunicorn.log" 2>&1 &
GUNICORN_PID=$!
stop() {
  kill "$GUNICORN_PID" 2>/dev/null || true
  wait "$GUNICORN_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap stop EXIT
trap 'exit 130' INT TERM

for _ in $(seq 60); do
  curl -fsS -o /dev/null "http://127.0.0.1:$PORT/healthz" 2>/dev/null && break
  kill -0 "$GUNICORN_PID" 2>/dev/null || { cat "$WORK/gunicorn.log" >&2; exit 1; }
  sleep 0.5
done
curl -fsS -o /dev/null "http://127.0.0.1:$PORT/healthz" || { cat "$WORK/gunicorn.log" >&2; exit 1; }
