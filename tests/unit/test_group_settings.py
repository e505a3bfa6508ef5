"""The worker's session timeout against the broker's allowed range (`check_group_settings`)."""

from __future__ import annotations

import pytest

from monitor.core.errors import ConfigurationError
from monitor.io.settings import load_settings
from monitor.io.topics import check_group_settings

KAFKA_DEFAULTS = {"group.min.session.timeout.ms": "6000", "group.max.session.timeout.ms": "1800000"}


@pytest.mark.parametrize("seconds", [6, 10, 300])
def test_a_session_timeout_inside_the_brokers_range_passes(seconds):
    check_group_settings(load_settings(session_timeout_s=seconds), KAFKA_DEFAULTS)


def test_below_the_brokers_minimum_is_refused_naming_the_variable_and_the_range():
    with pytest.raises(ConfigurationError) as caught:
        check_group_settings(load_settings(session_timeout_s=2.5), KAFKA_DEFAULTS)
    message = str(caught.value)
    assert "MONITOR_SESSION_TIMEOUT_S=2.5" in message and "6-1800 s" in message


def test_above_a_lowered_maximum_is_refused():
    with pytest.raises(ConfigurationError, match="MONITOR_SESSION_TIMEOUT_S=120"):
        check_group_settings(
            load_settings(session_timeout_s=120), {"group.max.session.timeout.ms": "60000"}
        )


def test_a_broker_that_does_not_say_is_not_second_guessed():
    check_group_settings(load_settings(session_timeout_s=1), {})
