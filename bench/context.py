"""The benchmark run's context: its settings, topics, the phases' results and errors, and
every process it started (all stopped at the end)."""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.proc import killpg, loadavg

__all__ = ["POLL_S", "ROOT", "Run", "STALL_S", "TOPIC_KINDS", "TOPIC_SETTINGS", "log"]


ROOT = Path(__file__).resolve().parent.parent


#: default input topic -> kind (as monitor.tools.simulate.TOPIC_FILES and monitor.core.decode.KINDS)
TOPIC_KINDS = {
    "kyc.account-openings": "account_opening",
    "kyc.customer-updates": "customer_update",
    "txn.cash": "cash",
    "txn.remittances": "remittance",
    "txn.transfers": "transfer",
}
#: default topic -> Settings field
TOPIC_SETTINGS = {
    "kyc.account-openings": "topic_account_openings",
    "kyc.customer-updates": "topic_customer_updates",
    "txn.cash": "topic_cash",
    "txn.remittances": "topic_remittances",
    "txn.transfers": "topic_transfers",
}

#: a throughput phase whose count has not moved for this long is stopped as stalled
STALL_S = 60.0
#: how often a worker's /metrics is read (each read costs the worker a little CPU)
POLL_S = 0.25


def log(message: str) -> None:
    """A progress line on stderr (stdout carries the table, or a subprocess's JSON)."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass
class Run:
    """One benchmark run: its arguments, logs directory, broker and Redis, the topic prefix,
    the phases' results and errors, and everything to stop when it ends."""

    args: argparse.Namespace
    tmp: Path
    bootstrap: str = ""
    redis_url: str = ""
    prefix: str = field(default_factory=lambda: f"b{uuid.uuid4().hex[:8]}")
    stoppables: list[Any] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    valid_events: int = 0
    produced: int = 0

    def topic(self, name: str, prefix: str | None = None) -> str:
        return f"{prefix or self.prefix}.{name}"

    def on_broker(self, command: str, *args: str) -> list[str]:
        """The `bench.run` argv of `command` on this run's broker and topic prefix."""
        return [command, "--bootstrap", self.bootstrap, "--prefix", self.prefix, *args]

    def phase(self, name: str, fn: Callable[[float], dict[str, Any]], limit: float) -> None:
        """Run one phase under a time limit (enforced inside `fn`); record its result or error."""
        log(f"== {name} (limit {limit:.0f}s)")
        started = time.monotonic()
        load = loadavg()
        try:
            self.results[name] = fn(limit)
            self.results[name]["loadavg_before_after"] = [load[0], loadavg()[0]]
        except Exception as exc:
            self.errors[name] = f"{type(exc).__name__}: {exc}"[:2000]
            log(f"{name} FAILED: {self.errors[name]}")
            traceback.print_exc()
        finally:
            log(f"== {name} done in {time.monotonic() - started:.1f}s")

    def sub(self, name: str, argv: list[str], limit: float) -> dict[str, Any]:
        """Run `python -m bench.run <argv>` under `limit`; its last stdout line is JSON."""
        log_path = self.tmp / f"{name}.log"
        with log_path.open("ab") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "bench.run", *argv],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=err,
                start_new_session=True,
            )
            self.stoppables.append(proc)
            try:
                out, _ = proc.communicate(timeout=limit)
            except subprocess.TimeoutExpired:
                killpg(proc)
                raise TimeoutError(f"{name} exceeded its {limit:.0f}s limit") from None
        if proc.returncode != 0:
            tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-15:])
            raise RuntimeError(f"{name} exited {proc.returncode}:\n{tail}")
        return json.loads(out.decode().strip().splitlines()[-1])

    def stop_all(self) -> None:
        for thing in reversed(self.stoppables):
            try:
                if isinstance(thing, subprocess.Popen):
                    if thing.poll() is None:
                        killpg(thing, signal.SIGTERM)
                else:
                    thing.stop()
            except Exception as exc:
                log(f"stopping {thing!r}: {exc}")
        self.stoppables.clear()
