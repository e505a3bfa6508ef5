"""`tools/convert_amlsim.py` on a tiny hand-written file in the format of IBM AMLSim's graph
samples: the inputs validate against the topic schemas in event-time order, the labels
carry the sample's pattern, and `monitor backtest` runs on the result with both packs."""

from __future__ import annotations

import importlib.util
from datetime import date, datetime
from pathlib import Path
from types import ModuleType

import orjson
import pytest

import schemas
from monitor.core.pack import load_pack
from monitor.tools.backtest import backtest, read_labels

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "data" / "amlsim"


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "convert_amlsim", ROOT / "tools/convert_amlsim.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


convert_amlsim = _tool()


def lines(path: Path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def args(out: Path, *extra: str) -> list[str]:
    return [
        "--nodes",
        str(FIXTURE / "nodes.csv"),
        "--transactions",
        str(FIXTURE / "transactions.csv"),
        "--metadata",
        str(FIXTURE / "metadata.txt"),
        "--out",
        str(out),
        *extra,
    ]


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("amlsim")
    assert convert_amlsim.main(args(out)) == 0
    return out


def test_counts(tmp_path: Path):
    counts = convert_amlsim.convert(
        FIXTURE / "nodes.csv", FIXTURE / "transactions.csv", tmp_path, "fan_in", date(2026, 1, 5)
    )
    # every node is a customer; each of the 12 transactions once per side
    assert counts == {"customers": 14, "transactions": 12, "transfers": 24, "labels": 3}


def test_labels_carry_the_sample_s_pattern(out: Path):
    labels = read_labels(out / "labels.jsonl")  # no expected_rules: outcomes, not rule ids
    assert {(lab["customer_id"], lab["typology"]) for lab in labels} == {
        ("AS000000", "fan_in"),
        ("AS000001", "fan_in"),
        ("AS000011", "fan_in"),
    }
    assert all("expected_rules" not in lab for lab in labels)


@pytest.mark.parametrize(
    ("line", "typology"),
    [
        ("patterns: 200 fan-in", "fan_in"),
        ("patterns: 200 cycles", "cycle"),
        ("patterns: 200 cycles and 200 fan-in", "unattributed"),
        ("nodes: 20,000", "unattributed"),
    ],
)
def test_the_typology_comes_from_the_metadata(tmp_path: Path, line: str, typology: str):
    (tmp_path / "metadata.txt").write_text(f"nodes: 20,000 (954 fraud nodes)\n{line}\n")
    assert convert_amlsim.read_typology(tmp_path / "metadata.txt") == typology


def test_typology_given_overrides_the_metadata(tmp_path: Path):
    assert convert_amlsim.main(args(tmp_path, "--typology", "mule_hub")) == 0
    assert {lab["typology"] for lab in lines(tmp_path / "labels.jsonl")} == {"mule_hub"}


def test_inputs_validate_in_event_time_order(out: Path):
    openings = [
        schemas.AccountOpening.model_validate(v) for v in lines(out / "kyc.account-openings.jsonl")
    ]
    assert len(openings) == 14 and {o.customer_type for o in openings} == {"individual"}
    transfers = [schemas.Transfer.model_validate(v) for v in lines(out / "txn.transfers.jsonl")]
    times = [t.occurred_at for t in transfers]
    assert times == sorted(times)
    assert max(o.opened_at for o in openings) < times[0]
    # step 1 is --start (2026-01-05) at 12:00 UTC; its rows one second apart, in file order
    first = [t for t in transfers if t.direction == "out"][:4]
    assert [(t.customer_id, t.occurred_at.isoformat()) for t in first] == [
        ("AS000001", "2026-01-05T12:00:00+00:00"),
        ("AS000004", "2026-01-05T12:00:01+00:00"),
        ("AS000007", "2026-01-05T12:00:02+00:00"),
        ("AS000010", "2026-01-05T12:00:03+00:00"),
    ]
    payout = [t for t in transfers if t.txn_id == transfers[-1].txn_id]
    assert [(t.customer_id, t.direction, str(t.amount), t.currency) for t in payout] == [
        ("AS000000", "out", "1900.00", "USD"),
        ("AS000011", "in", "1900.00", "USD"),
    ]
    assert payout[0].counterparty.customer_id == "AS000011"
    assert payout[0].counterparty.account_number == "11"
    assert payout[0].occurred_at == datetime.fromisoformat("2026-01-08T12:00:00+00:00")


def test_the_packs(out: Path):
    pack = load_pack(out / convert_amlsim.PACK_FILE)
    shapes = load_pack(out / convert_amlsim.SHAPES_PACK_FILE)
    for rule_id in ("KYC_INCOMPLETE", "KYC_ID_EXPIRED", "CDD_ONE_OFF", "WATCHLIST_MATCH"):
        assert not getattr(pack.config.rules, rule_id).enabled
        assert not getattr(shapes.config.rules, rule_id).enabled
    for rule_id, param in convert_amlsim.AMOUNT_FLOORS:
        assert getattr(getattr(shapes.config.rules, rule_id), param).amount == 1
        assert getattr(getattr(pack.config.rules, rule_id), param).amount > 1000
    assert {"COUNTERPARTY_HUB", "FUNDS_CYCLE"} <= {r for r, _ in convert_amlsim.AMOUNT_FLOORS}
    # the shape parameters stay as the pack has them
    shape = {
        "FUNNEL_IN": ("min_payers", "window_days"),
        "COUNTERPARTY_HUB": ("window_days", "min_customers", "max_customers", "sides"),
        "FUNDS_CYCLE": ("min_hops", "max_hops", "window_hours", "hop_hours", "min_carry_pct"),
    }
    for rule_id, params in shape.items():
        for param in params:
            want = getattr(getattr(pack.config.rules, rule_id), param)
            assert getattr(getattr(shapes.config.rules, rule_id), param) == want, param


def test_backtest_on_the_converted_fixture(out: Path):
    packs = [load_pack(out / convert_amlsim.PACK_FILE), load_pack(out / "amlsim-shapes-pack.yaml")]
    report = backtest(out, out / "labels.jsonl", packs)
    default, shapes = (p["outcome"] for p in report["packs"])
    # USD 2,000 through the funnel is far under the pack's CNY 100,000
    assert default["alerts"] == 0 and default["per_typology"]["fan_in"]["found"] == 0
    # the shape alone: ten payers in, 95 % out to one payee; its payers and payee are not
    assert shapes["per_rule"]["FUNNEL_IN"]["customers_alerted"] == 1
    # seen from node 0's account: ten of our customers pay it within three days, a hub;
    # each payer is alerted, of whom only node 1 is labelled
    hub = shapes["per_rule"]["COUNTERPARTY_HUB"]
    assert (hub["customers_alerted"], hub["labelled_alerted"]) == (10, 1)
    assert shapes["per_typology"]["fan_in"]["missed"] == ["AS000011"]
    assert shapes["per_typology"]["fan_in"]["recall"] == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        ("nodes.csv", "id,fraud\n0,1\n", "nodes.csv:1"),
        ("transactions.csv", "sourceNodeId,targetNodeId,value,time\n0,99,1.0,1\n", ":2"),
        ("transactions.csv", "sourceNodeId,targetNodeId,value,time\n0,1,x,1\n", ":2"),
        ("transactions.csv", "sourceNodeId,targetNodeId,value,time\n0,1,5,0\n", ":2"),
    ],
)
def test_a_bad_file_is_refused_naming_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, text: str, where: str
):
    nodes, trans = tmp_path / "nodes.csv", tmp_path / "transactions.csv"
    nodes.write_text("nodeid,isFraud,init_balance,fraudStep\n0,1,1,1\n1,0,1,-1\n")
    trans.write_text("sourceNodeId,targetNodeId,value,time\n0,1,5.0,1\n")
    (tmp_path / name).write_text(text)
    argv = ["--nodes", str(nodes), "--transactions", str(trans), "--out", str(tmp_path / "o")]
    assert convert_amlsim.main(argv) == 2
    assert where in capsys.readouterr().err
