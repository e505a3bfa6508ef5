"""The worker's Kafka-facing services: the rule path, the Redis delivery and the gauges.

The hot path is a Faust service around an aiokafka consumer, not a Faust agent: Faust's
per-event stream machinery alone costs about 200 µs of CPU per event here (a do-nothing
agent), more than the worker spends per event with the whole rule pack (docs/performance.md).
"""

from agents.app import create_app
from agents.pipeline import Pipeline

__all__ = ["Pipeline", "create_app"]
