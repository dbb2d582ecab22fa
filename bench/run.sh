#!/usr/bin/env bash
# `make bench`: serve the app under gunicorn as production does, on 127.0.0.1 only, and
# measure it with bench/measure.py (bench/serve.sh prepares and starts the server).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null; then
  echo "bench: installing wrk" >&2
  apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
fi

source bench/serve.sh

$PY bench/measure.py --base "http://127.0.0.1:$PORT" --master "$GUNICORN_PID" \
  --duration "${BENCH_DURATION:-10}" --connections "${BENCH_CONNECTIONS:-16}"
