"""Deterministic identifiers: the same facts always give the same id."""

from __future__ import annotations

import logging
import uuid

__all__ = ["stable_id"]

logger = logging.getLogger(__name__)

_NAMESPACE = uuid.UUID("6f1d5c7e-2b1a-4f57-9a43-8c3e0d6b9a10")


def stable_id(kind: str, *facts: object) -> str:
    """A UUID (version 5) of `kind` and the facts that define one finding.

    Used for `alert_id` and `task_id`: a restart, a redelivery or a replay computes the
    same id, which is what lets every sink drop duplicates."""
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join([kind, *map(str, facts)])))
