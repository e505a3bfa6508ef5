"""`monitor worker` as a local subprocess with its own topics, consumer group, Redis keys and
data directory, for the tests and the benchmark: started, ready-checked with a timeout,
always stopped. Not for production use."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from monitor.io.devservers import free_port

__all__ = ["DEFAULT_INPUTS", "WorkerProcess"]

logger = logging.getLogger(__name__)

#: the topic settings a `WorkerProcess` prefixes (`MONITOR_<name>` -> default topic)
DEFAULT_INPUTS = {
    "TOPIC_ACCOUNT_OPENINGS": "kyc.account-openings",
    "TOPIC_CUSTOMER_UPDATES": "kyc.customer-updates",
    "TOPIC_CASH": "txn.cash",
    "TOPIC_REMITTANCES": "txn.remittances",
    "TOPIC_TRANSFERS": "txn.transfers",
    "TOPIC_ALERTS": "aml.alerts",
    "TOPIC_REID_TASKS": "aml.reid-tasks",
    "TOPIC_DEAD_LETTERS": "aml.dead-letters",
}


@dataclass
class WorkerProcess:
    """A worker whose topic names all carry a unique prefix, so tests never share data."""

    bootstrap: str
    redis_url: str
    data_dir: Path
    prefix: str = field(default_factory=lambda: f"t{uuid.uuid4().hex[:8]}")
    extra_env: dict[str, str] = field(default_factory=dict)
    metrics_port: int = field(default_factory=free_port)
    module: str = (
        "monitor.tools.cli"  # what `python -m` runs with `worker` (a test harness may wrap it)
    )
    proc: subprocess.Popen | None = None
    logs: list[Path] = field(default_factory=list)

    def topic(self, default_name: str) -> str:
        return f"{self.prefix}.{default_name}"

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "MONITOR_KAFKA_BOOTSTRAP": self.bootstrap,
                "MONITOR_REDIS_URL": self.redis_url,
                "MONITOR_APP_ID": f"{self.prefix}-app",
                "MONITOR_METRICS_PORT": str(self.metrics_port),
                "MONITOR_DATA_DIR": str(self.data_dir),
                "MONITOR_QUEUE_PREFIX": f"{self.prefix}:queue:",
                "MONITOR_LOG_LEVEL": "INFO",
            }
        )
        for var, name in DEFAULT_INPUTS.items():
            env[f"MONITOR_{var}"] = self.topic(name)
        env.update(self.extra_env)
        return env

    def start(self) -> WorkerProcess:
        log = self.data_dir / f"worker-{len(self.logs)}.log"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.logs.append(log)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", self.module, "worker"],
            env=self.env,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc and self.proc.poll() is not None:
                raise RuntimeError(f"worker exited {self.proc.returncode}:\n{self.log_text()}")
            if "Worker]: Ready" in self.logs[-1].read_text(errors="replace"):
                return
            time.sleep(0.2)
        raise TimeoutError(f"worker not ready after {timeout}s:\n{self.log_text()}")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_text(self, lines: int = 60) -> str:
        text = "\n".join(p.read_text(errors="replace") for p in self.logs if p.exists())
        return "\n".join(text.splitlines()[-lines:])
