"""Where findings go besides Kafka: the compliance queues."""

from monitor.sinks.redis_queue import RedisQueueSink

__all__ = ["RedisQueueSink"]
