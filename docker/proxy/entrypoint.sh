#!/bin/sh
# Render the proxy's configuration from the environment and start nginx in the
# foreground. TLS when ${CLINIC_TLS_DIR} holds fullchain.pem and privkey.pem; plain HTTP
# only when CLINIC_PROXY_PLAIN_HTTP=1 says so; otherwise refuse to start.
set -eu
here=$(dirname "$0")
: "${CLINIC_SERVER_NAME:?set CLINIC_SERVER_NAME to the site's host name (README, The proxy)}"
export CLINIC_UPSTREAM="${CLINIC_UPSTREAM:-web:8000}"
export CLINIC_PROXY_RUN="${CLINIC_PROXY_RUN:-/tmp/clinic-proxy}"
export CLINIC_PROXY_HTTP_PORT="${CLINIC_PROXY_HTTP_PORT:-8080}"
export CLINIC_PROXY_HTTPS_PORT="${CLINIC_PROXY_HTTPS_PORT:-8443}"
export CLINIC_TLS_DIR="${CLINIC_TLS_DIR:-/etc/clinic/tls}"
export CLINIC_HTTPS_ORIGIN="${CLINIC_HTTPS_ORIGIN:-https://$CLINIC_SERVER_NAME}"
vars='${CLINIC_SERVER_NAME} ${CLINIC_UPSTREAM} ${CLINIC_PROXY_RUN} ${CLINIC_PROXY_HTTP_PORT}
${CLINIC_PROXY_HTTPS_PORT} ${CLINIC_TLS_DIR} ${CLINIC_HTTPS_ORIGIN}'

if [ -f "$CLINIC_TLS_DIR/fullchain.pem" ] && [ -f "$CLINIC_TLS_DIR/privkey.pem" ]; then
  site=site-tls
elif [ "${CLINIC_PROXY_PLAIN_HTTP:-0}" = 1 ]; then
  site=site-plain
else
  echo "proxy: no certificate in $CLINIC_TLS_DIR (fullchain.pem, privkey.pem)." >&2
  echo "proxy: add one, or set CLINIC_PROXY_PLAIN_HTTP=1 to serve plain HTTP (README, The proxy)." >&2
  exit 1
fi

mkdir -p "$CLINIC_PROXY_RUN"
for name in nginx.conf app-location.conf; do
  envsubst "$vars" <"$here/$name.template" >"$CLINIC_PROXY_RUN/$name"
done
envsubst "$vars" <"$here/$site.conf.template" >"$CLINIC_PROXY_RUN/site.conf"
exec nginx -p "$CLINIC_PROXY_RUN" -c "$CLINIC_PROXY_RUN/nginx.conf" -g 'daemon off;'
