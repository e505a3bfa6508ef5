"""The short subset of the fault suite that `make test` runs: the worker SIGKILLed twice
mid-stream, one of two workers in a group SIGKILLed (a rebalance), and the local state
directory deleted between two runs, on a stream of 5,000
cash transactions (the scenarios of tests/faults/scenarios.py; `make faults` runs all
six faults at 100,000 events and records the figures of RELIABILITY.md)."""

from __future__ import annotations

import pytest

from tests.faults import scenarios

pytestmark = pytest.mark.integration

EVENTS = min(scenarios.EVENTS, 5000)
KILLS = min(scenarios.KILLS, 2)


def test_sigkill_twice_mid_stream_loses_and_doubles_nothing(kafka, redis_server, tmp_path):
    scenarios.sigkill_restarts(kafka, redis_server, tmp_path, events=EVENTS, kills=KILLS).check()


def test_state_dir_deleted_between_runs_is_rebuilt_from_the_changelog(
    kafka, redis_server, tmp_path
):
    scenarios.state_dir_deleted(kafka, redis_server, tmp_path, events=EVENTS).check()


def test_one_of_two_group_members_killed_loses_and_doubles_nothing(kafka, redis_server, tmp_path):
    scenarios.group_member_killed(kafka, redis_server, tmp_path, events=EVENTS).check()
