"""Hostile input through the real worker: every bad message lands in `aml.dead-letters` with
its bytes, position and errors; duplicated event ids never count twice; the worker stays
up with bounded memory. (The decoders alone are fuzzed far harder in
tests/unit/test_fuzz_decode.py; this checks the worker's handling of what they reject.)"""

from __future__ import annotations

import base64
import random
from collections import Counter
from pathlib import Path

import orjson
import pytest

from tests.support.kafka_io import produce, read_topic

pytestmark = pytest.mark.integration

HOSTILE = 1200
TOPICS = ("kyc.account-openings", "kyc.customer-updates", "txn.cash", "txn.remittances")


def _cash(i: int, **override: object) -> dict[str, object]:
    body: dict[str, object] = {
        "event_id": f"bad-{i}",
        "txn_id": f"B{i}",
        "customer_id": f"H{i % 50}",
        "account_id": "A-1",
        "occurred_at": "2026-03-02T10:00:00+08:00",
        "direction": "in",
        "amount": "100.00",
        "currency": "CNY",
    }
    body.update(override)
    return body


def _hostile(i: int, rng: random.Random) -> bytes:
    """One malformed message, unique by its index (so each dead letter can be matched)."""
    case = i % 12
    if case == 0:
        return b"\xff\xfe" + rng.randbytes(20) + str(i).encode()  # invalid UTF-8
    if case == 1:
        return orjson.dumps([i, "not an object"])
    if case == 2:
        return orjson.dumps(_cash(i, amount="NaN"))
    if case == 3:
        return orjson.dumps(_cash(i, amount="Infinity"))
    if case == 4:
        return orjson.dumps(_cash(i, amount="1e400"))
    if case == 5:
        return orjson.dumps(_cash(i, amount=-5))
    if case == 6:
        return orjson.dumps(_cash(i, occurred_at="2026-03-02T10:00:00"))  # no offset
    if case == 7:
        return orjson.dumps(_cash(i, occurred_at="99999-01-01T00:00:00+08:00"))
    if case == 8:
        return b"[" * 5000 + str(i).encode() + b"]" * 5000  # deep nesting
    if case == 9:
        return orjson.dumps(_cash(i, amount={"nested": [1, 2, {"x": None}]}))
    if case == 10:
        return orjson.dumps(_cash(i, currency="XXX"))
    return orjson.dumps({"note": "x" * 200_000, "i": i})  # above MONITOR_MAX_MESSAGE_BYTES


def _rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def test_hostile_messages_become_dead_letters_and_duplicates_count_once(worker_factory):
    worker = worker_factory(max_message_bytes="100000").start()
    rng = random.Random(7)
    records, sent = [], Counter()
    for i in range(HOSTILE):
        topic, partition = worker.topic(TOPICS[i % 4]), rng.randrange(4)
        value = _hostile(i, rng)
        records.append((topic, rng.randbytes(4), value, partition))
        sent[value] += 1

    # one customer's deposits, the first redelivered twice on other partitions: 30,000 counted
    # twice would cross RMB 50,000 alone; counted once it needs the 20,000 after it
    first = orjson.dumps(_cash(0, event_id="dup-1", txn_id="D1", customer_id="DUP", amount="30000"))
    second = orjson.dumps(
        _cash(
            0,
            event_id="dup-2",
            txn_id="D2",
            customer_id="DUP",
            amount="20000",
            occurred_at="2026-03-02T15:00:00+08:00",
        )
    )
    cash = worker.topic("txn.cash")
    produce(
        worker.bootstrap, [(cash, b"DUP", first, 0), (cash, None, first, 1), (cash, None, first, 2)]
    )
    produce(worker.bootstrap, records)
    produce(worker.bootstrap, [(cash, b"DUP", second, 0)])

    letters = read_topic(
        worker.bootstrap,
        worker.topic("aml.dead-letters"),
        until=lambda m: len(m) >= HOSTILE,
        timeout=120,
    )
    assert len(letters) == HOSTILE, worker.log_text()
    got: Counter[bytes] = Counter()
    positions = set()
    for letter in letters:
        body = orjson.loads(letter.value)
        got[base64.b64decode(body["value_b64"])] += 1
        assert body["errors"] and body["reason"]
        assert body["topic"] in {worker.topic(t) for t in TOPICS}
        positions.add((body["topic"], body["partition"], body["offset"]))
    assert got == sent  # every hostile message, byte for byte, exactly once
    assert len(positions) == HOSTILE

    alerts = read_topic(
        worker.bootstrap, worker.topic("aml.alerts"), until=lambda m: len(m) >= 1, timeout=60
    )
    found = [orjson.loads(a.value) for a in alerts]
    assert [(a["rule_id"], sorted(a["evidence"]), a["amount"]) for a in found] == [
        ("LV_CASH", ["D1", "D2"], "50000.00")
    ]
    assert worker.proc is not None and worker.proc.poll() is None, "the worker died"
    assert _rss_bytes(worker.proc.pid) < 600 * 2**20
