"""The Faust application: settings in, a configured `faust.App` out."""

from __future__ import annotations

from typing import Any

import faust
from faust.sensors.monitor import Monitor

from monitor.io.devservers import free_port
from monitor.io.settings import Settings

__all__ = ["QuietMonitor", "create_app"]


class QuietMonitor(Monitor):
    """Faust's built-in Monitor sensor without its per-message and per-event bookkeeping
    (counters, timings and dict updates on every message, read by nothing here: the
    monitor's own Prometheus metrics cover it). Offsets and commit tracking, which Faust
    itself reads, are kept."""

    def on_message_in(self, tp: Any, offset: int, message: Any) -> None:
        return None

    def on_stream_event_in(self, tp: Any, offset: int, stream: Any, event: Any) -> None:
        return None

    def on_stream_event_out(
        self, tp: Any, offset: int, stream: Any, event: Any, state: Any = None
    ) -> None:
        return None

    def on_message_out(self, tp: Any, offset: int, message: Any) -> None:
        return None

    def on_table_get(self, table: Any, key: Any) -> None:
        return None

    def on_table_set(self, table: Any, key: Any, value: Any) -> None:
        return None

    def on_send_initiated(
        self, producer: Any, topic: str, message: Any, keysize: int, valsize: int
    ) -> None:
        return None

    def on_send_completed(self, producer: Any, state: Any, metadata: Any) -> None:
        return None


def create_app(settings: Settings) -> faust.App:
    """The Faust app that hosts the rule service, the Redis delivery and the gauges timer.
    Both services consume with their own aiokafka consumers and standard assignors, in the
    groups `MONITOR_APP_ID` (rules) and `<MONITOR_APP_ID>-queue` (delivery), which Faust's
    own assignor cannot share: the app's id, and so its own group and leader topic, is
    `<MONITOR_APP_ID>-faust`. It keeps no Faust tables and runs no agents."""
    from monitor.io.kafka_security import faust_credentials

    app = faust.App(
        f"{settings.app_id}-faust",
        broker=[f"kafka://{h.strip()}" for h in settings.kafka_bootstrap.split(",")],
        broker_credentials=faust_credentials(settings),
        store="memory://",
        datadir=str(settings.data_dir),
        processing_guarantee="at_least_once",
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        topic_allow_declare=True,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=settings.heartbeat_interval_s,
        producer_acks=-1,
        web_enabled=False,
        web_port=settings.web_port or free_port(),
        web_host="127.0.0.1",
        autodiscover=False,
        stream_wait_empty=True,
        logging_config=None,
    )
    app.monitor = QuietMonitor()
    return app
