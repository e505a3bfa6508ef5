"""`monitor backtest` without the CLI: labels as a bank has them (with or without
expected_rules), the outcome arithmetic, and the sweep (one pass, gained and lost)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from monitor.core.decode import Decoder
from monitor.core.errors import ConfigurationError
from monitor.core.pack import load_pack
from monitor.tools.backtest import PackResult, evaluate, outcome, read_labels
from monitor.tools.offline import RunStats
from monitor.tools.simulate import TOPIC_FILES, simulate, write_simulation
from monitor.tools.sweep import compare, parse_sweep, run_sweep, variant_pack


def write(path: Path, *lines: bytes) -> Path:
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


def test_labels_from_case_outcomes_need_no_expected_rules(tmp_path: Path):
    path = write(
        tmp_path / "labels.jsonl",
        b'{"customer_id": "C1", "typology": "structuring", "case": "K-17"}',
        b"",
        b'{"customer_id": "C2", "typology": "funnel"}',
    )
    labels = read_labels(path)
    assert [(lab["customer_id"], lab["typology"]) for lab in labels] == [
        ("C1", "structuring"),
        ("C2", "funnel"),
    ]


def test_labels_with_expected_rules(tmp_path: Path):
    path = write(
        tmp_path / "labels.jsonl",
        b'{"customer_id": "C1", "typology": "large_cash", "expected_rules": ["LV_CASH"]}',
        b'{"customer_id": "C2", "typology": "near_miss", "expected_rules": []}',
    )
    assert [lab["expected_rules"] for lab in read_labels(path)] == [["LV_CASH"], []]


@pytest.mark.parametrize(
    ("lines", "where", "says"),
    [
        ([b'{"customer_id": "C1", "typology": "x"}', b'{"customer_id": "C2", '], 2, "not JSON"),
        ([b'{"customer_id": "C1"}'], 1, "typology"),
        ([b'{"customer_id": "", "typology": "x"}'], 1, "customer_id"),
        ([b'["C1", "x"]'], 1, "customer_id"),
        ([b'{"customer_id": "C1", "typology": "x", "expected_rules": "LV_CASH"}'], 1, "list"),
        (
            [
                b'{"customer_id": "C1", "typology": "x", "expected_rules": ["LV_CASH"]}',
                b'{"customer_id": "C2", "typology": "y"}',
            ],
            2,
            "every line or on none",
        ),
    ],
)
def test_a_broken_label_names_its_line(tmp_path: Path, lines: list[bytes], where: int, says: str):
    path = write(tmp_path / "labels.jsonl", *lines)
    with pytest.raises(ConfigurationError) as err:
        read_labels(path)
    assert f"labels.jsonl:{where}:" in str(err.value)
    assert says in str(err.value)


def hand_made() -> tuple[dict[str, set[str]], dict[str, int], list[dict[str, object]]]:
    """1,000 customers; labelled: A, B, C (structuring), D (funnel); cleared: N.
    RULE_X alerted A, B, Z (4 alerts: A twice); RULE_Y alerted D, N, Z (3 alerts)."""
    alerts_by_rule = {"RULE_X": {"A", "B", "Z"}, "RULE_Y": {"D", "N", "Z"}}
    counts = {"RULE_X": 4, "RULE_Y": 3}
    labels: list[dict[str, object]] = [
        {"customer_id": c, "typology": "structuring"} for c in ("A", "B", "C")
    ] + [{"customer_id": "D", "typology": "funnel"}]
    return alerts_by_rule, counts, labels


def test_outcome_arithmetic():
    alerts_by_rule, counts, labels = hand_made()
    o = outcome(alerts_by_rule, counts, labels, 1000)
    assert o["per_rule"]["RULE_X"] == {
        "alerts": 4,
        "alerts_per_1000_customers": 4.0,
        "customers_alerted": 3,
        "labelled_alerted": 2,
        "precision": pytest.approx(2 / 3),
    }
    assert o["per_rule"]["RULE_Y"]["precision"] == pytest.approx(1 / 3)
    assert o["per_typology"]["structuring"] == {
        "customers": 3,
        "found": 2,
        "recall": pytest.approx(2 / 3),
        "missed": ["C"],
    }
    assert o["per_typology"]["funnel"]["recall"] == 1.0
    # 5 customers alerted (A B D N Z), 3 of them labelled; 7 alerts for 3 found
    assert o["customers_alerted"] == 5
    assert (o["labelled"], o["labelled_found"]) == (4, 3)
    assert o["recall"] == pytest.approx(3 / 4)
    assert o["precision"] == pytest.approx(3 / 5)
    assert o["alerts_per_1000_customers"] == 7.0
    assert o["alerts_per_labelled_found"] == pytest.approx(7 / 3)
    assert (o["cleared"], o["cleared_alerted"]) == (0, 0)


def test_a_cleared_label_is_not_a_positive():
    alerts_by_rule, counts, labels = hand_made()
    labels.append({"customer_id": "N", "typology": "near_miss", "expected_rules": []})
    o = outcome(alerts_by_rule, counts, labels, 1000)
    assert "near_miss" not in o["per_typology"]
    assert (o["cleared"], o["cleared_alerted"]) == (1, 1)
    assert o["precision"] == pytest.approx(3 / 5)


def test_nothing_alerted_gives_no_precision():
    o = outcome({}, {}, [{"customer_id": "A", "typology": "t"}], 10)
    assert o["precision"] is None and o["alerts_per_labelled_found"] is None
    assert o["recall"] == 0.0


def test_evaluate_keeps_the_per_rule_report_only_with_expected_rules():
    alerts_by_rule, counts, labels = hand_made()
    result = PackResult("p", RunStats(), dict(alerts_by_rule), dict(counts))
    without = evaluate(result, labels, 1000)
    assert without["per_rule"] == {} and without["outcome"]["recall"] == pytest.approx(0.75)
    expected = [{**lab, "expected_rules": ["RULE_X"]} for lab in labels]
    with_rules = evaluate(result, expected, 1000)
    m = with_rules["per_rule"]["RULE_X"]
    assert (m["tp"], m["fp"], m["fn"], m["tn"]) == (2, 1, 2, 995)


def test_gained_and_lost():
    typologies = {"structuring": {"A", "B", "C"}, "funnel": {"D", "A"}}
    diff = compare({"A", "C", "D"}, {"A", "B"}, typologies)
    assert diff["gained"] == [
        {"customer_id": "C", "typologies": ["structuring"]},
        {"customer_id": "D", "typologies": ["funnel"]},
    ]
    assert diff["lost"] == [{"customer_id": "B", "typologies": ["structuring"]}]


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("STRUCTURING.lower_pct", "RULE.param=v1,v2"),
        ("STRUCTURING=85", "RULE.param=v1,v2"),
        ("STRUCTURING.lower_pct=85,,80", "RULE.param=v1,v2"),
    ],
)
def test_a_bad_sweep_spec_is_refused(spec: str, says: str):
    with pytest.raises(ConfigurationError, match=says):
        parse_sweep(spec)


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("STRUCTURING.lower_pct=150", "rules.STRUCTURING.lower_pct"),
        ("STRUCTURING.lower_pct=lots", "rules.STRUCTURING.lower_pct"),
        ("STRUCTURING.lowest_pct=85", "no field STRUCTURING.lowest_pct"),
        ("NO_SUCH_RULE.x=1", "unknown rule NO_SUCH_RULE"),
        ("LV_CASH.threshold.local.amount=-1", "rules.LV_CASH.threshold.local.amount"),
    ],
)
def test_a_variant_with_an_invalid_value_is_refused_naming_the_field(spec: str, says: str):
    sweep = parse_sweep(spec)
    with pytest.raises(ConfigurationError, match=says):
        variant_pack(load_pack(), sweep, sweep.values[0])


def test_a_variant_pack_changes_only_its_parameter():
    pack = load_pack()
    variant = variant_pack(pack, parse_sweep("STRUCTURING.lower_pct=85"), "85")
    assert str(variant.config.rules.STRUCTURING.lower_pct) == "85"
    assert variant.config.rules.LV_CASH == pack.config.rules.LV_CASH
    assert variant.config.model_dump(exclude={"rules"}) == pack.config.model_dump(exclude={"rules"})


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sim")
    write_simulation(simulate(customers=400, days=12, seed=3), out)
    return out


def test_the_sweep_decodes_each_input_once(sim: Path, monkeypatch: pytest.MonkeyPatch):
    calls = 0
    decode = Decoder.decode

    def counting(self: Decoder, kind: str, value: bytes | None):
        nonlocal calls
        calls += 1
        return decode(self, kind, value)

    monkeypatch.setattr(Decoder, "decode", counting)
    lines = sum(
        sum(1 for line in (sim / f"{t}.jsonl").read_bytes().splitlines() if line.strip())
        for t in TOPIC_FILES
        if (sim / f"{t}.jsonl").exists()
    )
    labels = read_labels(sim / "labels.jsonl")
    sweeps = [parse_sweep("LV_CASH.threshold.local.amount=40000,60000,90000")]
    report = run_sweep(sim, sim / "labels.jsonl", load_pack(), sweeps, labels)
    assert len(report["sweep"]["variants"]) == 4
    assert calls == lines == report["sweep"]["decoded"]


def test_the_sweep_lists_the_labelled_customers_a_variant_loses(sim: Path):
    labels = read_labels(sim / "labels.jsonl")
    large_cash = {lab["customer_id"] for lab in labels if lab["typology"] == "large_cash"}
    sweeps = [parse_sweep("LV_CASH.threshold.local.amount=90000.01")]
    report = run_sweep(sim, sim / "labels.jsonl", load_pack(), sweeps, labels)
    pack, higher = report["sweep"]["variants"]
    assert pack["gained"] == pack["lost"] == []
    assert higher["gained"] == []
    lost = {e["customer_id"] for e in higher["lost"]}
    # the simulator's large cash is 50,000-90,000: above 90,000.01 none is found
    assert lost and lost <= large_cash
    assert higher["recall_by_typology"]["large_cash"] == pytest.approx(
        1 - len(lost) / len(large_cash)
    )
    assert all(e["typologies"] == ["large_cash"] for e in higher["lost"])
    assert higher["alerts"] < pack["alerts"]


def test_the_sweep_on_the_pack_itself_changes_nothing(sim: Path):
    labels = read_labels(sim / "labels.jsonl")
    own = load_pack().config.rules.STRUCTURING.lower_pct
    report = run_sweep(
        sim,
        sim / "labels.jsonl",
        load_pack(),
        [parse_sweep(f"STRUCTURING.lower_pct={own}")],
        labels,
    )
    pack, same = report["sweep"]["variants"]
    assert {k: v for k, v in pack.items() if k not in ("variant", "sweep")} == {
        k: v for k, v in same.items() if k not in ("variant", "sweep")
    }
    assert orjson.dumps(report)  # the report is JSON


def test_sweep_and_compare_together_are_refused(tmp_path: Path):
    import argparse

    from monitor.core.pack import DEFAULT_PACK
    from monitor.tools.backtest import run_cli

    data = tmp_path / "data"
    data.mkdir()
    write(data / "kyc.account-openings.jsonl", b'{"event_id": "o1", "customer_id": "C1"}')
    labels = write(tmp_path / "labels.jsonl", b'{"customer_id": "C1", "typology": "t"}')
    args = argparse.Namespace(
        data=data,
        labels=labels,
        rules=None,
        compare=DEFAULT_PACK,
        report=tmp_path / "r",
        sweep=["STRUCTURING.lower_pct=85"],
    )
    with pytest.raises(ConfigurationError, match="--sweep and --compare"):
        run_cli(args)
