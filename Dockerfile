# The AML monitor worker: `docker build -t aml-monitor .`, then `docker compose up`.
# Configured only by MONITOR_* environment variables (monitor/io/settings.py).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Only what `pip install .` needs; every dependency ships as a wheel, so no compiler. The
# rule packs, FX table, calendars, watch list and samples (config/) are package data
# (monitor/defaults); /app/config links to them, and the build sources are removed.
WORKDIR /src
COPY pyproject.toml README.md ./
COPY monitor/ monitor/
COPY agents/ agents/
COPY schemas/ schemas/
COPY config/ config/
RUN pip install . \
    && cd / && rm -rf /src \
    && mkdir /app \
    && ln -s "$(python -c 'from monitor.core.defaults import defaults_dir; print(defaults_dir())')" /app/config \
    && test -f /app/config/cn-pboc.yaml
WORKDIR /app

# Non-root user; /data (RocksDB state, MONITOR_DATA_DIR) is created here and owned by it so
# a named volume mounted there starts out writable.
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/monitor monitor \
    && mkdir -p /data \
    && chown monitor:monitor /data

ENV MONITOR_DATA_DIR=/data \
    MONITOR_METRICS_PORT=9108

USER monitor
EXPOSE 9108

ENTRYPOINT ["monitor"]
CMD ["worker"]
