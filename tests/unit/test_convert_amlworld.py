"""`tools/convert_amlworld.py` on a tiny hand-written file in AMLworld's column format: the
input files validate against the topic schemas, the labels carry the patterns' typologies."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import orjson
import pytest

import schemas
from monitor.core.pack import load_pack
from monitor.tools.backtest import read_labels

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "data" / "amlworld"


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "convert_amlworld", ROOT / "tools/convert_amlworld.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


convert_amlworld = _tool()


def lines(path: Path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("amlworld")
    assert (
        convert_amlworld.main(
            [
                "--transactions",
                str(FIXTURE / "Tiny_Trans.csv"),
                "--patterns",
                str(FIXTURE / "Tiny_Patterns.txt"),
                "--accounts",
                str(FIXTURE / "Tiny_accounts.csv"),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    return out


def test_counts_and_skipped_currency(out: Path):
    counts = convert_amlworld.convert(
        FIXTURE / "Tiny_Trans.csv", FIXTURE / "Tiny_Patterns.txt", out / "again"
    )
    # 8 rows; the Bitcoin row has no ISO currency; each other row once per side
    assert counts == {
        "transactions": 8,
        "cash": 2,
        "transfers": 12,
        "skipped_currency": 1,
        "customers": 8,
        "labels": 5,
    }


def test_labels_carry_the_patterns_typology(out: Path):
    labels = read_labels(out / "labels.jsonl")  # no expected_rules: a bank's case outcomes
    by_customer = {lab["customer_id"]: lab["typology"] for lab in labels}
    # the patterns file pads bank ids (001467), the transactions file does not (01467)
    assert by_customer == {
        "1467-8013C4030": "cycle",
        "20-80BC62F10": "cycle",
        "211-81A9E3D70": "cycle",
        "12-8006AD080": "unattributed",
        "3208-8000F4580": "unattributed",
    }
    assert all("expected_rules" not in lab for lab in labels)


def test_inputs_validate_against_the_topic_schemas(out: Path):
    openings = [
        schemas.AccountOpening.model_validate(v) for v in lines(out / "kyc.account-openings.jsonl")
    ]
    types = {o.customer_id: o.customer_type for o in openings}
    assert types["20-80BC62F10"] == "entity" and types["211-81A9E3D70"] == "individual"
    cash = [schemas.CashTransaction.model_validate(v) for v in lines(out / "txn.cash.jsonl")]
    assert [(c.customer_id, c.direction, str(c.amount), c.currency) for c in cash] == [
        ("1120-8006AA910", "out", "62000.00", "CNY"),
        ("12-8006AD080", "in", "62000.00", "CNY"),
    ]
    transfers = lines(out / "txn.transfers.jsonl")
    wire = [t for t in transfers if t["txn_id"] == "aw-6"]
    assert [(t["customer_id"], t["direction"], t["currency"]) for t in wire] == [
        ("20-80BC62F10", "out", "EUR"),
        ("211-81A9E3D70", "in", "EUR"),
    ]
    assert wire[0]["counterparty"]["customer_id"] == "211-81A9E3D70"
    transfer_model = getattr(schemas, "Transfer", None)
    if transfer_model is not None:  # the transfers topic's model, where this build has it
        for t in transfers:
            transfer_model.model_validate(t)


def test_the_pack_switches_off_the_identity_rules(out: Path):
    pack = load_pack(out / convert_amlworld.PACK_FILE)
    for rule_id in convert_amlworld.IDENTITY_RULES:
        assert not getattr(pack.config.rules, rule_id).enabled
    assert pack.config.rules.LV_CASH.enabled


def test_a_pattern_line_outside_a_block_names_its_line(tmp_path: Path):
    patterns = tmp_path / "p.txt"
    patterns.write_text(
        "END LAUNDERING ATTEMPT - CYCLE\n2022/09/01 00:20,1,A,2,B,1,Euro,1,Euro,ACH,1\n"
    )
    with pytest.raises(ValueError, match="p.txt:2"):
        convert_amlworld.read_patterns(patterns)


def test_a_file_without_the_header_is_refused(tmp_path: Path):
    trans = tmp_path / "t.csv"
    trans.write_text("2022/09/01 00:20,1,A,2,B,1,Euro,1,Euro,ACH,1\n")
    assert convert_amlworld.main(["--transactions", str(trans), "--out", str(tmp_path / "o")]) == 2
