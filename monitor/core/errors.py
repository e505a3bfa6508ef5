"""The monitor's exceptions: one root, one subclass per situation an operator must act on."""

from __future__ import annotations

import logging

__all__ = [
    "ConfigurationError",
    "MonitorError",
    "TopicLayoutError",
    "UnknownCurrencyError",
]

logger = logging.getLogger(__name__)


class MonitorError(Exception):
    """Root of every error the monitor raises on purpose."""


class ConfigurationError(MonitorError):
    """A setting, rule pack, FX table or calendar is invalid. The message names the field;
    fix the file or the `MONITOR_*` variable and start again."""


class TopicLayoutError(MonitorError):
    """Existing topics have a partition count other than the configured one. State is
    co-partitioned with the inputs, so the worker refuses to start: recreate the named
    topics or set `MONITOR_PARTITIONS` to their count."""


class UnknownCurrencyError(MonitorError):
    """An amount is in a currency the FX table does not know: the event is invalid input."""
