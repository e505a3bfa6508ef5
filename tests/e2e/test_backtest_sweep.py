"""`monitor backtest` as a user runs it on simulated data: a sweep in one pass (the decode
count equals the input lines), its report files, and labels without expected_rules."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from monitor.tools.simulate import TOPIC_FILES

ROOT = Path(__file__).resolve().parents[2]
MONITOR = [sys.executable, "-m", "monitor"]


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return subprocess.run(
        [*MONITOR, *argv], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sim")
    done = run("simulate", "--customers", "500", "--days", "14", "--seed", "11", "--out", str(out))
    assert done.returncode == 0, done.stderr
    return out


def input_lines(data: Path) -> int:
    return sum(
        sum(1 for line in (data / f"{t}.jsonl").read_bytes().splitlines() if line.strip())
        for t in TOPIC_FILES
        if (data / f"{t}.jsonl").exists()
    )


def test_sweep_runs_every_variant_in_one_pass(sim: Path, tmp_path: Path):
    report = tmp_path / "report"
    done = run(
        "backtest",
        "--data",
        str(sim),
        "--report",
        str(report),
        "--sweep",
        "STRUCTURING.lower_pct=85,80",
        "--sweep",
        "LV_CASH.threshold.local.amount=40000,60000",
    )
    assert done.returncode == 0, done.stderr
    decoded = re.search(r"decoded ([\d,]+) events once for (\d+) variants", done.stdout)
    assert decoded, done.stdout
    assert int(decoded.group(1).replace(",", "")) == input_lines(sim)
    assert int(decoded.group(2)) == 5
    for name in ("report.json", "report.md", "report.html", "sweep.svg"):
        assert (report / name).is_file(), name
    body = orjson.loads((report / "report.json").read_bytes())
    variants = body["sweep"]["variants"]
    assert [v["variant"] for v in variants[1:]] == [
        "STRUCTURING.lower_pct=85",
        "STRUCTURING.lower_pct=80",
        "LV_CASH.threshold.local.amount=40000",
        "LV_CASH.threshold.local.amount=60000",
    ]
    assert body["sweep"]["decoded"] == input_lines(sim)
    # a lower cash threshold raises more alerts; the simulator's large cash starts at 50,000
    assert variants[3]["alerts"] > variants[0]["alerts"] > variants[4]["alerts"]
    assert variants[4]["lost"] and not variants[4]["gained"]
    svg = (report / "sweep.svg").read_text()
    assert svg.startswith("<svg") and "LV_CASH.threshold.local.amount=60000" in svg
    assert "<svg" in (report / "report.html").read_text()


def test_an_invalid_sweep_value_is_one_line_naming_the_field(sim: Path, tmp_path: Path):
    done = run(
        "backtest",
        "--data",
        str(sim),
        "--report",
        str(tmp_path / "r"),
        "--sweep",
        "STRUCTURING.lower_pct=150",
    )
    assert done.returncode == 2
    assert "rules.STRUCTURING.lower_pct" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_labels_from_case_outcomes(sim: Path, tmp_path: Path):
    """Labels as a bank has them: a customer and a typology, no rule ids, no near misses."""
    labels = tmp_path / "cases.jsonl"
    with labels.open("wb") as out:
        for line in (sim / "labels.jsonl").read_bytes().splitlines():
            label = orjson.loads(line)
            if label["expected_rules"]:
                out.write(
                    orjson.dumps(
                        {"customer_id": label["customer_id"], "typology": label["typology"]}
                    )
                    + b"\n"
                )
    done = run(
        "backtest", "--data", str(sim), "--labels", str(labels), "--report", str(tmp_path / "r")
    )
    assert done.returncode == 0, done.stderr
    pack = orjson.loads((tmp_path / "r" / "report.json").read_bytes())["packs"][0]
    assert pack["per_rule"] == {}
    assert pack["outcome"]["recall"] == 1.0  # by construction: see docs/backtesting.md
    assert pack["outcome"]["alerts_per_labelled_found"] >= 1.0
    assert "recall 1.000" in done.stdout
