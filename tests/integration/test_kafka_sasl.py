"""The worker against a Kafka that requires SASL (PLAIN over loopback), configured only by
MONITOR_* variables; the password never shows in its logs."""

from __future__ import annotations

import asyncio

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError

from monitor.io.devservers import KafkaServer
from monitor.io.devworker import WorkerProcess

pytestmark = pytest.mark.integration

USERS = {"admin": "admin-s3cret", "monitor": "monitor-s3cret"}


@pytest.fixture(scope="module")
def sasl_kafka():
    server = KafkaServer(sasl_users=USERS).start()
    try:
        yield server
    finally:
        server.stop()


def _client_options(user: str, password: str) -> dict:
    return {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "PLAIN",
        "sasl_plain_username": user,
        "sasl_plain_password": password,
    }


def test_a_client_without_credentials_is_refused(sasl_kafka):
    async def run() -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=sasl_kafka.bootstrap,
            request_timeout_ms=3000,
            **_client_options("monitor", "wrong-password"),
        )
        try:
            await producer.start()
        finally:
            await producer.stop()

    with pytest.raises(KafkaError):
        asyncio.run(run())


def test_worker_with_sasl_settings_raises_alerts(sasl_kafka, redis_server, tmp_path):
    worker = WorkerProcess(
        sasl_kafka.bootstrap,
        redis_server.url,
        tmp_path,
        extra_env={
            "MONITOR_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "MONITOR_KAFKA_SASL_MECHANISM": "PLAIN",
            "MONITOR_KAFKA_SASL_USERNAME": "monitor",
            "MONITOR_KAFKA_SASL_PASSWORD": USERS["monitor"],
            "MONITOR_STORE": "memory",
        },
    )
    worker.start()
    try:
        worker.wait_ready()
        value = orjson.dumps(
            {
                "event_id": "s1",
                "txn_id": "s1",
                "customer_id": "S1",
                "account_id": "A",
                "occurred_at": "2026-03-02T10:00:00+08:00",
                "direction": "in",
                "amount": "50000",
                "currency": "CNY",
            }
        )

        async def run() -> list:
            options = _client_options("monitor", USERS["monitor"])
            producer = AIOKafkaProducer(bootstrap_servers=sasl_kafka.bootstrap, **options)
            await producer.start()
            await (await producer.send(worker.topic("txn.cash"), value, key=b"S1"))
            await producer.stop()
            consumer = AIOKafkaConsumer(
                worker.topic("aml.alerts"),
                bootstrap_servers=sasl_kafka.bootstrap,
                auto_offset_reset="earliest",
                **options,
            )
            await consumer.start()
            try:
                batch = await asyncio.wait_for(
                    consumer.getmany(timeout_ms=60_000, max_records=1), 90
                )
                return [r for records in batch.values() for r in records]
            finally:
                await consumer.stop()

        records = asyncio.run(run())
        assert [orjson.loads(r.value)["rule_id"] for r in records] == ["LV_CASH"]
        assert USERS["monitor"] not in worker.log_text(100_000)
    finally:
        worker.stop()
