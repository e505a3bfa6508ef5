"""The Faust application: settings in, a configured `faust.App` out."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Coroutine, Generator
from typing import Any

import faust
from faust.sensors.monitor import Monitor
from faust.transport import consumer as faust_consumer
from faust.transport.drivers import aiokafka as faust_aiokafka

from monitor.settings import Settings

__all__ = ["MonitorApp", "QuietMonitor", "create_app", "free_port"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class QuietMonitor(Monitor):
    """Faust's built-in Monitor sensor without its per-message and per-event bookkeeping
    (counters, timings and dict updates on every message, read by nothing here: the
    monitor's own Prometheus metrics cover it). Offsets and commit tracking, which Faust
    itself reads, are kept."""

    def on_message_in(self, tp: Any, offset: int, message: Any) -> None:
        return None

    def on_stream_event_in(self, tp: Any, offset: int, stream: Any, event: Any) -> None:
        return None

    def on_stream_event_out(self, tp: Any, offset: int, stream: Any, event: Any,
                            state: Any = None) -> None:
        return None

    def on_message_out(self, tp: Any, offset: int, message: Any) -> None:
        return None

    def on_table_get(self, table: Any, key: Any) -> None:
        return None

    def on_table_set(self, table: Any, key: Any, value: Any) -> None:
        return None

    def on_send_initiated(self, producer: Any, topic: str, message: Any, keysize: int,
                          valsize: int) -> None:
        return None

    def on_send_completed(self, producer: Any, state: Any, metadata: Any) -> None:
        return None


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    """Faust's aiokafka consumer thread with the fetch wait the monitor is configured with.
    Faust passes `fetch_max_wait_ms=1500` to aiokafka unconditionally: on a quiet partition
    the broker then holds every fetch 1.5 s, which is latency an alert pays. aiokafka reads
    the value when the consumer starts, so it is set on the fresh consumer object."""

    fetch_max_wait_ms: int = 1500

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = self.fetch_max_wait_ms  # noqa: SLF001 - no public setter
        return consumer


class _Continue:
    """Awaitable that finishes a coroutine already run up to its first suspension (`first`
    is what it yielded), exactly as the task that would have run it from the start."""

    __slots__ = ("coro", "first")

    def __init__(self, coro: Coroutine[Any, Any, Any], first: Any) -> None:
        self.coro, self.first = coro, first

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, value = self.coro, self.first
        while True:
            try:
                received = yield value
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # noqa: BLE001 - cancellation goes into the coroutine
                try:
                    value = coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    value = coro.send(received)
                except StopIteration as stop:
                    return stop.value


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> _ConsumerThread:
        thread = _ConsumerThread(self, loop=self.loop, beacon=self.beacon)
        thread.fetch_max_wait_ms = self.app.monitor_fetch_max_wait_ms  # type: ignore[attr-defined]
        return thread

    async def _drain_messages(self, fetcher: Any) -> None:  # pragma: no cover - Faust's loop
        """Faust 0.15's `Consumer._drain_messages` with one change. Faust hands every message
        to the conductor as `wait_first(callback(message), suspend_flow.wait())`: two tasks
        and an `asyncio.wait` per message, so that a delivery blocked (flow control during a
        rebalance, a full buffer) is abandoned when the flow is suspended. Here the callback
        first runs inline; almost always it completes without blocking, and that is the
        whole delivery. If it does block, the rest of it runs under the same `wait_first`
        as in Faust, so a suspended flow abandons it exactly as before."""
        callback = self.callback
        getmany = self.getmany
        consumer_should_stop = self._stopped.is_set
        fetcher_should_stop = fetcher._stopped.is_set
        get_read_offset = self._read_offset.__getitem__
        set_read_offset = self._read_offset.__setitem__
        flag_consumer_fetching = faust_consumer.CONSUMER_FETCHING
        set_flag = self.diag.set_flag
        unset_flag = self.diag.unset_flag
        commit_every = self._commit_every
        acks_enabled_for = self.app.topics.acks_enabled_for
        suspended = self.suspend_flow.is_set
        yield_every = 100
        num_since_yield = 0
        sleep = asyncio.sleep
        try:
            while not (consumer_should_stop() or fetcher_should_stop()):
                set_flag(flag_consumer_fetching)
                ait = getmany(timeout=1.0)
                await self.sleep(0)
                if not self.should_stop:
                    async for tp, message in ait:
                        num_since_yield += 1
                        if num_since_yield > yield_every:
                            await sleep(0)
                            num_since_yield = 0
                        offset = message.offset
                        r_offset = get_read_offset(tp)
                        if r_offset is None or offset >= r_offset:
                            gap = offset - (r_offset or 0)
                            if gap > 1 and r_offset and acks_enabled_for(message.topic):
                                await self._add_gap(tp, r_offset + 1, offset)
                            if commit_every is not None and self._n_acked >= commit_every:
                                self._n_acked = 0
                                await self.commit()
                            delivery = callback(message)
                            if suspended():
                                await self.wait_first(delivery, self.suspend_flow.wait())
                            else:
                                try:
                                    first = delivery.send(None)
                                except StopIteration:
                                    pass  # delivered without blocking
                                else:
                                    await self.wait_first(_Continue(delivery, first),
                                                          self.suspend_flow.wait())
                            set_read_offset(tp, offset)
                    unset_flag(flag_consumer_fetching)
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                self.log.info("Broker stopped consumer, shutting down...")
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                self.log.info("Consumer shutting down for user cancel.")
                return
            raise
        except Exception as exc:
            self.log.exception("Drain messages raised: %r", exc)
            raise
        finally:
            unset_flag(flag_consumer_fetching)


class _Transport(faust_aiokafka.Transport):
    Consumer = _Consumer


class MonitorApp(faust.App):
    """`faust.App` whose Kafka consumer honours `MONITOR_FETCH_MAX_WAIT_MS`."""

    monitor_fetch_max_wait_ms: int = 1500

    def _new_transport(self) -> Any:
        return _Transport(self.conf.broker_consumer, self)


def create_app(settings: Settings) -> faust.App:
    """At-least-once, one partition count everywhere, earliest offsets for a new group (a new
    deployment reads the whole retained history rather than skipping it)."""
    from monitor.kafka_security import faust_credentials

    store = "memory://" if settings.store == "memory" else "rocksdb://"
    app = MonitorApp(
        settings.app_id,
        broker=[f"kafka://{h.strip()}" for h in settings.kafka_bootstrap.split(",")],
        broker_credentials=faust_credentials(settings),
        store=store,
        datadir=str(settings.data_dir),
        processing_guarantee="at_least_once",
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        topic_allow_declare=True,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=min(3.0, settings.session_timeout_s / 3),
        producer_acks=-1,
        producer_linger_ms=settings.producer_linger_ms,
        web_enabled=False,
        web_port=settings.web_port or free_port(),
        web_host="127.0.0.1",
        autodiscover=False,
        table_standby_replicas=0,
        stream_wait_empty=True,
        logging_config=None,
    )
    app.monitor_fetch_max_wait_ms = settings.fetch_max_wait_ms
    app.monitor = QuietMonitor()
    return app

