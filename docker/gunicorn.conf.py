"""Gunicorn settings for the production container, read from the environment.

GUNICORN_WORKERS (default 2) synchronous worker processes, listening on 0.0.0.0:$PORT
(default 8000). Any other gunicorn setting can still be given with GUNICORN_CMD_ARGS,
e.g. GUNICORN_CMD_ARGS="--timeout 60".

Synchronous workers, one request at a time each: pages are CPU-bound Python, so threads
in one process only take turns on the GIL. In `make bench` (2 workers, 16 connections)
they gave the lowest and steadiest tail latency: p99 about 7-10 ms, against 15-40 ms
for gthread with 1 thread and 30-50 ms with 4, at the same or better throughput. Sync
workers expect a buffering proxy in front to absorb slow clients; production already
needs one for TLS (README, "Deploying with Docker"). For more concurrency raise
GUNICORN_WORKERS (about two per core). GUNICORN_THREADS above 1 switches to gthread
workers.
"""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))

# Heartbeat files in memory: a container's overlay filesystem can stall the workers.
worker_tmp_dir = "/dev/shm"

# No gunicornc control socket: nothing in the container uses it, and the app user cannot
# write to the default place for it ($HOME is /app, owned by root).
control_socket_disable = True

# Both logs go to the container's stdout/stderr.
accesslog = "-"
errorlog = "-"
# Method, path and status only. %(U)s is the path WITHOUT the query string, and neither
# the referrer nor the user agent is logged: patient details must never reach the logs.
access_log_format = '%(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
