"""The benchmark's report: the headline figures, the versions measured, the printed table."""

from __future__ import annotations

import platform
import re
import subprocess
from typing import Any

from bench.context import ROOT, Run

__all__ = ["lookup", "summarise", "table", "versions"]


def versions() -> dict[str, str]:
    from importlib.metadata import version

    pom = (ROOT / "tools" / "kafka" / "pom.xml").read_text()
    kafka = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", pom)
    out = {"python": platform.python_version(), "kafka": kafka.group(1) if kafka else "?"}
    for dist in (
        "faust-streaming",
        "aiokafka",
        "orjson",
        "pydantic",
        "rocksdict",
        "prometheus-client",
    ):
        try:
            out[dist] = version(dist)
        except Exception:
            out[dist] = "?"
    try:
        java = subprocess.run(["java", "-version"], capture_output=True, text=True, timeout=20)
        out["java"] = (java.stderr or java.stdout).splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        out["java"] = "?"
    return out


#: the baseline row's label per `BENCH_VARIANT` (bench/faust_baseline.py)
_BASELINE_LABELS = {
    "table": "naive Faust baseline (same-day sum, table)",
    "noop": "naive Faust baseline, noop variant (decode and count)",
    "pack": "naive Faust app running the pack (pack variant)",
}


def lookup(d: dict[str, Any], *path: str) -> Any:
    for key in path:
        if not isinstance(d, dict) or key not in d:
            return None
        d = d[key]
    return d


def summarise(run: Run) -> dict[str, Any]:
    r = run.results
    rates = [str(x) for x in run.args.rates]
    high = rates[-1]
    summary: dict[str, Any] = {
        "ceiling_events_per_s": lookup(r, "ceiling", "events_per_s"),
        "faust_baseline_events_per_s": lookup(r, "baseline", "events_per_s"),
        "faust_baseline_variant": lookup(r, "baseline", "variant"),
        "worker_events_per_s": lookup(r, "worker", "events_per_s"),
        "worker_rocksdb_events_per_s": lookup(r, "worker_rocksdb", "events_per_s"),
        "replay_events_per_s": lookup(r, "replay", "events_per_s"),
        "replay_sharded_events_per_s": lookup(r, "replay", "sharded", "events_per_s"),
        "replay_sharded_workers": lookup(r, "replay", "sharded", "workers"),
        "two_workers_events_per_s": lookup(r, "two_workers", "events_per_s"),
        "latency_rate_events_per_s": int(high),
        "latency_p50_s": lookup(r, "latency", "worker", high, "p50_s"),
        "latency_p99_s": lookup(r, "latency", "worker", high, "p99_s"),
        "latency_p999_s": lookup(r, "latency", "worker", high, "p999_s"),
        "floor_latency_p50_s": lookup(r, "latency", "floor", high, "p50_s"),
        "floor_latency_p99_s": lookup(r, "latency", "floor", high, "p99_s"),
        "latency_read_p50_s": lookup(r, "latency", "worker", high, "read_by_consumer", "p50_s"),
        "latency_read_p99_s": lookup(r, "latency", "worker", high, "read_by_consumer", "p99_s"),
        "rss_bytes_100k_customers": lookup(
            r, "memory", "by_customers", "100000", "bytes", "rss_growth_bytes"
        ),
        "rss_bytes_1m_customers": lookup(
            r, "memory", "by_customers", "1000000", "bytes", "rss_growth_bytes"
        ),
        "rss_bytes_1m_customers_as_objects": lookup(
            r, "memory", "by_customers", "1000000", "objects", "rss_growth_bytes"
        ),
        "state_bytes_1m_customers": lookup(
            r, "memory", "by_customers", "1000000", "bytes", "sum_to_bytes_len"
        ),
        "worker_peak_rss_bytes": lookup(r, "worker", "peak_rss_bytes"),
        "worker_cpu_seconds": lookup(r, "worker", "cpu_seconds"),
        "replay_peak_rss_bytes": lookup(r, "replay", "peak_rss_bytes"),
        "produce_events_per_s": lookup(r, "data", "produce_events_per_s"),
    }

    def ratio(a: Any, b: Any) -> float | None:
        return round(a / b, 3) if a and b else None

    summary["worker_over_baseline"] = ratio(
        summary["worker_events_per_s"], summary["faust_baseline_events_per_s"]
    )
    summary["replay_over_ceiling"] = ratio(
        summary["replay_events_per_s"], summary["ceiling_events_per_s"]
    )
    summary["replay_sharded_over_ceiling"] = ratio(
        summary["replay_sharded_events_per_s"], summary["ceiling_events_per_s"]
    )
    summary["two_workers_over_one"] = ratio(
        summary["two_workers_events_per_s"], summary["worker_events_per_s"]
    )
    summary["latency_p99_over_floor"] = ratio(
        summary["latency_p99_s"], summary["floor_latency_p99_s"]
    )
    return summary


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if unit == "B":
        return f"{value / 2**20:,.0f} MiB"
    if unit == "s":
        return f"{value * 1000:,.0f} ms" if value < 10 else f"{value:,.1f} s"
    if isinstance(value, float) and unit == "x":
        return f"{value:.2f}x"
    if isinstance(value, (int, float)):
        return (
            f"{value:,.0f}{unit}"
            if isinstance(value, int) or value >= 100
            else f"{value:,.2f}{unit}"
        )
    return str(value)


def _three(entry: dict[str, Any]) -> str:
    """p50 / p99 / p99.9 of a latency entry."""
    return " / ".join(_fmt(entry.get(key), "s") for key in ("p50_s", "p99_s", "p999_s"))


def table(run: Run, summary: dict[str, Any]) -> str:
    r = run.results
    variant = summary["faust_baseline_variant"] or "table"  # bench/faust_baseline.py's
    rows = [
        (
            "events / customers / partitions",
            f"{lookup(r, 'data', 'events') or 0:,} / {run.args.customers:,} "
            f"/ {run.args.partitions}",
        ),
        (
            "produce (aiokafka, acks=all, linger 20 ms)",
            _fmt(summary["produce_events_per_s"], " ev/s"),
        ),
        ("ceiling: raw aiokafka + decode/validate", _fmt(summary["ceiling_events_per_s"], " ev/s")),
        (
            _BASELINE_LABELS.get(variant, _BASELINE_LABELS["table"]),
            _fmt(summary["faust_baseline_events_per_s"], " ev/s"),
        ),
        ("monitor worker, full pack, memory store", _fmt(summary["worker_events_per_s"], " ev/s")),
        (
            "  worker CPU s / peak RSS",
            f"{_fmt(summary['worker_cpu_seconds'])} s "
            f"/ {_fmt(summary['worker_peak_rss_bytes'], 'B')}",
        ),
        ("  worker CPU per event", _fmt(lookup(r, "worker", "cpu_us_per_event"), " us")),
        ("monitor worker, RocksDB store", _fmt(summary["worker_rocksdb_events_per_s"], " ev/s")),
        (
            "two workers, one group (memory store)",
            _fmt(summary["two_workers_events_per_s"], " ev/s"),
        ),
        (
            "  two workers, once both were processing",
            _fmt(lookup(r, "two_workers", "events_per_s_all_running"), " ev/s"),
        ),
        ("monitor replay, full pack", _fmt(summary["replay_events_per_s"], " ev/s")),
        ("  replay peak RSS", _fmt(summary["replay_peak_rss_bytes"], "B")),
        (
            f"monitor replay --workers {summary['replay_sharded_workers'] or 'n'}",
            _fmt(summary["replay_sharded_events_per_s"], " ev/s"),
        ),
    ]
    for rate in run.args.rates:
        w = lookup(r, "latency", "worker", str(rate)) or {}
        f = lookup(r, "latency", "floor", str(rate)) or {}
        spread = " / ".join(_fmt(x.get("p99_s"), "s") for x in w.get("runs", []))
        floor_spread = " / ".join(_fmt(x.get("p99_s"), "s") for x in f.get("runs", []))
        rows.append(
            (
                f"latency at {rate:,}/s: worker p50/p99/p99.9",
                f"{_three(w)} ({w.get('alerts_seen', 0)}/{w.get('alerts_expected', 0)} alerts; "
                f"p99 of the runs {spread})",
            )
        )
        read = w.get("read_by_consumer") or {}
        rows.append(
            (
                "  alert read from aml.alerts p50/p99/p99.9",
                _three(read),
            )
        )
        rows.append(
            (
                f"latency at {rate:,}/s: raw client p50/p99/p99.9",
                f"{_three(f)} (p99 of the runs {floor_spread})",
            )
        )
    for n in ("100000", "1000000"):
        entry = lookup(r, "memory", "by_customers", n) or {}
        rows.append(
            (
                f"state of {int(n):,} customers: to_bytes sum / RSS bytes / RSS objects",
                f"{_fmt(lookup(entry, 'bytes', 'sum_to_bytes_len'), 'B')} / "
                f"{_fmt(lookup(entry, 'bytes', 'rss_growth_bytes'), 'B')} / "
                f"{_fmt(lookup(entry, 'objects', 'rss_growth_bytes'), 'B')}",
            )
        )
    rows += [
        (
            "worker / baseline" + ("" if variant == "table" else f" ({variant} variant)"),
            _fmt(summary["worker_over_baseline"], "x"),
        ),
        ("replay / ceiling", _fmt(summary["replay_over_ceiling"], "x")),
        ("replay --workers / ceiling", _fmt(summary["replay_sharded_over_ceiling"], "x")),
        ("two workers / one", _fmt(summary["two_workers_over_one"], "x")),
        ("worker p99 / raw-client p99", _fmt(summary["latency_p99_over_floor"], "x")),
    ]
    width = max(len(a) for a, _ in rows)
    lines = [f"| {'figure'.ljust(width)} | value |", f"|{'-' * (width + 2)}|-------|"]
    lines += [f"| {a.ljust(width)} | {b} |" for a, b in rows]
    return "\n".join(lines)
