"""What the live-versus-replay tests share: `monitor replay` of everything a test worker's
input topics hold, and the alerts a topic or a replay holds, each in its latest version."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from monitor.core.pack import load_pack
from monitor.io.devworker import WorkerProcess
from monitor.io.settings import Settings, load_settings
from monitor.tools.offline import RunStats
from monitor.tools.replay import replay

__all__ = ["ALL_TIME", "latest", "replay_all", "replay_settings", "without_detected_at"]

#: the replay's [start, end) that holds every test's events
ALL_TIME = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


def replay_settings(worker: WorkerProcess, pack_path: Path) -> Settings:
    """The settings of a replay of `worker`'s topics with the pack at `pack_path`."""
    return load_settings(
        kafka_bootstrap=worker.bootstrap,
        rules=str(pack_path),
        **{k.lower()[8:]: v for k, v in worker.env.items() if k.startswith("MONITOR_TOPIC_")},
    )


def replay_all(
    worker: WorkerProcess, pack_path: Path, out: Path, workers: int = 1
) -> tuple[RunStats, dict[str, dict[str, Any]]]:
    """`monitor replay` of all time on `worker`'s topics with the pack at `pack_path`,
    into `out` in `workers` customer shards: its statistics and its alerts by id."""
    settings = replay_settings(worker, pack_path)
    stats = replay(
        settings, load_pack(pack_path), *ALL_TIME, out, show_progress=False, workers=workers
    )
    rows = map(orjson.loads, (out / "alerts.jsonl").read_bytes().splitlines())
    return stats, {a["alert_id"]: a for a in rows}


def latest(messages: Iterable[Any]) -> dict[str, dict[str, Any]]:
    """The latest version of each alert id among Kafka `messages` (a grown large-value
    report, a hub joined by more customers, has several)."""
    out = {}
    for message in messages:
        alert = orjson.loads(message.value)
        out[alert["alert_id"]] = alert
    return out


def without_detected_at(alert: dict[str, Any]) -> dict[str, Any]:
    """The alert as two runs must agree on it: all but the wall time it was raised at."""
    return {k: v for k, v in alert.items() if k != "detected_at"}
