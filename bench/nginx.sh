# Sourced by bench/run.sh after bench/serve.sh: the two nginx servers of the proxy rows,
# on 127.0.0.1 only. The shipped proxy (docker/proxy), started by its own entrypoint
# as compose and tests/clinic/test_proxy.py start it (templates rendered into a temporary
# folder, plain HTTP), in front of the bench's gunicorn; and a static nginx
# (bench/static-nginx.conf.template) serving the copy of an article that
# bench/measure.py saves under $STATIC_ROOT. Sets PROXY_PORT, PROXY_PID, STATIC_PORT,
# STATIC_PID and STATIC_ROOT, or NGINX_MISSING when nginx or envsubst is not installed.
export PATH="$PATH:/usr/sbin"
if ! command -v nginx >/dev/null || ! command -v envsubst >/dev/null; then
  NGINX_MISSING="nginx or envsubst is not installed (apt-get install nginx-light gettext-base)"
  echo "bench: $NGINX_MISSING: no proxy rows" >&2
  return 0
fi

# Run as root, nginx's workers drop to nobody: they must reach these folders (mktemp's
# are 0700). The image runs nginx as www-data; here it runs as whoever runs the bench.
chmod 755 "$WORK"
mkdir -m 755 "$WORK/proxy" "$WORK/static" "$WORK/static/root"
STATIC_ROOT=$WORK/static/root
PROXY_PORT=$(free_port)
STATIC_PORT=$(free_port)

# nginx's listen takes an address with the port: loopback only, as gunicorn.
CLINIC_SERVER_NAME=127.0.0.1 CLINIC_UPSTREAM="127.0.0.1:$PORT" CLINIC_PROXY_RUN="$WORK/proxy" \
  CLINIC_PROXY_HTTP_PORT="127.0.0.1:$PROXY_PORT" CLINIC_PROXY_PLAIN_HTTP=1 \
  sh docker/proxy/entrypoint.sh >"$WORK/proxy.log" 2>&1 &
PROXY_PID=$!

STATIC_RUN=$WORK/static STATIC_PORT=$STATIC_PORT STATIC_ROOT=$STATIC_ROOT \
  envsubst '${STATIC_RUN} ${STATIC_PORT} ${STATIC_ROOT}' \
  <bench/static-nginx.conf.template >"$WORK/static/nginx.conf"
nginx -p "$WORK/static" -c "$WORK/static/nginx.conf" -g 'daemon off;' >"$WORK/static.log" 2>&1 &
STATIC_PID=$!

stop_nginx() {
  kill "$PROXY_PID" "$STATIC_PID" 2>/dev/null || true
  wait "$PROXY_PID" "$STATIC_PID" 2>/dev/null || true
  stop  # bench/serve.sh's: gunicorn, then the work folder
}
trap stop_nginx EXIT

# Until it answers (any status); its log if it stopped instead.
wait_for_nginx() {  # port pid log
  for _ in $(seq 50); do
    curl -sS -o /dev/null "http://127.0.0.1:$1/" 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || { cat "$3" >&2; exit 1; }
    sleep 0.1
  done
  echo "bench: nginx did not answer on port $1" >&2
  exit 1
}
wait_for_nginx "$PROXY_PORT" "$PROXY_PID" "$WORK/proxy.log"
wait_for_nginx "$STATIC_PORT" "$STATIC_PID" "$WORK/static.log"
