"""`monitor screen`: candidates, scores, reasons; exit 0 with or without hits, 2 on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.tools.cli import main

DATA = Path(__file__).resolve().parents[1] / "data"
SDN = str(DATA / "lists" / "sdn.xml")


def test_a_hit_prints_score_and_reasons(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["screen", "Lam Kwok-ho", "--country", "cn", "--list", SDN]) == 0
    out = capsys.readouterr().out
    assert "SDN-90001" in out and "agreed: country" in out


def test_no_hit_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["screen", "Guo Haolin", "--list", SDN]) == 0
    assert "no candidates" in capsys.readouterr().out


def test_json_lists_identifiers(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["screen", "Li Bo", "--birth-date", "1992-06-06", "--list", SDN, "--json"]
    assert main(args) == 0
    [row] = json.loads(capsys.readouterr().out)["candidates"]
    assert row["entry_id"] == "SDN-90002" and row["agreed"] == ["birth_date"]


def test_the_default_list_is_the_shipped_sample(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["screen", "Zhang Xiaoming", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["candidates"]
    assert [r["entry_id"] for r in rows] == ["SMP-001"]


@pytest.mark.parametrize(
    "args",
    [
        ["screen"],
        ["screen", "  "],
        ["screen", "X", "--birth-date", "1990-13-01"],
        ["screen", "X", "--country", "China"],
        ["screen", "X", "--list", "/nonexistent.yaml"],
        ["screen", "X", "--threshold", "120"],
    ],
)
def test_bad_input_exits_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        code = main(args)
        raise SystemExit(code)
    assert raised.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_evaluate_prints_the_scorecard(capsys: pytest.CaptureFixture[str]) -> None:
    pairs = DATA / "scorecard_pairs.csv"
    listed = DATA / "scorecard_list.yaml"
    assert main(["screen", "--evaluate", str(pairs), "--list", str(listed)]) == 0
    out = capsys.readouterr().out
    assert "syllable_shuffle" in out and "overall" in out
