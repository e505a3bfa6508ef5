"""Scenario files: JSONL lines `{"topic", "value" | "raw", "key"?}` fed to the input topics.

Used by the demo, the tests and anyone who wants to try a situation on a running worker.
`expected_findings` runs the same rule core offline over a file, so a test or the demo
knows exactly which alert ids the worker must deliver."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer

from monitor.core.conductor import conductor_cash
from monitor.core.decode import Decoder, Rejection
from monitor.core.engine import Engine
from monitor.core.errors import ConfigurationError
from monitor.core.pack import Pack
from monitor.core.rules import Findings
from monitor.core.state import CustomerState
from monitor.io.settings import Settings
from monitor.tools.traffic import TOPIC_FILES

__all__ = ["Message", "expected_findings", "produce", "produce_file", "read_scenario"]


@dataclass(frozen=True, slots=True)
class Message:
    kind: str
    key: bytes | None
    value: bytes


def read_scenario(path: Path) -> list[Message]:
    """The messages of a scenario file; a bad line raises `ConfigurationError` naming the
    file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigurationError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    messages = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            item = orjson.loads(line)
            kind = TOPIC_FILES[item["topic"]]
            if "raw" in item:
                value = str(item["raw"]).encode()
            else:
                value = orjson.dumps(item["value"])
            key = item.get("key")
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
            raise ConfigurationError(
                f"{path}:{number}: expected {{topic, value|raw}} with an input topic"
            ) from None
        if key is not None and not isinstance(key, str):
            raise ConfigurationError(f"{path}:{number}: key must be a string")
        if key is None and isinstance(item.get("value"), dict):
            customer = item["value"].get("customer_id")
            key = customer if isinstance(customer, str) else None
        messages.append(Message(kind, key.encode() if key else None, value))
    return messages


async def produce(settings: Settings, messages: list[Message]) -> int:
    from monitor.io.kafka_security import aiokafka_options

    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        acks="all",
        linger_ms=5,
        **aiokafka_options(settings),
    )
    await producer.start()
    try:
        topics = settings.input_topics
        futures = [await producer.send(topics[m.kind], key=m.key, value=m.value) for m in messages]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return len(messages)


def produce_file(settings: Settings, path: Path) -> int:
    return asyncio.run(produce(settings, read_scenario(path)))


def expected_findings(pack: Pack, messages: list[Message]) -> tuple[Findings, int]:
    """Run the rule core over `messages` in order; returns (findings, invalid count). Cash
    is applied to its conductor's record too when the pack aggregates per conductor, a
    transfer or remittance to its accounts' records when the pack has rules across
    customers (and the paths they pass on, at once)."""
    engine = Engine(pack)
    decoder = Decoder(pack.fx)
    states: dict[str, CustomerState] = {}
    total = Findings()
    invalid = 0
    now = datetime.now(UTC)
    for message in messages:
        event: Any = decoder.decode(message.kind, message.value)
        if isinstance(event, Rejection):
            invalid += 1
            continue
        person = conductor_cash(event) if engine.conductors else None
        todo: list[Any] = [event] if person is None else [event, person]
        if engine.network:
            todo += engine.edges(event)
        while todo:
            applied = todo.pop(0)
            outcome = engine.process(states.get(applied.customer_id), applied, now)
            states[applied.customer_id] = outcome.state
            total.alerts.extend(outcome.findings.alerts)
            total.tasks.extend(outcome.findings.tasks)
            todo[:0] = outcome.findings.forwards  # a path to the next account's record
    return total, invalid
