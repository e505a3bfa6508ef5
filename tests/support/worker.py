"""Reading a `monitor worker` subprocess's progress (`monitor.io.devworker.WorkerProcess`)
from its /metrics."""

from __future__ import annotations

import time
import urllib.request

from monitor.io.devworker import WorkerProcess


def consumed(worker: WorkerProcess) -> float:
    """Input events the worker's decode stage has consumed (from its /metrics)."""
    try:
        url = f"http://127.0.0.1:{worker.metrics_port}/metrics"
        text = urllib.request.urlopen(url, timeout=5).read().decode()
    except OSError:
        return 0.0
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("monitor_events_consumed_total{")
    )


def wait_consumed(worker: WorkerProcess, count: int, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while consumed(worker) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"worker consumed {consumed(worker)} of {count}:\n{worker.log_text()}"
            )
        time.sleep(0.05)
