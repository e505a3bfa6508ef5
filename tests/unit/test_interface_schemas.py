"""The committed JSON Schemas in schemas/json/ match the pydantic models they come from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from schemas.export import COMMAND, DIRECTORY, MESSAGES, Message, main, render, stale

INTERFACE = Path(__file__).resolve().parents[2] / "docs" / "interface.md"


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: m.name)
def test_committed_schema_matches_the_model(message: Message) -> None:
    assert message.path.is_file(), f"{message.path} is missing: run `{COMMAND}` and commit it"
    committed = message.path.read_text(encoding="utf-8")
    assert committed == render(message), (
        f"{message.path.name} differs from schemas.{message.model.__name__}: "
        f"run `{COMMAND}` and commit schemas/json/"
    )


def test_no_stray_schema_files() -> None:
    expected = {m.path.name for m in MESSAGES}
    found = {p.name for p in DIRECTORY.glob("*.json")}
    assert found == expected, f"files without a model: {sorted(found - expected)}"


def test_interface_doc_links_every_schema() -> None:
    text = INTERFACE.read_text(encoding="utf-8")
    for message in MESSAGES:
        assert f"../schemas/json/{message.path.name}" in text, message.path.name


def test_check_mode_reports_a_stale_file(tmp_path: Path, capsys) -> None:
    assert main(["--out", str(tmp_path)]) == 0
    assert main(["--out", str(tmp_path), "--check"]) == 0
    alert = tmp_path / "alert.schema.json"
    schema = json.loads(alert.read_text(encoding="utf-8"))
    schema["properties"].pop("queue")
    alert.write_text(json.dumps(schema), encoding="utf-8")
    assert stale(tmp_path) == ["alert.schema.json"]
    assert main(["--out", str(tmp_path), "--check"]) == 1
    assert COMMAND in capsys.readouterr().err


def test_outputs_forbid_unknown_fields_and_inputs_accept_them() -> None:
    by_name = {m.name: json.loads(render(m)) for m in MESSAGES}
    for name in ("alert", "reid-task", "dead-letter"):
        assert by_name[name]["additionalProperties"] is False, name
    inputs = ("account-opening", "customer-update", "cash-transaction", "remittance", "transfer")
    for name in inputs:
        assert by_name[name].get("additionalProperties", True) is not False, name
