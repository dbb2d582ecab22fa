# Production image for the clinic site: gunicorn serving Django, static files built in.
#
# Both stages start from Debian's own image and use Debian's python3 (3.11 on bookworm),
# so the same file builds with Docker anywhere and with podman on a machine that can only
# make debian:bookworm-slim itself (see .ci/container-check).

# --- build: a virtual environment with the pinned, hash-checked requirements ----------
FROM debian:bookworm-slim AS build

RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv \
    && rm -rf /var/lib/apt/lists/*

RUN python3 -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
# --no-deps: requirements.txt is the complete, hash-pinned set (uv pip compile).
RUN /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check \
        --require-hashes --no-deps -r /tmp/requirements.txt

# --- runtime: Debian's python3, the venv, the code, a user without privileges -----------
FROM debian:bookworm-slim AS runtime

# ca-certificates for SMTP over TLS; tzdata so CLINIC_TIME_ZONE resolves from the system.
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/*

# A fixed numeric id, so USER is numeric and orchestrators can verify "not root".
RUN groupadd --system --gid 10001 django \
    && useradd --system --uid 10001 --gid django --no-create-home --home-dir /app \
        --shell /usr/sbin/nologin django

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PORT=8000

WORKDIR /app

# The code and the venv belong to root, so the server process cannot rewrite them;
# it reads them as "other".
COPY --from=build --chown=root:root /opt/venv /opt/venv
COPY --chown=root:root . /app

# Static files are collected and compressed once, here; no database is needed for it.
# /app/media holds uploaded article images: compose mounts the `media` volume there,
# which takes this directory's owner (the server's user) on first use.
RUN DJANGO_SECRET_KEY=build-only-not-secret python manage.py collectstatic --noinput -v 0 \
    && install -d -o 10001 -g 10001 /app/media

USER 10001:10001

EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python3", "/app/docker/healthcheck.py"]

ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["gunicorn", "--config", "docker/gunicorn.conf.py", "clinic.wsgi:application"]
