"""A worker frozen past its session (a paused VM, a stopped process) must not, on waking,
write a customer's state over the newer one of the worker that took its partitions."""

from __future__ import annotations

import time

import orjson
import pytest

from monitor.core.state import CustomerState
from tests.support.kafka_io import produce, read_topic

pytestmark = pytest.mark.integration

CUSTOMER = "Z0001"


def _deposit(n: int, amount: str) -> bytes:
    return orjson.dumps(
        {
            "event_id": f"z-{n}",
            "txn_id": f"zt-{n}",
            "customer_id": CUSTOMER,
            "account_id": "ZA",
            "occurred_at": f"2026-03-03T{9 + n:02d}:00:00+08:00",
            "direction": "in",
            "amount": amount,
            "currency": "CNY",
        }
    )


def _states(bootstrap: str, topic: str, until=lambda states: False, timeout: float = 60):
    """The customer's state records on the changelog, in order."""

    def decoded(messages):
        return [CustomerState.from_bytes(m.value) for m in messages if m.key == CUSTOMER.encode()]

    return decoded(read_topic(bootstrap, topic, until=lambda m: until(decoded(m)), timeout=timeout))


def _wait_for(path, worker, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} never appeared:\n{worker.log_text()}"
        time.sleep(0.05)


def test_a_worker_frozen_past_its_session_does_not_overwrite_the_next_owners_state(
    worker_factory, tmp_path
):
    stalled, wake = tmp_path / "stalled", tmp_path / "wake"
    frozen = worker_factory(
        session_timeout_s=6, test_stall_key=CUSTOMER, test_stalled_file=stalled, test_wake_file=wake
    )
    frozen.module = "tests.support.stalling_worker"
    frozen.start()
    frozen.wait_ready()
    cash = frozen.topic("txn.cash")
    changelog = f"{frozen.prefix}-app-customer-state-changelog"

    # 60,000 CNY: a large-value alert, and with it the freeze (alerts out, state not yet)
    produce(frozen.bootstrap, [(cash, CUSTOMER.encode(), _deposit(1, "60000.00"), None)])
    _wait_for(stalled, frozen)

    # the group drops the frozen worker after 6 s; the next one applies the first deposit
    # again (its state was never written) and then a second one
    successor = worker_factory(session_timeout_s=6).start()
    successor.wait_ready()
    produce(frozen.bootstrap, [(cash, CUSTOMER.encode(), _deposit(2, "1000.00"), None)])
    newest = _states(frozen.bootstrap, changelog, until=lambda s: bool(s) and "z-2" in s[-1].seen)
    assert newest and set(newest[-1].seen) == {"z-1", "z-2"}, successor.log_text()

    wake.touch()  # the frozen worker resumes where it stopped: about to write its state
    deadline = time.monotonic() + 30
    while "membership" not in frozen.log_text(400) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(3)  # a late write, had there been one, lands now
    assert "group membership not confirmed" in frozen.log_text(400), frozen.log_text()

    states = _states(frozen.bootstrap, changelog, timeout=10)
    assert set(states[-1].seen) == {"z-1", "z-2"}, (
        f"the last state record lacks the second deposit: {[sorted(s.seen) for s in states]}\n"
        f"{frozen.log_text()}"
    )
