"""Arrival order against event order: the rule core's alerts for simulated traffic applied in
event-time order, and applied as a live feed delivers it when each topic lags behind the
others by up to `--max-lag-hours` (each topic's own events stay in order).
`python -m bench.arrival_order [--seeds 1-12] [--customers 600] [--days 40]`.

The pack's `deadline_grace_hours` is raised to cover the lag (the contract's bound on
disorder across topics). Prints, per seed, the alerts of each run and the alert ids whose
latest version differs, with the rule and summary of each difference."""

from __future__ import annotations

import argparse
import random
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import yaml

from monitor.core.decode import Decoder
from monitor.core.pack import Pack, load_pack
from monitor.tools.offline import OfflineRun
from monitor.tools.simulate import TOPIC_FILES, simulate

__all__ = ["Difference", "compare", "main"]

#: tie order at equal event times, as the replay's merge
_RANK = {"account_opening": 0, "customer_update": 1, "remittance": 2, "transfer": 3, "cash": 4}
_DETECTED_AT = datetime(2026, 12, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Difference:
    alert_id: str
    rule_id: str
    where: str  # "both" (contents differ), "event order" or "arrival order" only
    summary: str


def _run(pack: Pack, items: list[tuple[str, int, dict[str, Any]]]) -> dict[str, dict]:
    latest: dict[str, dict] = {}

    def keep(findings: Any) -> None:
        for alert in findings.alerts:
            latest[alert.alert_id] = alert.model_dump(mode="json", exclude={"detected_at"})

    decoder = Decoder(pack.fx)
    run = OfflineRun(pack, keep, _DETECTED_AT)
    for kind, at_ms, value in items:
        event = decoder.decode(kind, orjson.dumps(value))
        if not hasattr(event, "customer_id"):
            raise ValueError(f"simulated {kind} refused: {event}")
        run.apply(event, at_ms)
    return latest


def compare(
    pack: Pack, seed: int, customers: int, days: int, max_lag_hours: float
) -> tuple[int, int, list[Difference]]:
    """(alerts in event order, alerts in arrival order, the differences) for one seed."""
    sim = simulate(customers=customers, days=days, seed=seed)
    items = [(kind, at, v) for topic, kind in TOPIC_FILES.items() for at, v in sim.events[topic]]
    ordered = sorted(items, key=lambda x: (x[1], _RANK[x[0]], x[2]["event_id"]))
    rng = random.Random(seed)
    lag = {kind: rng.randint(0, int(max_lag_hours * 3_600_000)) for kind in _RANK}
    lag["account_opening"] = 0  # an account exists before it is used
    arrival = sorted(items, key=lambda x: (x[1] + lag[x[0]], _RANK[x[0]], x[2]["event_id"]))
    first, second = _run(pack, ordered), _run(pack, arrival)
    differences = []
    for alert_id in sorted(set(first) | set(second)):
        a, b = first.get(alert_id), second.get(alert_id)
        if a == b:
            continue
        where = "both" if a and b else "event order" if a else "arrival order"
        alert = a or b
        assert alert is not None
        differences.append(Difference(alert_id, alert["rule_id"], where, alert["summary"]))
    return len(first), len(second), differences


def pack_with_grace(path: Path, hours: int, into: Path) -> Pack:
    """The pack at `path` with `deadline_grace_hours` set to `hours` (written beside it, so
    its relative FX, calendar and list paths still resolve)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["deadline_grace_hours"] = hours
    into.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return load_pack(into)


def _seeds(text: str) -> list[int]:
    first, _, last = text.partition("-")
    return list(range(int(first), int(last or first) + 1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.arrival_order", description=__doc__)
    parser.add_argument("--pack", type=Path, default=Path("config/cn-pboc.yaml"))
    parser.add_argument("--seeds", type=_seeds, default=_seeds("1-12"), help="e.g. 1-12")
    parser.add_argument("--customers", type=int, default=600)
    parser.add_argument("--days", type=int, default=40)
    parser.add_argument("--max-lag-hours", type=float, default=20)
    args = parser.parse_args(argv)
    grace = int(args.max_lag_hours) + 4
    copy = args.pack.with_name(f".{args.pack.stem}-arrival-order.yaml")
    try:
        pack = pack_with_grace(args.pack, grace, copy)
    finally:
        copy.unlink(missing_ok=True)
    total = differing = 0
    for seed in args.seeds:
        in_order, arrived, differences = compare(
            pack, seed, args.customers, args.days, args.max_lag_hours
        )
        total += in_order
        differing += len({d.alert_id for d in differences})
        print(
            f"seed {seed}: {in_order} alerts in event order, {arrived} in arrival order, "
            f"{len(differences)} differ"
        )
        for d in differences:
            print(f"    {d.rule_id} ({d.where}): {d.summary}")
    print(
        f"{differing} of {total} alerts differ (grace {grace} h, lag up to "
        f"{args.max_lag_hours} h per topic)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
