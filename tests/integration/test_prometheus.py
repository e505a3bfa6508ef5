"""A real Prometheus (Debian package) scraping a worker under load.

Every query of every panel of the provisioned Grafana dashboards goes through Prometheus'
HTTP API and must return data: a success status, at least one series and at least one
finite value (NaN is what Grafana shows as an empty panel). The load is a simulated month
of traffic (~20,000 events on the four input topics), a few malformed messages (dead
letters), alerts that reach the compliance queues, redeliveries (an input event sent again,
an alert sent twice more on the alerts topic) and entries claimed by an analyst. The same
Prometheus loads the alert rules of ops/prometheus/rules and must evaluate all of them
without error, and `promtool check metrics` must find nothing to complain about in a raw
scrape of the worker.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
import pytest
import yaml

from monitor.io.devservers import free_port
from monitor.io.devworker import WorkerProcess
from monitor.tools.simulate import TOPIC_FILES, simulate
from tests.support.kafka_io import produce, read_topic
from tests.support.worker import wait_consumed
from tests.unit.test_dashboards import dashboard_queries, render_expr

PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
ROOT = Path(__file__).resolve().parents[2]
RULES_DIR = ROOT / "ops" / "prometheus" / "rules"
JOB = "aml-monitor"  # the job the alert rules and the dashboards select

# Grafana's variables as it sets them for a dashboard over the last hour: $__rate_interval
# is at least four scrape intervals; 5m keeps the rates of one burst of load non-zero
# for the whole test, however long the waits before the queries take.
RATE_INTERVAL = "5m"
TIME_RANGE = "1h"

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        PROMETHEUS is None or PROMTOOL is None,
        reason="prometheus/promtool not installed (./tools/ensure-system-deps.sh --prometheus)",
    ),
]


# --------------------------------------------------------------------------- helpers


def _get(url: str, timeout: float = 10) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


def _wait(
    what: str,
    check: Callable[[], bool],
    timeout: float,
    interval: float = 0.5,
    detail: Callable[[], str] = lambda: "",
) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not after {timeout:.0f}s\n{detail()}")
        time.sleep(interval)


@contextmanager
def prometheus(workdir: Path, targets: list[str]) -> Iterator[str]:
    """A Prometheus scraping `targets` every second as job `aml-monitor`, with the repo's
    alert rules; yields its base URL and always stops it."""
    workdir.mkdir(parents=True, exist_ok=True)
    shutil.copytree(RULES_DIR, workdir / "rules")
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "1s"},
        "rule_files": ["rules/*.rules.yml"],
        "scrape_configs": [
            {"job_name": JOB, "metrics_path": "/metrics", "static_configs": [{"targets": targets}]},
        ],
    }
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    port = free_port()
    log_path = workdir / "prometheus.log"
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={workdir / 'prometheus.yml'}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"

    def log_tail() -> str:
        return "\n".join(log_path.read_text(errors="replace").splitlines()[-30:])

    def ready() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"prometheus exited with {proc.returncode}:\n{log_tail()}")
        try:
            return _get(f"{base}/-/ready", timeout=2).startswith(b"Prometheus")
        except OSError:
            return False

    try:
        _wait("prometheus ready", ready, timeout=60, interval=0.2, detail=log_tail)
        yield base
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)


def query(base: str, expr: str) -> dict:
    """The decoded answer of /api/v1/query for `expr` at the current time."""
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        return json.loads(_get(url))
    except urllib.error.HTTPError as exc:  # 400/422: a bad query, the body says why
        return json.loads(exc.read() or b"{}") | {"http_status": exc.code}


def _values(answer: dict) -> list[float]:
    data = answer.get("data") or {}
    if data.get("resultType") == "vector":
        return [float(s["value"][1]) for s in data.get("result", [])]
    if data.get("resultType") == "scalar":
        return [float(data["result"][1])]
    return []


def _has_data(answer: dict) -> bool:
    return answer.get("status") == "success" and any(math.isfinite(v) for v in _values(answer))


def _metrics_text(worker: WorkerProcess) -> str:
    try:
        return _get(f"http://127.0.0.1:{worker.metrics_port}/metrics").decode()
    except OSError:
        return ""


def _monitor_cli(worker: WorkerProcess, *args: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "monitor.tools.cli", "queue", *args, "--json"],
        env=worker.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, f"monitor queue {' '.join(args)}: {proc.stderr}{proc.stdout}"
    return json.loads(proc.stdout)


# --------------------------------------------------------------------------- the load

#: a cash deposit above the large-value threshold: an LV_CASH alert
LARGE_CASH = {
    "event_id": "prom-lv-1",
    "txn_id": "prom-lv-1",
    "customer_id": "PROM1",
    "account_id": "APROM1",
    "occurred_at": "2026-04-01T10:00:00+08:00",
    "direction": "in",
    "amount": "60000.00",
    "currency": "CNY",
}


def _load(worker: WorkerProcess) -> int:
    """A simulated month for 1,050 customers, malformed input and a sure alert; returns
    the number of messages sent to the input topics."""
    sim = simulate(customers=1050, days=30, seed=20261123)
    records = [
        (worker.topic(topic), event["customer_id"].encode(), orjson.dumps(event), None)
        for topic in TOPIC_FILES
        for event in sim.sorted_events(topic)
    ]
    cash = worker.topic("txn.cash")
    records += [
        (cash, b"PROM1", orjson.dumps(LARGE_CASH), None),  # LV_CASH
        (cash, b"BAD1", b"{not json", None),  # invalid_json
        (cash, b"BAD2", b"[1, 2", None),  # invalid_json
        (cash, b"BAD3", orjson.dumps({"event_id": "prom-bad-3", "customer_id": "BAD3"}), None),
        (worker.topic("txn.remittances"), b"BAD4", orjson.dumps({"amount": "x"}), None),
    ]
    produce(worker.bootstrap, records)
    return len(records)


# --------------------------------------------------------------------------- the test


@pytest.mark.timeout(600)
def test_every_dashboard_panel_query_returns_data(worker_factory, tmp_path: Path) -> None:
    # the inbox's panels (monitor_case*) read `monitor inbox`'s /metrics, not the worker's
    queries = [q for q in dashboard_queries() if "monitor_case" not in q[2]]
    assert len(queries) >= 20, "the dashboards have fewer queries than expected"
    worker = worker_factory(gauges_interval_s=1, store="memory").start()
    started = time.monotonic()

    def step(what: str) -> None:  # progress, shown with `pytest -s`
        print(f"[{time.monotonic() - started:6.1f}s] {what}")

    def counter(expr: str) -> float:
        return (_values(query(base, expr)) or [0.0])[0]

    with prometheus(tmp_path / "prometheus", [f"127.0.0.1:{worker.metrics_port}"]) as base:
        worker.wait_ready(timeout=120)
        step("worker ready")
        # Prometheus has a sample of the idle worker before the load: the rule path finishes
        # the load within seconds, and a counter or histogram first scraped after all its
        # increments has no rate (Prometheus' first scrape can lag its start by ~5 s)
        _wait(
            "first scrape of the idle worker",
            lambda: counter("count(monitor_end_to_end_seconds_count)") >= 1,
            timeout=60,
            detail=worker.log_text,
        )
        step("first scrape")
        sent = _load(worker)
        step(f"{sent} messages produced")
        wait_consumed(worker, sent, timeout=240)
        step("all consumed")

        def queued() -> bool:
            text = _metrics_text(worker)
            return "monitor_queue_pushed_total{" in text and "monitor_queue_depth{" in text

        _wait("alerts in the compliance queues", queued, timeout=120, detail=worker.log_text)
        step("alerts in the compliance queues")

        # redeliveries: an input event sent again (same event_id: ignored by the rules, counted
        # as a duplicate) and an alert delivered again on aml.alerts, twice, a scrape apart, so
        # the queue's duplicate counter has a rate (its first sample already reads 1)
        alerts = read_topic(
            worker.bootstrap, worker.topic("aml.alerts"), until=lambda m: len(m) >= 1, timeout=60
        )
        assert alerts, "no alert on the alerts topic"
        again = [(worker.topic("aml.alerts"), alerts[0].key, alerts[0].value, None)]
        produce(
            worker.bootstrap,
            [*again, (worker.topic("txn.cash"), b"PROM1", orjson.dumps(LARGE_CASH), None)],
        )
        _wait(
            "first duplicate alert scraped",
            lambda: counter("sum(monitor_queue_redelivered_total)") >= 1,
            timeout=60,
            detail=worker.log_text,
        )
        produce(worker.bootstrap, again)
        _wait(
            "second duplicate alert scraped",
            lambda: counter("sum(monitor_queue_redelivered_total)") >= 2,
            timeout=60,
            detail=worker.log_text,
        )
        _wait(
            "redelivered input event scraped",
            lambda: counter("sum(monitor_events_duplicate_total)") >= 1,
            timeout=60,
            detail=worker.log_text,
        )
        step("redeliveries counted")

        # an analyst claims entries: the pending gauge
        queues = [q for q in _monitor_cli(worker, "ls")["queues"] if q["depth"]]
        assert queues, "monitor queue ls shows no queue with entries"
        claimed = _monitor_cli(
            worker, "claim", queues[0]["queue"], "--consumer", "analyst-1", "--count", "2"
        )
        assert claimed["entries"], claimed
        _wait(
            "claimed entries scraped",
            lambda: counter("sum(monitor_queue_pending)") >= len(claimed["entries"]),
            timeout=60,
            detail=worker.log_text,
        )

        # Prometheus has scraped the worker several times, all of them successfully
        _wait(
            "several scrapes",
            lambda: counter(f'sum_over_time(up{{job="{JOB}"}}[5m])') >= 5,
            timeout=60,
        )
        targets = json.loads(_get(f"{base}/api/v1/targets"))["data"]["activeTargets"]
        assert [(t["labels"]["job"], t["health"], t["lastError"]) for t in targets] == [
            (JOB, "up", "")
        ]
        step("scraped")

        # every panel query, as Grafana sends it; series that appear a gauge interval late
        # get a few more scrapes before a panel counts as empty
        rendered = [
            (d, title, render_expr(expr, rate_interval=RATE_INTERVAL, time_range=TIME_RANGE))
            for d, title, expr in queries
        ]
        answers: dict[str, dict] = {}

        def all_have_data() -> bool:
            for _, _, expr in rendered:
                if expr not in answers or not _has_data(answers[expr]):
                    answers[expr] = query(base, expr)
            return all(_has_data(answers[expr]) for _, _, expr in rendered)

        try:
            _wait("every panel query returning data", all_have_data, timeout=20, interval=1)
        except TimeoutError:
            pass  # reported panel by panel below
        step("panel queries run")
        empty = []
        for dashboard, title, expr in rendered:
            answer = answers[expr]
            values = _values(answer)
            print(
                f"  {dashboard:19} {title[:44]:44} {len(values):3} series "
                f"{[round(v, 4) for v in values[:4]]}"
            )
            if not _has_data(answer):
                empty.append(f"{dashboard} / {title}: {expr}\n    -> {json.dumps(answer)[:300]}")

        # the alert rules load and evaluate without error against the real series
        groups = json.loads(_get(f"{base}/api/v1/rules"))["data"]["groups"]
        rules = [rule for group in groups for rule in group["rules"]]
        assert len(rules) >= 6, rules
        broken = [(r["name"], r.get("lastError")) for r in rules if r["health"] != "ok"]
        assert not broken, broken

    # `promtool check metrics` on a raw scrape of the worker (stdin): no problem reported
    scrape = _get(f"http://127.0.0.1:{worker.metrics_port}/metrics")
    assert b"monitor_events_consumed_total" in scrape
    check = subprocess.run(
        [PROMTOOL, "check", "metrics"], input=scrape, capture_output=True, timeout=60
    )
    output = (check.stdout + check.stderr).decode(errors="replace")
    assert check.returncode == 0 and not output.strip(), f"promtool check metrics:\n{output}"

    assert not empty, "panel queries without data:\n" + "\n".join(empty)
