# okrbridge daemon image: scheduler + webhook receiver in one process.
#   docker build -t okrbridge .
#   docker run -p 8080:8080 -v "$PWD/config:/config:ro" -v okrbridge-data:/data \
#     -e JIRA_API_TOKEN=... okrbridge
# Config at /config/okrbridge.toml; the daemon listens on 0.0.0.0:8080 (OKRBRIDGE_WEB_HOST/PORT);
# the SQLite store lives in /data unless OKRBRIDGE_STORE_URL points at PostgreSQL.

# -- build: a wheel and its dependencies in a virtualenv ---------------------------------------
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/okrbridge
COPY pyproject.toml README.md config.example.toml ./
COPY alembic ./alembic
COPY okrbridge ./okrbridge
COPY connectors ./connectors
RUN /opt/okrbridge/bin/pip install ".[postgres]"

# -- runtime: the virtualenv only, as an unprivileged user --------------------------------------
FROM python:3.11-slim
ENV PATH=/opt/okrbridge/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    OKRBRIDGE_CONFIG=/config/okrbridge.toml \
    OKRBRIDGE_STORE_URL=sqlite:////data/okrbridge.sqlite3 \
    OKRBRIDGE_WEB_HOST=0.0.0.0 \
    OKRBRIDGE_WEB_PORT=8080 \
    XDG_DATA_HOME=/data
RUN groupadd --system --gid 10001 okrbridge \
    && useradd --system --uid 10001 --gid okrbridge --home-dir /data --no-create-home okrbridge \
    && mkdir -p /config /data \
    && chown okrbridge:okrbridge /data
COPY --from=build /opt/okrbridge /opt/okrbridge
USER 10001:10001
WORKDIR /data
VOLUME ["/config", "/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('OKRBRIDGE_WEB_PORT', '8080'); sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4).status == 200 else 1)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["okrbridge"]
CMD ["daemon"]
