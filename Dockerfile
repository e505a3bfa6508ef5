# The AML monitor worker: `docker build -t aml-monitor .`, then `docker compose up`.
# Configured only by MONITOR_* environment variables (monitor/io/settings.py).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Only what `pip install .` needs; every dependency ships as a wheel, so no compiler.
COPY pyproject.toml README.md ./
COPY monitor/ monitor/
COPY agents/ agents/
COPY schemas/ schemas/
RUN pip install . && rm -rf build ./*.egg-info

# The rule pack, FX table and calendars are data, not part of the installed package:
# point MONITOR_RULES at them (the package's default path only exists in a source checkout).
COPY config/ config/

# Non-root user; /data (RocksDB state, MONITOR_DATA_DIR) is created here and owned by it so
# a named volume mounted there starts out writable.
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/monitor monitor \
    && mkdir -p /data \
    && chown monitor:monitor /data

ENV MONITOR_RULES=/app/config/cn-pboc.yaml \
    MONITOR_DATA_DIR=/data \
    MONITOR_METRICS_PORT=9108

USER monitor
EXPOSE 9108

ENTRYPOINT ["monitor"]
CMD ["worker"]
