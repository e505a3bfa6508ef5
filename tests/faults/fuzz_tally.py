"""pytest plugin for `make faults` (`-p tests.faults.fuzz_tally`): counts what the decoder
returned to the fuzz tests of tests/unit/test_fuzz_decode.py, per target and input kind,
and writes tests/faults/fuzz_results.json (the fuzzing table of RELIABILITY.md).

It wraps the module's `DECODER.decode` and changes no test: every call the tests make
(one per hypothesis example, including replays and shrinking) is one case; its outcome is
`accepted` or the rejection reason. An exception out of the decoder is counted as
`raised` and re-raised, so the test still fails."""

from __future__ import annotations

import json
import os
import resource
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

OUT = Path(__file__).with_name("fuzz_results.json")

_cases: dict[str, Counter] = defaultdict(Counter)
_largest: dict[str, int] = defaultdict(int)
_results: dict[str, str] = {}
_current: list[str] = [""]
_started = time.monotonic()


def _wrap(module: Any) -> None:
    decoder = module.DECODER
    if getattr(decoder, "_tallied", False):
        return
    from monitor.core.decode import Rejection

    original = decoder.decode

    def decode(kind: str, raw: bytes, *args: Any, **kwargs: Any) -> Any:
        target = _current[0]
        _largest[target] = max(_largest[target], len(raw))
        try:
            result = original(kind, raw, *args, **kwargs)
        except BaseException:
            _cases[target]["raised"] += 1
            raise
        outcome = f"rejected: {result.reason}" if isinstance(result, Rejection) else "accepted"
        _cases[target][outcome] += 1
        return result

    decoder.decode = decode
    decoder._tallied = True  # noqa: SLF001 (marks a decoder the tally already wraps)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = getattr(item, "module", None)
        if module is not None and hasattr(module, "DECODER"):
            _wrap(module)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item):
    _current[0] = item.name
    yield
    _current[0] = ""


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" or report.outcome != "passed":
        name = report.nodeid.split("::")[-1]
        if report.when == "call" or name not in _results:
            _results[name] = report.outcome


def pytest_sessionfinish(session: pytest.Session) -> None:
    if not _cases:
        return
    targets = {}
    for name, counts in sorted(_cases.items()):
        targets[name] = {
            "cases": sum(counts.values()),
            "outcomes": dict(sorted(counts.items())),
            "largest_input_bytes": _largest[name],
            "test": _results.get(name, "not run"),
        }
    OUT.write_text(
        json.dumps(
            {
                "examples_per_property_and_kind": int(
                    os.environ.get("MONITOR_FUZZ_EXAMPLES", "150")
                ),
                "cases": sum(t["cases"] for t in targets.values()),
                "failed_tests": sorted(n for n, r in _results.items() if r != "passed"),
                "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "run_time_s": round(time.monotonic() - _started, 1),
                "targets": targets,
            },
            indent=2,
        )
        + "\n"
    )
