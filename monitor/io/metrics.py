"""The monitor's Prometheus metrics, created against a registry that is passed in."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from monitor.core.calendar import WorkingDayCalendar

__all__ = ["CalendarCollector", "Metrics"]

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


@dataclass(frozen=True, slots=True)
class Metrics:
    """Labels are fixed vocabularies (topic, reason, rule id, trigger, queue): never an
    identity number, a name or a customer id."""

    events_consumed: Counter
    events_invalid: Counter
    events_duplicate: Counter
    rekeyed_applied: Counter
    early_dropped: Counter
    alerts: Counter
    tasks: Counter
    queue_pushed: Counter
    queue_redelivered: Counter
    queue_suppressed: Counter
    queue_updated: Counter
    redis_errors: Counter
    kafka_errors: Counter
    processing_seconds: Histogram
    end_to_end_seconds: Histogram
    redis_backlog: Gauge
    consumer_lag: Gauge
    state_records: Gauge
    queue_depth: Gauge
    queue_pending: Gauge
    queue_oldest_age: Gauge
    queue_overdue: Gauge
    queue_due_soon: Gauge
    risk_rating_changes: Counter
    stream_time: Gauge
    rescreens: Counter
    rescreen_seconds: Histogram
    list_reloads: Counter
    tombstones: Counter
    idle_records: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry) -> Metrics:
        return cls(
            events_consumed=Counter(
                "monitor_events_consumed", "Input events consumed", ["topic"], registry=registry
            ),
            events_invalid=Counter(
                "monitor_events_invalid",
                "Input events sent to the dead-letter topic",
                ["reason"],
                registry=registry,
            ),
            events_duplicate=Counter(
                "monitor_events_duplicate",
                "Events whose event_id was already applied (redelivery)",
                registry=registry,
            ),
            rekeyed_applied=Counter(
                "monitor_rekeyed_applied",
                "Re-keyed items applied to their records (kind: account edge, conductor cash, "
                "path): the rule core's work besides the customers' own events",
                ["kind"],
                registry=registry,
            ),
            early_dropped=Counter(
                "monitor_early_dropped",
                "Early arrivals dropped unapplied (their predecessor did not come in time)",
                registry=registry,
            ),
            alerts=Counter("monitor_alerts", "Alerts raised", ["rule_id"], registry=registry),
            tasks=Counter(
                "monitor_reid_tasks", "Re-identification tasks", ["trigger"], registry=registry
            ),
            queue_pushed=Counter(
                "monitor_queue_pushed",
                "Alerts added to a compliance queue",
                ["queue"],
                registry=registry,
            ),
            queue_redelivered=Counter(
                "monitor_queue_redelivered",
                "Alerts already in their queue (dropped as duplicates)",
                ["queue"],
                registry=registry,
            ),
            queue_suppressed=Counter(
                "monitor_queue_suppressed",
                "Alerts folded into an open queue item (same rule and customer within the period)",
                ["queue"],
                registry=registry,
            ),
            queue_updated=Counter(
                "monitor_queue_updated",
                "Grown alerts that replaced the earlier version of their finding in its queue "
                "(outcome updated: still open; reopened: it had been acknowledged)",
                ["queue", "outcome"],
                registry=registry,
            ),
            redis_errors=Counter(
                "monitor_redis_errors", "Failed Redis operations (retried)", registry=registry
            ),
            kafka_errors=Counter(
                "monitor_kafka_errors",
                "Batches whose outputs or state Kafka did not accept (kept and retried)",
                registry=registry,
            ),
            processing_seconds=Histogram(
                "monitor_processing_seconds",
                "Rule evaluation and output time per event",
                buckets=_LATENCY_BUCKETS,
                registry=registry,
            ),
            end_to_end_seconds=Histogram(
                "monitor_end_to_end_seconds",
                "From the input's Kafka timestamp to its alert being sent",
                buckets=_LATENCY_BUCKETS,
                registry=registry,
            ),
            redis_backlog=Gauge(
                "monitor_redis_backlog",
                "Alerts on the alerts topic not yet safely in their Redis queue "
                "(committed offsets)",
                registry=registry,
            ),
            consumer_lag=Gauge(
                "monitor_consumer_lag",
                "Messages behind the end of each assigned input partition",
                ["topic", "partition"],
                registry=registry,
            ),
            state_records=Gauge(
                "monitor_state_records",
                "Customer state records held by this worker",
                registry=registry,
            ),
            queue_depth=Gauge(
                "monitor_queue_depth",
                "Entries in each compliance queue",
                ["queue"],
                registry=registry,
            ),
            queue_pending=Gauge(
                "monitor_queue_pending",
                "Entries claimed by an analyst but not acknowledged",
                ["queue"],
                registry=registry,
            ),
            queue_oldest_age=Gauge(
                "monitor_queue_oldest_age_seconds",
                "Age of the oldest entry not yet acknowledged",
                ["queue"],
                registry=registry,
            ),
            queue_overdue=Gauge(
                "monitor_queue_overdue",
                "Unacknowledged alerts whose report_due date has passed",
                ["queue"],
                registry=registry,
            ),
            queue_due_soon=Gauge(
                "monitor_queue_due_soon",
                "Unacknowledged alerts whose report_due is today or tomorrow",
                ["queue"],
                registry=registry,
            ),
            risk_rating_changes=Counter(
                "monitor_risk_rating_changes",
                "Customer risk rating changes",
                ["rating"],
                registry=registry,
            ),
            stream_time=Gauge(
                "monitor_stream_time_seconds",
                "Stream time of each assigned partition (epoch seconds of event time): the "
                "lowest latest event time over its topics; deadlines before it are decided",
                ["partition"],
                registry=registry,
            ),
            rescreens=Counter(
                "monitor_rescreens",
                "Re-screenings of one partition's customers against new or changed "
                "watch-list entries",
                registry=registry,
            ),
            rescreen_seconds=Histogram(
                "monitor_rescreen_seconds",
                "Time to re-screen one partition's customers against new or changed entries",
                buckets=(0.01, 0.1, 1, 5, 15, 60, 300, 900, 3600),
                registry=registry,
            ),
            list_reloads=Counter(
                "monitor_list_reloads",
                "Watch-list files found changed: loaded, or refused (the old list kept)",
                ["outcome"],
                registry=registry,
            ),
            tombstones=Counter(
                "monitor_state_tombstones",
                "Idle account and conductor state records deleted (a tombstone written on "
                "the state changelog)",
                registry=registry,
            ),
            idle_records=Gauge(
                "monitor_state_idle_records",
                "Account and conductor state records held by this worker (deleted once idle)",
                registry=registry,
            ),
        )


class CalendarCollector(Collector):
    """The working-day calendar's coverage, read from the calendar at each scrape:
    `monitor_calendar_uncovered_dates_total` counts due dates computed from dates outside
    the calendar's years (weekends only), `monitor_calendar_end_timestamp_seconds` is the
    start (00:00 UTC) of the first day after the calendar's last year. Label: the calendar's
    name."""

    def __init__(self, calendar: WorkingDayCalendar) -> None:
        self._calendar = calendar

    def collect(self) -> Iterator[Metric]:
        calendar = self._calendar
        uncovered = CounterMetricFamily(
            "monitor_calendar_uncovered_dates",
            "Due dates computed from dates outside the working-day calendar's years "
            "(weekends only)",
            labels=["calendar"],
        )
        uncovered.add_metric([calendar.name], calendar.uncovered_due_dates)
        yield uncovered
        if calendar.years:
            end = GaugeMetricFamily(
                "monitor_calendar_end_timestamp_seconds",
                "Start of the first day after the working-day calendar's last year (UTC)",
                labels=["calendar"],
            )
            first_uncovered = datetime(max(calendar.years) + 1, 1, 1, tzinfo=UTC)
            end.add_metric([calendar.name], first_uncovered.timestamp())
            yield end

    @classmethod
    def register(cls, registry: CollectorRegistry, calendar: WorkingDayCalendar) -> None:
        registry.register(cls(calendar))
