"""The benchmark's options and tools: latency repeats, percentiles, the instruction count, the
no-rules pack and the baseline's variants."""

from __future__ import annotations

import pytest

from bench.latency import median_run
from bench.run import parse_args


@pytest.mark.parametrize("repeats", ["0", "-2"])
def test_latency_repeats_below_one_are_refused(repeats, capsys):
    with pytest.raises(SystemExit) as exc:
        parse_args(["--latency-repeats", repeats])
    assert exc.value.code == 2
    assert "--latency-repeats must be at least 1" in capsys.readouterr().err


def test_latency_repeats_default_to_three_and_one_when_quick():
    assert parse_args([]).latency_repeats == 3
    assert parse_args(["--quick"]).latency_repeats == 1
    assert parse_args(["--latency-repeats", "5"]).latency_repeats == 5


def test_median_run_takes_each_percentile_median_and_keeps_the_runs():
    runs = [
        {
            "p50_s": 0.006,
            "p99_s": 0.039,
            "p999_s": 0.05,
            "max_s": 0.2,
            "alerts_expected": 10,
            "alerts_seen": 10,
            "alerts_missing": 0,
            "read_by_consumer": {"p99_s": 0.05},
        },
        {
            "p50_s": 0.010,
            "p99_s": 0.023,
            "p999_s": 0.03,
            "max_s": 0.1,
            "alerts_expected": 10,
            "alerts_seen": 9,
            "alerts_missing": 1,
            "percentiles_are_lower_bounds": True,
            "read_by_consumer": {"p99_s": 0.03},
        },
        {
            "p50_s": 0.008,
            "p99_s": 0.028,
            "p999_s": 0.04,
            "max_s": 0.3,
            "alerts_expected": 10,
            "alerts_seen": 10,
            "alerts_missing": 0,
            "read_by_consumer": {"p99_s": 0.04},
        },
    ]
    out = median_run(runs)
    assert (out["p50_s"], out["p99_s"], out["p999_s"], out["max_s"]) == (0.008, 0.028, 0.04, 0.2)
    assert out["read_by_consumer"]["p99_s"] == 0.04
    assert (out["alerts_expected"], out["alerts_seen"], out["alerts_missing"]) == (30, 29, 1)
    assert out["percentiles_are_lower_bounds"] is True
    assert out["runs"] == runs


def test_the_watch_list_bench_screens_new_names_against_each_list_size(capsys):
    from bench.watchlist import main, measure

    assert main(["0", "300", "--names", "20"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and "45 entries" in lines[0] and "300 entries" in lines[1]
    result = measure(300, names=20)
    assert result["entries"] == 300 and result["ms_per_new_name"] > 0


def test_instruction_count_reads_cachegrinds_summary():
    from bench.worker_path import instruction_count

    stderr = (
        "==27950== Collected : 12501698500\n==27950== \n==27950== I   refs:      12,501,698,500\n"
    )
    assert instruction_count(stderr) == 12_501_698_500
    with pytest.raises(ValueError, match="I refs"):
        instruction_count("==1== ERROR SUMMARY: 0 errors")


def test_instructions_without_valgrind_say_what_to_install(monkeypatch):
    from bench import worker_path

    monkeypatch.setattr(worker_path.shutil, "which", lambda name: None)
    with pytest.raises(SystemExit, match="needs valgrind"):
        worker_path.instructions_per_event(["--customers", "10"])


def test_the_no_rules_pack_switches_every_stage_off_and_keeps_the_rest():
    from pathlib import Path

    from monitor.core.engine import Engine
    from monitor.core.pack import load_pack

    path = Path(__file__).resolve().parents[2] / "bench" / "packs" / "no-rules.yaml"
    pack, shipped = load_pack(str(path)), load_pack(None)
    assert Engine(pack).rules == [] and len(Engine(shipped).rules) == 25
    assert pack.config.state == shipped.config.state  # same state bounds as the worker's
    assert pack.tz == shipped.tz


def test_an_unknown_baseline_variant_is_refused_by_name():
    import os
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", "import bench.faust_baseline"],
        env={**os.environ, "BENCH_VARIANT": "tabel"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    assert "BENCH_VARIANT must be table, noop or pack, not 'tabel'" in done.stderr


@pytest.mark.parametrize(
    ("variant", "row", "ratio_row"),
    [
        (None, "naive Faust baseline (same-day sum, table)", "worker / baseline "),
        ("pack", "naive Faust app running the pack (pack variant)", "worker / baseline (pack"),
    ],
)
def test_the_report_names_the_baseline_variant_it_measured(tmp_path, variant, row, ratio_row):
    from bench.context import Run
    from bench.report import summarise, table

    run = Run(args=parse_args(["--quick"]), tmp=tmp_path)
    run.results = {
        "baseline": {"events_per_s": 1500, **({"variant": variant} if variant else {})},
        "worker": {"events_per_s": 5000},
    }
    text = table(run, summarise(run))
    assert f"| {row}" in text and "1,500 ev/s" in text
    assert f"| {ratio_row}" in text and "3.33x" in text
