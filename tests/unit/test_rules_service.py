"""Pieces of the worker's rule service that need no broker: where a customer's events are
applied, and how a forwarded event's kind is read back."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner
from prometheus_client import CollectorRegistry

from agents.routing import KIND_HEADER, read_header
from agents.rules import RulesService
from monitor.core.decode import Decoder
from monitor.core.engine import Engine
from monitor.core.pack import load_pack
from monitor.io.metrics import Metrics
from monitor.io.settings import load_settings


def _service(partitions: int) -> RulesService:
    pack = load_pack()
    settings = load_settings(partitions=partitions)
    return RulesService(
        settings, Engine(pack), Decoder(pack.fx), Metrics.create(CollectorRegistry())
    )


def test_a_customer_is_applied_on_the_partition_a_keyed_producer_chooses() -> None:
    """Producers keyed by customer id (aiokafka's default partitioner, murmur2 like Java's)
    put a customer's events on its home partition: those are applied without a hop."""
    partitioner = DefaultPartitioner()
    for partitions in (1, 4, 12):
        service = _service(partitions)
        every = list(range(partitions))
        for n in range(2000):
            key = f"C{n:06d}".encode()
            assert service.home_partition(key) == partitioner(key, every, every)


def test_the_kind_header_of_a_forwarded_event_is_read_back() -> None:
    headers = (("other", b"x"), (KIND_HEADER, b"cash"))
    assert read_header(headers, KIND_HEADER) == "cash"
    assert read_header((), KIND_HEADER) == ""
    assert read_header(None, KIND_HEADER) == ""
