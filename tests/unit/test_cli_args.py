"""The command-line validators: what they accept, and the one-line refusal of the rest."""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from monitor.tools.cli_args import (
    Parser,
    existing_dir,
    existing_file,
    finite_float,
    iso_date,
    moment,
    non_negative_float,
    non_negative_int,
    output_dir,
    positive_float,
    positive_int,
)


@pytest.mark.parametrize(
    ("check", "text", "value"),
    [
        (positive_int, "1", 1),
        (non_negative_int, "0", 0),
        (finite_float, "-2.5", -2.5),
        (non_negative_float, "0", 0.0),
        (positive_float, "0.1", 0.1),
        (iso_date, "2026-03-02", date(2026, 3, 2)),
        (moment, "2026-03-02", date(2026, 3, 2)),
        (moment, "2026-03-02T01:00:00+00:00", datetime(2026, 3, 2, 1, tzinfo=UTC)),
    ],
)
def test_accepts(check, text: str, value: object) -> None:
    assert check(text) == value


@pytest.mark.parametrize(
    ("check", "text", "says"),
    [
        (positive_int, "0", "at least 1"),
        (positive_int, "-5", "at least 1"),
        (positive_int, "1.5", "not a whole number"),
        (non_negative_int, "-1", "0 or more"),
        (finite_float, "nan", "finite"),
        (finite_float, "inf", "finite"),
        (finite_float, "x", "not a number"),
        (non_negative_float, "-0.1", "0 or more"),
        (positive_float, "0", "more than 0"),
        (iso_date, "2026-02-30", "YYYY-MM-DD"),
        (moment, "2026-03-02T01:00", "no UTC offset"),
        (moment, "soon", "neither"),
    ],
)
def test_refuses(check, text: str, says: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=says):
        check(text)


def test_files_and_directories(tmp_path: Path) -> None:
    a_file = tmp_path / "f.txt"
    a_file.write_text("x")
    assert existing_file(str(a_file)) == a_file
    assert existing_dir(str(tmp_path)) == tmp_path
    assert output_dir(str(tmp_path / "new")) == tmp_path / "new"
    for check, text, says in (
        (existing_file, tmp_path / "nope", "no such file"),
        (existing_file, tmp_path, "not a file"),
        (existing_dir, tmp_path / "nope", "no such directory"),
        (existing_dir, a_file, "not a directory"),
        (output_dir, a_file, "not a directory"),
    ):
        with pytest.raises(argparse.ArgumentTypeError, match=says):
            check(str(text))


def test_parser_error_is_one_line_and_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    parser = Parser(prog="monitor")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("simulate").add_argument("--days", type=positive_int)
    with pytest.raises(SystemExit) as exit_info:
        parser.parse_args(["simulate", "--days", "0"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("monitor simulate: error: argument --days: must be at least 1")
