"""The replay phase: `monitor.tools.replay.replay` over the loaded topics in its own
process, in one process and sharded over several."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.context import TOPIC_KINDS, TOPIC_SETTINGS, Run, log
from bench.proc import status_bytes

__all__ = ["replay_phase", "replay_run"]


def replay_run(bootstrap: str, prefix: str, out: Path, workers: int = 1) -> dict[str, Any]:
    from monitor.core.pack import load_pack
    from monitor.io.settings import load_settings
    from monitor.tools.replay import replay

    overrides = {TOPIC_SETTINGS[t]: f"{prefix}.{t}" for t in TOPIC_KINDS}
    settings = load_settings(kafka_bootstrap=bootstrap, **overrides)
    pack = load_pack(settings.rules)
    rss_before = status_bytes("self", "VmRSS")
    cpu0 = time.process_time()
    stats = replay(
        settings,
        pack,
        datetime(2000, 1, 1, tzinfo=UTC),
        datetime(2100, 1, 1, tzinfo=UTC),
        out,
        show_progress=False,
        workers=workers,
    )
    import resource

    return {
        "workers": workers,
        "events": stats.events,
        "seconds": round(stats.seconds, 2),
        "events_per_s": round(stats.events_per_s),
        "alerts": stats.alerts,
        "tasks": stats.tasks,
        "customers": stats.customers,
        "invalid": stats.invalid,
        "duplicates": stats.duplicates,
        "cpu_seconds": round(time.process_time() - cpu0, 2),
        "rss_before_bytes": rss_before,
        "peak_rss_bytes": status_bytes("self", "VmHWM"),
        # sharded: the largest shard process (ru_maxrss is in KiB)
        "peak_rss_bytes_per_shard": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
        if workers > 1
        else None,
    }


def replay_phase(run: Run, limit: float) -> dict[str, Any]:
    result = run.sub(
        "replay", run.on_broker("_replay", "--out", str(run.tmp / "replay-out")), limit
    )
    log(
        f"replay: {result['events_per_s']:,} events/s, {result['alerts']:,} alerts, "
        f"peak rss {result['peak_rss_bytes'] / 2**20:.0f} MiB"
    )
    workers = run.args.replay_workers
    if workers > 1:
        out = str(run.tmp / "replay-sharded")
        sharded = run.sub(
            "replay", run.on_broker("_replay", "--out", out, "--workers", str(workers)), limit
        )
        same = (sharded["events"], sharded["alerts"], sharded["tasks"]) == (
            result["events"],
            result["alerts"],
            result["tasks"],
        )
        sharded["same_counts_as_one_process"] = same
        result["sharded"] = sharded
        log(
            f"replay --workers {workers}: {sharded['events_per_s']:,} events/s, "
            f"{sharded['alerts']:,} alerts (same counts as one process: {same})"
        )
    return result
