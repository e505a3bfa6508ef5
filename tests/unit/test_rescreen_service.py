"""The rule path with re-screening, without a broker: openings fill the names index and
write it with the batch; a list reload screens the indexed customers against the new entry
only, writes the alert and task before the entry's digest, and a second reload, a failed
write or a second owner gives the same ids and nothing new."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from prometheus_client import CollectorRegistry

from agents.screening import ScreeningRules
from agents.state_store import MemoryStore
from monitor.core.decode import Decoder
from monitor.core.engine import Engine
from monitor.core.pack import load_pack
from monitor.core.screening.index import ENTRY_PREFIX, PartitionIndex
from monitor.io.metrics import Metrics
from monitor.io.settings import load_settings
from tests.support.packs import CONFIG, write_pack
from tests.support.service import FakeWriter

from .conftest import opening
from .test_partition_deadlines import batch

SAMPLE = (CONFIG / "watchlists" / "sample.yaml").read_text(encoding="utf-8")
ADDED = """
  - {id: TEST-900, names: [苏振华, Su Zhenhua], country: CN,
     list: test-list, reason: "fictional: added by a list update"}
"""


def make(tmp_path: Path) -> tuple[ScreeningRules, FakeWriter, Path]:
    listed = tmp_path / "list.yaml"
    listed.write_text(SAMPLE, encoding="utf-8")
    pack = load_pack(write_pack(tmp_path, {"rules.WATCHLIST_MATCH.file": str(listed)}))
    settings = load_settings(partitions=1, store="memory")
    engine = Engine(pack)
    metrics = Metrics.create(CollectorRegistry())
    svc = ScreeningRules(settings, engine, Decoder(pack.fx), metrics)
    writer = FakeWriter()
    svc.writer = writer  # type: ignore[assignment]
    svc.commits = SimpleNamespace(add=lambda offsets: None)  # type: ignore[assignment]
    svc.proven_at = float("inf")
    svc.stores[0] = MemoryStore()
    svc.deadlines.assign([0], svc.stores)
    svc.owned = {0}
    svc.index[0] = PartitionIndex()  # as read from an empty topic
    return svc, writer, listed


def written(svc: ScreeningRules, writer: FakeWriter, topic: str) -> list[Any]:
    return [(k, v) for t, _, k, v, *_ in writer.written if t == topic]


def findings(svc: ScreeningRules, writer: FakeWriter) -> list[str]:
    alerts = [orjson.loads(v) for _, v in written(svc, writer, svc.settings.topic_alerts)]
    tasks = [orjson.loads(v) for _, v in written(svc, writer, svc.settings.topic_reid_tasks)]
    return [a["alert_id"] for a in alerts if a["rule_id"] == "WATCHLIST_MATCH"] + [
        t["task_id"] for t in tasks if t["trigger"] == "WATCHLIST_MATCH"
    ]


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_a_reload_rescreens_the_index_once(tmp_path: Path) -> None:
    svc, writer, listed = make(tmp_path)
    svc.index.pop(0)  # read at the first batch: a new partition records the list as it is
    svc.index[0] = PartitionIndex()
    run(svc._catch_up())  # noqa: SLF001
    entry_keys = {k for k, _ in written(svc, writer, svc.settings.screening_topic)}
    assert entry_keys and all(k.startswith(ENTRY_PREFIX) for k in entry_keys)
    events = [
        ("account_opening", opening(customer_id="RS-1", name="Su Zhenhua")),
        ("account_opening", opening(customer_id="RS-2", name="Zhou Lan")),
    ]
    run(svc._apply_batch(batch(svc, *events)))  # noqa: SLF001
    names = {k for k, _ in written(svc, writer, svc.settings.screening_topic)} - entry_keys
    assert names == {b"RS-1", b"RS-2"}
    assert findings(svc, writer) == []

    listed.write_text(SAMPLE + ADDED, encoding="utf-8")
    run(svc._reload())  # noqa: SLF001
    assert "TEST-900" in {e.entry_id for e in svc.rule.matcher.entries}
    writer.fail = True  # the findings are not written: the entry stays pending
    with pytest.raises(Exception, match="Timeout"):
        run(svc._catch_up())  # noqa: SLF001
    assert "TEST-900" not in svc.index[0].screened
    run(svc._catch_up())  # noqa: SLF001
    first = findings(svc, writer)
    assert len(first) == 2  # one alert, one task, for RS-1
    order = [t for t, _, k, *_ in writer.written if t != svc.settings.topic_reid_tasks]
    assert order[-1] == svc.settings.screening_topic  # the digest after the alert
    assert svc.index[0].screened["TEST-900"]

    listed.write_text("# reissued\n" + SAMPLE + ADDED, encoding="utf-8")
    run(svc._reload())  # noqa: SLF001
    run(svc._catch_up())  # noqa: SLF001
    assert findings(svc, writer) == first

    # a new owner of the partition that had not recorded the entry: the same ids again
    svc.index[0].screened.pop("TEST-900")
    run(svc._catch_up())  # noqa: SLF001
    again = findings(svc, writer)
    assert sorted(again) == sorted(first + first)  # written twice, with the same ids


@pytest.mark.parametrize("text", ["entries: [{id: X}]", "entries: [\n  - {id: ", "\x00"])
def test_a_list_that_does_not_load_is_refused_and_the_old_one_kept(
    tmp_path: Path, text: str
) -> None:
    svc, _, listed = make(tmp_path)
    before = svc.rule.matcher
    listed.write_text(text, encoding="utf-8")
    run(svc._reload())  # noqa: SLF001
    assert svc.rule.matcher is before
    refused = svc.metrics.list_reloads.labels("refused")._value.get()  # noqa: SLF001
    assert refused == 1
    run(svc._reload())  # noqa: SLF001  (the same refused version is not tried again)
    assert svc.metrics.list_reloads.labels("refused")._value.get() == 1  # noqa: SLF001
    if text.startswith("entries: [{"):
        listed.write_text(SAMPLE + ADDED, encoding="utf-8")  # then a good version
        run(svc._reload())  # noqa: SLF001
        assert svc.rule.matcher is not before


def test_the_watched_files_include_the_alt_csv_beside_an_sdn_csv(tmp_path: Path) -> None:
    from agents.screening import list_paths
    from monitor.core.rules.watchlist import WatchlistConfig

    cfg = WatchlistConfig(
        file="a.yaml",
        lists=[{"file": "lists/sdn.csv", "format": "ofac_sdn_csv"}],  # type: ignore[list-item]
    )
    assert list_paths(cfg, lambda name: tmp_path / name) == [
        tmp_path / "a.yaml",
        tmp_path / "lists" / "sdn.csv",
        tmp_path / "lists" / "alt.csv",
    ]
