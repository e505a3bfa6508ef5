"""The us-bsa pack's LV_CASH_CONDUCTOR on real Apache Kafka: cash one person conducts for
several customers (31 CFR 1010.313(b)) is re-keyed by the person key to the conductor's own
state record and reported as the rule core run offline reports it; the document number is
no key."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from monitor.core.conductor import PERSON_KEY_PREFIX, conductor_key
from monitor.core.pack import load_pack
from monitor.tools.scenario import Message, expected_findings
from schemas import CashTransaction
from tests.support.kafka_io import produce, read_topic

pytestmark = pytest.mark.integration

PACK = Path(__file__).resolve().parents[2] / "config" / "us-bsa.yaml"
PASSPORT = "X12345678"


def _cash(n: int, customer: str, amount: str) -> bytes:
    return orjson.dumps(
        {
            "event_id": f"ev-c{n}",
            "txn_id": f"T-C{n}",
            "customer_id": customer,
            "account_id": f"A-{customer}",
            "occurred_at": f"2026-03-03T1{n}:00:00-05:00",
            "direction": "in",
            "amount": amount,
            "currency": "USD",
            "conductor": {
                "name": "Ann Lee",
                "id_document": {"type": "passport", "number": PASSPORT},
            },
        }
    )


def test_conductor_cash_for_three_customers_is_reported_for_the_conductor(worker_factory):
    rows = [("CU-1", "4000"), ("CU-2", "3500"), ("CU-3", "2500.01")]
    keyed = [(c.encode(), _cash(n, c, a)) for n, (c, a) in enumerate(rows)]
    expected, _ = expected_findings(load_pack(PACK), [Message("cash", k, v) for k, v in keyed])
    (want,) = [a for a in expected.alerts if a.rule_id == "LV_CASH_CONDUCTOR"]

    worker = worker_factory(rules=str(PACK), partitions=4).start()
    cash = worker.topic("txn.cash")
    produce(worker.bootstrap, [(cash, k, v, None) for k, v in keyed])
    alerts = read_topic(
        worker.bootstrap,
        worker.topic("aml.alerts"),
        until=lambda m: want.alert_id in {orjson.loads(x.value)["alert_id"] for x in m},
        timeout=120,
    )
    seen = {orjson.loads(m.value)["alert_id"]: orjson.loads(m.value) for m in alerts}
    assert want.alert_id in seen, worker.log_text()
    got = seen[want.alert_id]
    # the three customers' cash reaches the conductor's partition in the order the worker
    # forwarded it, not necessarily in event time: which one crosses (event_time) and the
    # evidence order may differ from the offline run, as for LV_CASH across partitions
    same = {"alert_id", "rule_id", "customer_id", "amount", "currency", "queue", "report_due"}
    offline = want.model_dump(mode="json")
    assert {k: got[k] for k in same} == {k: offline[k] for k in same}
    assert sorted(got["evidence"]) == ["T-C0", "T-C1", "T-C2"]
    for message in alerts:
        assert PASSPORT.encode() not in (message.key or b"")
    # one worker holds every partition: the cash is applied to the conductor's record in
    # its own batch, and that record is written to the changelog under the person key
    person = conductor_key(CashTransaction.model_validate_json(keyed[0][1]))
    assert person is not None and person.startswith(PERSON_KEY_PREFIX)
    changelog = read_topic(
        worker.bootstrap,
        f"{worker.prefix}-app-customer-state-changelog",  # the worker's state changelog
        until=lambda m: person.encode() in {x.key for x in m},
        timeout=30,
    )
    assert person.encode() in {m.key for m in changelog}
    assert all(PASSPORT.encode() not in (m.key or b"") + (m.value or b"") for m in changelog)
    assert PASSPORT not in worker.log_text(100_000)
