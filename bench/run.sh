#!/usr/bin/env bash
# `make bench`: serve the app under gunicorn as production does, on 127.0.0.1 only, with
# the shipped proxy in front of it and a static nginx beside it, and measure them with
# bench/measure.py (bench/serve.sh prepares and starts the app, bench/nginx.sh the nginx
# servers).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null; then
  echo "bench: installing wrk" >&2
  apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
fi

source bench/serve.sh
source bench/nginx.sh

proxy_rows=()
if [ -z "${NGINX_MISSING:-}" ]; then
  proxy_rows=(--proxy "http://127.0.0.1:$PROXY_PORT" --proxy-master "$PROXY_PID"
    --static "http://127.0.0.1:$STATIC_PORT" --static-master "$STATIC_PID" --static-root "$STATIC_ROOT")
fi
$PY bench/measure.py --base "http://127.0.0.1:$PORT" --master "$GUNICORN_PID" \
  --duration "${BENCH_DURATION:-10}" --connections "${BENCH_CONNECTIONS:-16}" "${proxy_rows[@]}"
