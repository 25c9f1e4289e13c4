# taskapi's image: the Procfile's web process (deploy/web.py: nginx on $PORT in front of gunicorn
# with gunicorn.conf.py), and its release step as `python manage.py migrate_safely` run from the same image. Configured only
# through the environment (README, "Deploying"); nothing secret is written into any layer.

# Debian's Python 3.11, shared by both stages so the virtualenv built in one runs in the other.
FROM debian:bookworm-slim AS python
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 \
    && rm -rf /var/lib/apt/lists/*

# Build stage: the runtime dependencies, exactly as locked in requirements.txt, in /opt/venv;
# without pip and without translation sources (*.po; Django reads the compiled *.mo files).
FROM python AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3-venv \
    && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
# pip's cache lives outside the image (a build cache mount), so repeated builds reuse downloads.
# Behind a TLS-intercepting proxy, pass its CA bundle as the optional build secret `ca-bundle`
# (`--secret id=ca-bundle,src=/etc/ssl/certs/ca-certificates.crt`): used for this step only.
RUN --mount=type=cache,target=/root/.cache/pip --mount=type=secret,id=ca-bundle \
    if [ -s /run/secrets/ca-bundle ]; then export PIP_CERT=/run/secrets/ca-bundle; fi \
    && /opt/venv/bin/pip install --disable-pip-version-check -r /tmp/requirements.txt \
    && /opt/venv/bin/pip uninstall --yes --quiet pip setuptools \
    && find /opt/venv -name '*.po' -delete

# Runtime stage: Python, the virtualenv, the code and the collected static files; no compilers,
# no pip. Code and static files belong to root, so the service user cannot change them.
FROM python
# nginx buffers slow clients in front of gunicorn's sync workers (deploy/nginx.conf); only the
# binary is used, with a configuration deploy/web.py renders into a private directory.
RUN apt-get update \
    && apt-get install -y --no-install-recommends nginx \
    && rm -rf /var/lib/apt/lists/*
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PORT=8000
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY . /app
RUN python -m compileall -q /app/taskapi /app/tasks \
    && python manage.py collectstatic --noinput -v0 \
    && groupadd --gid 10001 taskapi \
    && useradd --uid 10001 --gid taskapi --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin taskapi
USER taskapi:taskapi
EXPOSE 8000
# Liveness: /health/live reads nothing, so a database outage does not get every instance
# restarted (readiness is /health/ready, for the platform's routing). Python's urllib: no curl here.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\", \"8000\")}/health/live', timeout=4)"]
CMD ["python", "deploy/web.py"]
