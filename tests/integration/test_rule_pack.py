"""Every rule id of the cn-pboc pack fires on the real broker, through the real worker.

One worker runs `config/samples/all-rules.jsonl` (one customer per rule); each rule id is
then its own test case against what reached `aml.alerts`, the Redis queue and
`aml.reid-tasks`, compared with the rule core run offline over the same file."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest
import redis

from monitor.core.pack import load_pack
from monitor.io.devworker import WorkerProcess
from monitor.tools.scenario import expected_findings, read_scenario
from tests.support.kafka_io import produce, read_topic
from tests.support.samples import ALL_RULES, RULE_IDS, records
from tests.support.worker import wait_consumed

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def outcome(kafka, redis_server, tmp_path_factory) -> Iterator[dict]:
    messages = read_scenario(ALL_RULES)
    expected, _ = expected_findings(load_pack(), messages)
    worker = WorkerProcess(kafka.bootstrap, redis_server.url, tmp_path_factory.mktemp("rules"))
    worker.start()
    try:
        # accounts are opened before they are used: openings first, consumed, then the rest
        # (the customer type decides between LV_XBORDER_INDIVIDUAL and LV_TRANSFER_ENTITY)
        openings = [m for m in messages if m.kind == "account_opening"]
        produce(kafka.bootstrap, records(worker, openings))
        wait_consumed(worker, len(openings))
        rest = [m for m in messages if m.kind != "account_opening"]
        produce(kafka.bootstrap, records(worker, rest))
        want = {a.alert_id for a in expected.alerts}
        alerts = read_topic(
            kafka.bootstrap,
            worker.topic("aml.alerts"),
            until=lambda m: {orjson.loads(x.value)["alert_id"] for x in m} >= want,
            timeout=120,
        )
        tasks = read_topic(
            kafka.bootstrap,
            worker.topic("aml.reid-tasks"),
            until=lambda m: (
                len({orjson.loads(x.value)["task_id"] for x in m}) >= len(expected.tasks)
            ),
            timeout=60,
        )
        client = redis.Redis.from_url(redis_server.url, decode_responses=True)
        queued = {}
        for key in client.scan_iter(f"{worker.prefix}:queue:*"):
            if client.type(key) == "stream":
                for _, fields in client.xrange(key):
                    queued.setdefault(fields["alert_id"], []).append(key)
        yield {
            "expected": expected,
            "alerts": {a["alert_id"]: a for a in (orjson.loads(m.value) for m in alerts)},
            "tasks": {t["task_id"]: t for t in (orjson.loads(m.value) for m in tasks)},
            "queued": queued,
            "log": worker.log_text,
        }
    finally:
        worker.stop()


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_rule_fires_on_the_real_broker(outcome, rule_id):
    expected = [a for a in outcome["expected"].alerts if a.rule_id == rule_id]
    assert expected, f"the scenario has no {rule_id} case"
    for alert in expected:
        live = outcome["alerts"].get(alert.alert_id)
        assert live is not None, f"{rule_id} {alert.alert_id} missing\n{outcome['log']()}"
        assert {k: v for k, v in live.items() if k != "detected_at"} == alert.model_dump(
            mode="json", exclude={"detected_at"}
        )
        assert len(outcome["queued"].get(alert.alert_id, [])) == 1  # in its queue, once


def test_tasks_match_the_rule_core(outcome):
    want = {t.task_id: t.model_dump(mode="json") for t in outcome["expected"].tasks}
    assert outcome["tasks"] == want
    assert {t["trigger"] for t in want.values()} >= {
        "INCOMPLETE_KYC",
        "ID_EXPIRED",
        "ENHANCED_DUE_DILIGENCE",
        "WATCHLIST_MATCH",
        "SUSPECTED_ML_TF",
        "ABNORMAL_ACTIVITY",
        "PROFILE_CHANGE",
    }
