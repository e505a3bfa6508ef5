"""The garbage-collector settings of long runs: applied for a block, then undone."""

from __future__ import annotations

import gc

from monitor.io.gctune import THRESHOLDS, tuned_gc


def test_tuned_gc_applies_for_the_block_and_restores_the_settings_after() -> None:
    before = gc.get_threshold()
    assert before != THRESHOLDS  # pytest runs with the interpreter's defaults
    with tuned_gc():
        assert gc.get_threshold() == THRESHOLDS
        assert gc.get_freeze_count() > 0  # what existed at start is out of every collection
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_tuned_gc_restores_the_settings_when_the_block_raises() -> None:
    before = gc.get_threshold()
    try:
        with tuned_gc():
            raise RuntimeError("replay failed")
    except RuntimeError:
        pass
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
