"""Where findings go besides Kafka: the compliance queues."""

from monitor.io.sinks.redis_queue import RedisQueueSink

__all__ = ["RedisQueueSink"]
