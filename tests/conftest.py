"""Session-wide checks."""

from __future__ import annotations

import os
import shutil

import pytest


def pytest_sessionstart(session: pytest.Session) -> None:
    """Under CI (`CI=true`, as `.ci/run` sets it) the Prometheus checks must run, not skip:
    `make test` installs promtool (tools/ensure-system-deps.sh --prometheus)."""
    if (
        os.environ.get("CI", "").lower() in {"1", "true", "yes"}
        and shutil.which("promtool") is None
    ):
        raise pytest.UsageError(
            "CI=true but promtool is not installed: run ./tools/ensure-system-deps.sh --prometheus"
        )
