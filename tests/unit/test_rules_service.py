"""Pieces of the worker's rule service that need no broker: where a customer's events are
applied, and how a forwarded event's kind is read back."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner
from prometheus_client import CollectorRegistry

from agents.rules import KIND_HEADER, RulesService, _header
from monitor.decode import Decoder
from monitor.engine import Engine
from monitor.metrics import Metrics
from monitor.pack import load_pack
from monitor.settings import load_settings


def _service(partitions: int) -> RulesService:
    pack = load_pack()
    settings = load_settings(partitions=partitions)
    return RulesService(settings, Engine(pack), Decoder(pack.fx), Metrics.create(CollectorRegistry()))


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
    assert _header(headers, KIND_HEADER) == "cash"
    assert _header((), KIND_HEADER) == ""
    assert _header(None, KIND_HEADER) == ""


class _Records:
    """What `_rewind` reads of a fetched record: its offset."""

    def __init__(self, *offsets: int) -> None:
        self.records = [type("Record", (), {"offset": o})() for o in offsets]


class _Positions:
    """The two consumer calls `_rewind` makes, recorded."""

    def __init__(self, assigned: set) -> None:
        self.assigned = assigned
        self.seeks: dict = {}

    def assignment(self) -> set:
        return self.assigned

    def seek(self, tp, offset: int) -> None:  # noqa: ANN001
        self.seeks[tp] = offset


def test_batches_sent_back_are_fetched_again_from_the_first_offset_of_each_partition() -> None:
    """After a refused write every batch in flight is fetched again: each partition goes back
    to its first offset in the oldest batch that holds it; partitions no longer held are
    left alone (their next owner starts from the committed offset)."""
    from aiokafka import TopicPartition

    service = _service(4)
    p0, p1, p2, gone = (TopicPartition("txn.cash", p) for p in range(4))
    consumer = _Positions({p0, p1, p2})
    service.consumer = consumer  # type: ignore[assignment]
    oldest = {p0: _Records(10, 11, 12).records, gone: _Records(5).records}
    middle = {p1: _Records(3, 4).records, p0: _Records(13).records}
    newest = {p0: _Records(14).records, p1: _Records(5).records, p2: _Records(40, 41).records}
    service._rewind(oldest, middle, newest)  # noqa: SLF001
    assert consumer.seeks == {p0: 10, p1: 3, p2: 40}
    consumer.seeks.clear()
    service._rewind({}, {p2: []})  # noqa: SLF001 - an empty fetch moves nothing
    assert consumer.seeks == {}
