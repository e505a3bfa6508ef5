"""The Faust application: settings in, a configured `faust.App` out."""

from __future__ import annotations

import socket

import faust

from monitor.settings import Settings

__all__ = ["create_app", "free_port"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def create_app(settings: Settings) -> faust.App:
    """At-least-once, one partition count everywhere, earliest offsets for a new group (a new
    deployment reads the whole retained history rather than skipping it)."""
    from monitor.kafka_security import faust_credentials

    store = "memory://" if settings.store == "memory" else "rocksdb://"
    return faust.App(
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
        web_enabled=False,
        web_port=settings.web_port or free_port(),
        web_host="127.0.0.1",
        autodiscover=False,
        table_standby_replicas=0,
        stream_wait_empty=True,
        logging_config=None,
    )
