"""Offline runs (backtest, replay, `monitor run`) keep the latest version of each alert id,
as every consumer of `aml.alerts` does: a grown large-value report (2016 No.3 art.5) counts
once and its file line is the latest version."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson

from monitor.tools.backtest import PackResult, collector
from monitor.tools.offline import JsonlWriter, OfflineRun, RunStats

from .conftest import cash, make_pack

AT = datetime(2026, 3, 3, tzinfo=UTC)


def three_deposits() -> list:
    return [
        cash("42000", txn_id="D1", event_id="e-D1", at="2026-03-02T09:00:00+08:00"),
        cash("9000", txn_id="D2", event_id="e-D2", at="2026-03-02T11:00:00+08:00"),
        cash("7000", txn_id="D3", event_id="e-D3", at="2026-03-02T15:00:00+08:00"),
        cash(
            "60000", txn_id="D4", event_id="e-D4", at="2026-03-02T16:00:00+08:00", direction="out"
        ),
    ]


def feed(run: OfflineRun) -> None:
    for event in three_deposits():
        run.apply(event, int(event.event_time.timestamp() * 1000))


def test_2016_no3_art5_a_grown_report_counts_once(tmp_path: Path):
    writer = JsonlWriter(tmp_path)
    run = OfflineRun(make_pack(), writer, AT)
    feed(run)
    writer.close()
    assert run.stats.alerts == 2  # the deposits' report (two versions) and the withdrawal's
    lines = [orjson.loads(x) for x in (tmp_path / "alerts.jsonl").read_bytes().splitlines()]
    deposits = [a for a in lines if a["evidence"][0] == "D1"]
    assert len(lines) == 2 and len(deposits) == 1
    assert deposits[0]["evidence"] == ["D1", "D2", "D3"]
    assert deposits[0]["amount"] == "58000.00"
    assert [a["evidence"] for a in lines] == [["D1", "D2", "D3"], ["D4"]]  # written order


def test_2016_no3_art5_backtest_counts_a_grown_report_once():
    result = PackResult("cn-pboc", RunStats())
    run = OfflineRun(make_pack(), collector(result), AT)
    feed(run)
    assert result.alert_count_by_rule == {"LV_CASH": 2}
    assert result.alerts_by_rule["LV_CASH"] == {"C001"}
