"""A customer's state record stays bounded however many cash events the customer has.

What bounds it (config/cn-pboc.yaml `state:`): `max_seen_events` (2,000 event ids kept for
redelivery detection), `max_window_items` (500 items per sliding window),
`retention_days` (8 days of day buckets and window items), and the 200 evidence ids per
day bucket.

The workloads: 10,000 cash events of one customer, both directions, CNY / USD / EUR, a
quarter of them in the structuring band, spread over 30 days or all in one day; and
10,000 structuring-band events in one day. The largest `to_bytes()` after any event must
stay under `BOUND_BYTES`; each run prints its sizes.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta

import pytest

from monitor.core.engine import Engine
from monitor.core.state import CustomerState

from .conftest import DETECTED_AT, cash, make_engine

BOUND_BYTES = 300_000
EVENTS = 10_000
START = datetime(2026, 3, 1, 16, 0, tzinfo=UTC)  # 2026-03-02 00:00 in Shanghai

MIX_AMOUNTS = ("1.00", "46000.00", "9500.00", "100.00")  # 46,000 CNY / 9,500 USD in band
MIX_CURRENCIES = ("CNY", "CNY", "USD", "EUR")


@functools.cache
def feed(span: timedelta, amounts=MIX_AMOUNTS, currencies=MIX_CURRENCIES):
    """Feed EVENTS cash events of customer C001 evenly over `span` through a fresh engine
    (once per module run); return the final state, the largest serialized size seen after
    any event, and the largest seen-id count and window length."""
    engine: Engine = make_engine()
    state: CustomerState | None = None
    largest = most_seen = longest_window = 0
    for i in range(EVENTS):
        event = cash(
            amounts[i % len(amounts)],
            currency=currencies[i % len(currencies)],
            direction="in" if i % 2 else "out",
            at=(START + span * i / EVENTS).isoformat(),
            txn_id=f"TXN-{i:06d}",
        )
        state = engine.process(state, event, DETECTED_AT).state
        largest = max(largest, len(state.to_bytes()))
        most_seen = max(most_seen, len(state.seen))
        longest_window = max([longest_window, *(len(w) for w in state.windows.values())])
    assert state is not None
    return state, largest, most_seen, longest_window


@pytest.mark.parametrize(
    "span",
    [timedelta(days=30), timedelta(days=1) - timedelta(seconds=1)],
    ids=["30-days", "one-day"],
)
def test_ten_thousand_cash_events_keep_the_state_bounded(span, capsys):
    engine = make_engine()
    state, largest, most_seen, _ = feed(span)
    final = len(state.to_bytes())
    with capsys.disabled():
        print(
            f"\n[state size] {EVENTS} cash events over {span}: final {final} bytes, "
            f"largest {largest} bytes, {len(state.seen)} seen ids, "
            f"{len(state.buckets)} buckets, windows {[len(w) for w in state.windows.values()]}"
        )
    assert largest < BOUND_BYTES
    assert final < BOUND_BYTES
    assert most_seen <= engine.pack.config.state.max_seen_events
    assert all(len(b.evidence) <= 200 for b in state.buckets.values())
    # the record survives a round trip and keeps working
    restored = CustomerState.from_bytes(state.to_bytes())
    assert restored.to_bytes() == state.to_bytes()


def test_ten_thousand_structuring_band_events_in_one_day_keep_the_state_bounded(capsys):
    engine = make_engine()
    state, largest, most_seen, longest = feed(
        timedelta(days=1) - timedelta(seconds=1), amounts=("46000.00",), currencies=("CNY",)
    )
    with capsys.disabled():
        print(
            f"\n[state size] {EVENTS} structuring-band cash events in one day: final "
            f"{len(state.to_bytes())} bytes, largest {largest} bytes, longest window {longest}"
        )
    assert largest < BOUND_BYTES
    assert most_seen <= engine.pack.config.state.max_seen_events


def test_buckets_and_windows_older_than_the_retention_are_dropped():
    state, *_ = feed(timedelta(days=30))
    # the last event is at about 2026-03-31T16:00Z; retention 8 days -> nothing before
    # 2026-03-23 (Shanghai day) is kept in buckets
    days = sorted({key.split("|")[1] for key in state.buckets})
    assert days[0] >= "2026-03-23"
    horizon_ms = state.watermark_ms - 8 * 86_400_000
    assert all(item.event_ms >= horizon_ms for w in state.windows.values() for item in w)


def test_window_cap_holds_within_one_day():
    engine = make_engine()
    state = None
    for i in range(1000):
        event = cash(
            "46000.00", at=(START + timedelta(seconds=60 * i)).isoformat(), txn_id=f"TXN-{i:06d}"
        )
        state = engine.process(state, event, DETECTED_AT).state
    assert len(state.windows["STRUCTURING"]) <= engine.pack.config.state.max_window_items
