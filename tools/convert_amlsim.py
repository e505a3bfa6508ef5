"""Convert an IBM AMLSim graph sample (github.com/IBM/AMLSim, `sample/*.tgz`, Apache-2.0) into
this project's input files and a labels file for `monitor backtest`.

Input: AMLSim's `nodes.csv` (nodeid, isFraud, init_balance, fraudStep) and
`transactions.csv` (sourceNodeId, targetNodeId, value, time), optionally its
`metadata.txt` (`patterns: 200 fan-in`). Every node is one customer of one bank (AMLSim
simulates a single bank's accounts); `time` is AMLSim's step, taken as a day from `--start`.

Output, in `--out`: `kyc.account-openings.jsonl` (every node, an individual, opened the day
before `--start`), `txn.transfers.jsonl` (each transaction once per side: the payer's `out`,
the payee's `in`, the other node as counterparty, amounts in `--currency`) and
`labels.jsonl`: one line per node with isFraud 1, its typology `--typology`, or the one
pattern `metadata.txt` names (`fan_in`, `cycle`), or `unattributed` when it names several.
Labels carry no `expected_rules`. Also `amlsim-pack.yaml`: the default pack (or
`--base-pack`) without the rules that judge identity data, which AMLSim does not have; and
`amlsim-shapes-pack.yaml`: that pack with the amount floors of the behaviour rules and of
the rules across customers at 1.

    python tools/convert_amlsim.py --nodes 20K_fanin200/nodes.csv \\
        --transactions 20K_fanin200/transactions.csv --metadata 20K_fanin200/metadata.txt \\
        --out amlsim-fanin/
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import logging
import re
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson

from monitor.core.errors import MonitorError

__all__ = ["AMOUNT_FLOORS", "PACK_FILE", "SHAPES_PACK_FILE", "convert", "main", "read_typology"]

logger = logging.getLogger(__name__)

NODES_HEADER = ("nodeid", "isFraud")
TRANSACTIONS_HEADER = ("sourceNodeId", "targetNodeId", "value", "time")
PACK_FILE = "amlsim-pack.yaml"
SHAPES_PACK_FILE = "amlsim-shapes-pack.yaml"
#: the amount floors (rule, parameter) of the behaviour rules and of the rules across
#: customers, set to 1 in the shapes pack: the only parameters that exist because of a
#: currency's scale (counts, windows, hours and shares are the pattern's shape and stay)
AMOUNT_FLOORS = (
    ("FUNNEL_IN", "min_total"),
    ("FUNNEL_OUT", "min_total"),
    ("PASS_THROUGH", "min_inflow"),
    ("FREQUENT_SAME_COUNTERPARTY", "min_amount"),
    ("DORMANT_REACTIVATION", "min_total"),
    ("COUNTERPARTY_HUB", "min_amount"),
    ("FUNDS_CYCLE", "min_amount"),
)
#: the hour (UTC) of a step's first transaction: the same calendar day in Shanghai and New York
_HOUR = 12


def _sibling(name: str) -> ModuleType:
    """A tool beside this one (tools/ is a folder of scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def customer_id(node: str) -> str:
    return f"AS{int(node):06d}"


def read_typology(metadata: Path) -> str:
    """The typology a `metadata.txt` names on its `patterns:` line (`fan_in`, `cycle`), or
    `unattributed` when it names several or none."""
    for line in metadata.read_text(encoding="utf-8").splitlines():
        if line.strip().lower().startswith("patterns:"):
            names = re.findall(r"\d+\s+([a-z][a-z-]*)", line.lower())
            kinds = {n.rstrip("s").replace("-", "_") for n in names}
            return kinds.pop() if len(kinds) == 1 else "unattributed"
    return "unattributed"


def _rows(path: Path, header: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not set(header) <= set(reader.fieldnames):
            raise ValueError(f"{path}:1: expected the AMLSim header ({', '.join(header)}, ...)")
        for number, row in enumerate(reader, 2):
            if any(not (row.get(k) or "").strip() for k in header):
                raise ValueError(f"{path}:{number}: expected {', '.join(header)}")
            yield number, row


def _transfer(
    n: int, side: str, mine: str, other: str, amount: str, at: datetime, currency: str
) -> dict[str, Any]:
    return {
        "event_id": f"as-{n}-{side}",
        "txn_id": f"as-{n}",
        "customer_id": customer_id(mine),
        "account_id": mine,
        "occurred_at": at.isoformat(),
        "direction": side,
        "amount": amount,
        "currency": currency,
        "counterparty": {
            "name": None,
            "account_number": other,
            "bank_code": None,
            "customer_id": customer_id(other),
        },
        "channel": None,
        "purpose": None,
        "source_of_funds": None,
    }


def convert(
    nodes: Path,
    transactions: Path,
    out: Path,
    typology: str,
    start: date,
    currency: str = "USD",
) -> dict[str, int]:
    """Write the input files and labels into `out`; return counts. Transactions are
    written in step order (AMLSim's order within a step, one second apart)."""
    fraud: dict[str, str] = {}
    customers: list[str] = []
    for number, row in _rows(nodes, NODES_HEADER):
        node = row["nodeid"].strip()
        if not node.isdigit():
            raise ValueError(f"{nodes}:{number}: nodeid {node!r} is not a number")
        customers.append(node)
        if row["isFraud"].strip() == "1":
            fraud[node] = (row.get("fraudStep") or "").strip()
    known = set(customers)
    steps: list[tuple[int, int, str, str, str]] = []
    for number, row in _rows(transactions, TRANSACTIONS_HEADER):
        source, target = row["sourceNodeId"].strip(), row["targetNodeId"].strip()
        if source not in known or target not in known:
            raise ValueError(f"{transactions}:{number}: a node that nodes.csv does not list")
        try:
            amount = Decimal(row["value"].strip()).quantize(Decimal("0.01"))
            step = int(row["time"].strip())
        except (InvalidOperation, ValueError):
            raise ValueError(f"{transactions}:{number}: value or time is not a number") from None
        if amount <= 0 or step < 1:
            raise ValueError(f"{transactions}:{number}: expected value > 0 and time >= 1")
        steps.append((step, number, source, target, str(amount)))
    steps.sort()
    out.mkdir(parents=True, exist_ok=True)
    first = datetime.combine(start, time(_HOUR), UTC)
    counts = {"customers": len(customers), "transactions": len(steps), "transfers": 0}
    with (out / "txn.transfers.jsonl").open("wb") as handle:
        previous, k = 0, 0
        for step, number, source, target, value in steps:
            k = k + 1 if step == previous else 0
            previous = step
            at = first + timedelta(days=step - 1, seconds=k)
            for side, mine, other in (("out", source, target), ("in", target, source)):
                event = _transfer(number, side, mine, other, value, at, currency)
                handle.write(orjson.dumps(event) + b"\n")
                counts["transfers"] += 1
    opened = (first - timedelta(days=1)).isoformat()
    with (out / "kyc.account-openings.jsonl").open("wb") as handle:
        for node in customers:
            opening = {
                "event_id": f"as-open-{node}",
                "customer_id": customer_id(node),
                "account_id": node,
                "opened_at": opened,
                "customer_type": "individual",
            }
            handle.write(orjson.dumps(opening) + b"\n")
    with (out / "labels.jsonl").open("wb") as handle:
        for node, fraud_step in fraud.items():
            label: dict[str, Any] = {
                "customer_id": customer_id(node),
                "typology": typology,
                "source": "AMLSim",
            }
            if fraud_step.lstrip("-").isdigit() and int(fraud_step) >= 0:
                label["fraud_step"] = int(fraud_step)
            handle.write(orjson.dumps(label) + b"\n")
    counts["labels"] = len(fraud)
    return counts


def write_shapes_pack(pack: Path) -> Path:
    """`amlsim-shapes-pack.yaml` beside `pack`: the same pack with every floor of
    `AMOUNT_FLOORS` at 1 (in its own currency), so that only the shape criteria (payers,
    payees, customers, shares, counts, hops, hours) decide: AMLSim's amounts are a few
    hundred units, far under the floors of a bank's pack. Which rules are on is the
    pack's. Validated by loading it."""
    import yaml

    from monitor.core.pack import load_pack

    raw = yaml.safe_load(pack.read_text(encoding="utf-8"))
    raw["pack"] = f"{raw['pack']}-shapes"
    for rule_id, param in AMOUNT_FLOORS:
        rule = raw["rules"].get(rule_id)
        if rule and rule.get(param):
            rule[param] = {**rule[param], "amount": "1"}
    path = pack.with_name(SHAPES_PACK_FILE)
    path.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), encoding="utf-8")
    load_pack(path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=Path, required=True, help="AMLSim nodes.csv")
    parser.add_argument("--transactions", type=Path, required=True, help="transactions.csv")
    parser.add_argument("--metadata", type=Path, default=None, help="metadata.txt")
    parser.add_argument("--typology", default=None, help="overrides metadata.txt's pattern")
    parser.add_argument("--start", type=date.fromisoformat, default=date(2026, 1, 5))
    parser.add_argument("--currency", default="USD", help="of AMLSim's amounts (it names none)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--base-pack", type=Path, default=None, help="the pack to start from")
    args = parser.parse_args(argv)
    try:
        typology = args.typology or (
            read_typology(args.metadata) if args.metadata else "unattributed"
        )
        counts = convert(
            args.nodes, args.transactions, args.out, typology, args.start, args.currency
        )
        pack = _sibling("convert_amlworld").write_pack(args.out, args.base_pack, "amlsim")
        shapes = write_shapes_pack(pack)
    except (OSError, ValueError, KeyError, MonitorError) as exc:
        print(f"convert_amlsim: {exc}", file=sys.stderr)
        return 2
    print(", ".join(f"{k} {v:,}" for k, v in counts.items()) + f"; typology {typology}")
    print(f"pack without the identity rules: {pack}")
    print(f"the same with the amount floors at 1: {shapes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
