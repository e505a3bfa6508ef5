"""Every alert carries its explanation: the pack version, the rule's parameters, the figures
that decided it and a narrative in English and Chinese, all a function of the facts."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from monitor.core.decode import Decoder
from monitor.core.engine import Engine
from monitor.core.explain import TEMPLATES, json_safe, render
from monitor.core.pack import Pack, load_pack, pack_from_mapping
from monitor.core.rules.config import RuleConfig
from monitor.core.state import CustomerState
from monitor.tools.queue_format import entry_detail, entry_json
from monitor.tools.scenario import read_scenario
from schemas import Alert
from tests.unit.conftest import (
    CONFIG_DIR,
    PERSON_ID_NUMBER,
    PERSON_NAME,
    cash,
    individual_opening_data,
    make_engine,
    needs_watchlist,
    opening,
    raw_pack,
    remittance,
    run,
    without,
)

SAMPLE = CONFIG_DIR / "samples" / "all-rules.jsonl"
RULES_DOC = Path(__file__).resolve().parents[2] / "docs" / "rules.md"
DOC_RULE = "LV_XBORDER_INDIVIDUAL"  # the example alert of docs/rules.md, "Explanations"
_VERSION = re.compile(r"^sha256:[0-9a-f]{16}$")


def run_sample(pack: Pack, path: Path = SAMPLE) -> list[Alert]:
    """The alerts of a scenario file through a fresh engine, detected at a fixed time."""
    engine, decoder = Engine(pack), Decoder(pack.fx)
    states: dict[str, CustomerState] = {}
    alerts: list[Alert] = []
    for message in read_scenario(path):
        event = decoder.decode(message.kind, message.value)
        if getattr(event, "customer_id", None) is None:
            continue
        # and to the account records of the rules across customers (monitor.core.network)
        todo: list[Any] = [event, *engine.edges(event)]
        while todo:
            applied = todo.pop(0)
            key = applied.customer_id
            outcome = engine.process(states.get(key), applied, datetime(2026, 4, 1, tzinfo=UTC))
            states[key] = outcome.state
            alerts.extend(outcome.findings.alerts)
            todo[:0] = outcome.findings.forwards
    return alerts


def _enabled_rules(pack: Pack) -> set[str]:
    return {
        rule_id
        for rule_id in pack.registry.rule_ids()
        if isinstance(cfg := getattr(pack.config.rules, rule_id), RuleConfig) and cfg.enabled
    }


@needs_watchlist
@pytest.mark.parametrize("file", ["cn-pboc.yaml", "us-bsa.yaml"])
def test_every_alert_of_the_sample_is_explained(file: str) -> None:
    pack = load_pack(CONFIG_DIR / file)
    alerts = run_sample(pack)
    assert alerts
    for alert in alerts:
        explanation = alert.explanation
        assert explanation is not None, alert.rule_id
        assert explanation.pack_version == pack.version
        assert _VERSION.match(explanation.pack_version)
        assert explanation.figures, alert.rule_id
        cfg = getattr(pack.config.rules, alert.rule_id)
        assert explanation.parameters == cfg.model_dump(mode="json")
        if alert.rule_id in TEMPLATES:  # rendered from the template, not the summary
            assert explanation.narrative.en != alert.summary
            assert not explanation.narrative.zh.startswith("规则")
        assert explanation.narrative.en and explanation.narrative.zh
    if file == "cn-pboc.yaml":  # the sample fires every rule of the default pack
        assert {a.rule_id for a in alerts} == _enabled_rules(pack)


def test_every_enabled_rule_of_us_bsa_explains_what_decided_it() -> None:
    """Events that fire each enabled us-bsa rule the sample does not (CTR summed in USD
    across currencies, structuring, funds-transfer information, agent cash, KYC)."""
    engine = make_engine(file="us-bsa.yaml")
    at = "2026-03-03T10:00:00-05:00"
    expired = individual_opening_data(customer_id="C006", at=at)
    expired["id_document"] = {**expired["id_document"], "expires_on": "2026-01-31"}
    events = [
        cash("6000", currency="EUR", at=at, txn_id="U-1"),
        cash("6000", currency="USD", at="2026-03-03T11:00:00-05:00", txn_id="U-2"),
        cash("9000", currency="USD", at=at, customer_id="C002", txn_id="U-3"),
        cash("8500", currency="USD", at="2026-03-05T10:00:00-05:00", customer_id="C002"),
        remittance("5000", currency="USD", at=at, customer_id="C003", beneficiary={"name": ""}),
        cash("12000", currency="USD", at=at, customer_id="C004", conductor={"name": "A. Agent"}),
        opening(without(individual_opening_data(customer_id="C005", at=at), "address")),
        opening(expired),
    ]
    alerts = run(engine, events).alerts
    fired = {a.rule_id for a in alerts}
    required = {"LV_CASH", "SAR_STRUCTURING", "REMIT_MISSING_INFO", "CDD_AGENT", "KYC_ID_EXPIRED"}
    assert required <= fired
    sample = {a.rule_id for a in run_sample(load_pack(CONFIG_DIR / "us-bsa.yaml"))}
    us = pack_from_mapping(raw_pack("us-bsa.yaml"), base_dir=CONFIG_DIR)
    # LV_CASH_CONDUCTOR runs on the conductor's record (tests/unit/test_us_bsa_conductor.py)
    # and KYC_BENEFICIAL_OWNER on an entity opening; both explain with the same code path
    untested_here = {"WATCHLIST_MATCH", "LV_CASH_CONDUCTOR", "KYC_BENEFICIAL_OWNER"}
    assert _enabled_rules(us) - untested_here <= fired | sample
    for alert in alerts:
        assert alert.explanation is not None and alert.explanation.figures, alert.rule_id
        assert alert.explanation.narrative.en != alert.summary, alert.rule_id
    ctr = [a for a in alerts if a.rule_id == "LV_CASH" and a.customer_id == "C001"][-1]
    assert ctr.explanation is not None
    figures = ctr.explanation.figures
    assert figures["currency"] == "USD" and figures["count"] == 2
    assert figures["inclusive"] is False and "exceeding" in ctr.explanation.narrative.en
    assert "超过" in ctr.explanation.narrative.zh
    rates = figures["fx_rates"]
    # the rates this event used (the EUR deposit's day total came from an earlier event)
    assert isinstance(rates, dict) and "USD/CNY" in rates


def test_every_rule_of_the_default_pack_has_a_template() -> None:
    pack = pack_from_mapping(raw_pack(), base_dir=CONFIG_DIR)
    assert set(pack.registry.rule_ids()) <= set(TEMPLATES)


@needs_watchlist
def test_same_facts_give_a_byte_identical_explanation() -> None:
    first = run_sample(load_pack())
    second = run_sample(load_pack())
    assert [a.model_dump_json() for a in first] == [a.model_dump_json() for a in second]
    # detected later: only detected_at differs, never the explanation
    engine_a, engine_b = make_engine(), make_engine()
    events = [cash(amount="30000.00"), cash(amount="25000.00")]
    a = run(engine_a, events, detected_at=datetime(2026, 4, 1, tzinfo=UTC)).alerts
    b = run(engine_b, events, detected_at=datetime(2027, 1, 1, tzinfo=UTC)).alerts
    assert a and [x.explanation for x in a] == [y.explanation for y in b]
    assert [orjson.dumps(x.model_dump(mode="json")["explanation"]) for x in a] == [
        orjson.dumps(y.model_dump(mode="json")["explanation"]) for y in b
    ]


def test_pack_version_changes_when_a_data_file_changes(tmp_path: Path) -> None:
    for name in ("cn-pboc.yaml", "fx-rates.yaml"):
        shutil.copy(CONFIG_DIR / name, tmp_path / name)
    shutil.copytree(CONFIG_DIR / "calendars", tmp_path / "calendars")
    shutil.copytree(CONFIG_DIR / "watchlists", tmp_path / "watchlists")
    pack_file = tmp_path / "cn-pboc.yaml"
    before = load_pack(pack_file).version
    assert load_pack(pack_file).version == before  # a function of the files only
    assert before == load_pack().version  # wherever they are
    fx = tmp_path / "fx-rates.yaml"
    fx.write_text(fx.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    after_fx = load_pack(pack_file).version
    assert after_fx != before
    calendar = next((tmp_path / "calendars").glob("cn.yaml"))
    calendar.write_text(calendar.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    after_calendar = load_pack(pack_file).version
    assert after_calendar not in (before, after_fx)
    watchlist = tmp_path / "watchlists" / "sample.yaml"
    if watchlist.is_file():
        watchlist.write_text(watchlist.read_text(encoding="utf-8") + "\n# x\n", encoding="utf-8")
        assert load_pack(pack_file).version not in (before, after_fx, after_calendar)
    pack_file.write_text(pack_file.read_text(encoding="utf-8") + "\n# x\n", encoding="utf-8")
    assert load_pack(pack_file).version not in (before, after_fx, after_calendar)


def test_rules_check_prints_the_pack_version(capsys: pytest.CaptureFixture[str]) -> None:
    from monitor.tools.cli import main

    assert main(["rules", "check", str(CONFIG_DIR / "us-bsa.yaml"), "--today", "2026-06-01"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.endswith(f"valid, version {load_pack(CONFIG_DIR / 'us-bsa.yaml').version}")


def test_list_files_of_the_watch_list_rule_count_in_the_version(tmp_path: Path) -> None:
    source = Path(__file__).resolve().parents[1] / "data" / "lists" / "sdn.csv"
    if not source.is_file():
        pytest.skip("no OFAC CSV sample list")
    shutil.copy(source, tmp_path / "sdn.csv")
    shutil.copy(CONFIG_DIR / "fx-rates.yaml", tmp_path / "fx-rates.yaml")
    raw = raw_pack()
    raw.pop("calendar", None)
    raw["rules"]["WATCHLIST_MATCH"] = {
        "file": None,
        "lists": [{"file": "sdn.csv", "format": "ofac_sdn_csv"}],
    }
    before = pack_from_mapping(raw, base_dir=tmp_path).version
    (tmp_path / "sdn.csv").write_bytes((tmp_path / "sdn.csv").read_bytes() + b"\n")
    assert pack_from_mapping(raw, base_dir=tmp_path).version != before


def test_a_pack_from_a_mapping_is_versioned_by_its_content() -> None:
    raw = raw_pack()
    one = pack_from_mapping(raw, base_dir=CONFIG_DIR).version
    assert one == pack_from_mapping(raw_pack(), base_dir=CONFIG_DIR).version
    raw["rules"]["LV_CASH"]["severity"] = "high"
    assert pack_from_mapping(raw, base_dir=CONFIG_DIR).version != one


def test_narratives_contain_the_key_figures() -> None:
    engine = make_engine()
    events = [
        cash(amount="30000.00", at="2026-03-03T10:00:00+08:00"),
        cash(amount="25000.00", at="2026-03-03T11:00:00+08:00"),
    ]
    (alert,) = [a for a in run(engine, events).alerts if a.rule_id == "LV_CASH"][-1:]
    assert alert.explanation is not None
    figures = alert.explanation.figures
    assert figures["total"] == "55000.00"
    assert figures["count"] == 2
    assert figures["threshold"] == "50000.00"
    assert figures["distance"] == "5000.00"
    narrative = alert.explanation.narrative
    for text in (narrative.en, narrative.zh):
        for key in ("55000.00", "50000.00", "5000.00", "2026-03-03", "CNY"):
            assert key in text, (key, text)
    assert "达到大额交易报告标准" in narrative.zh


def test_foreign_currency_alerts_carry_the_fx_rates_used() -> None:
    engine = make_engine()
    (alert,) = [
        a
        for a in run(engine, [cash(amount="12000.00", currency="USD")]).alerts
        if a.rule_id == "LV_CASH"
    ]
    assert alert.explanation is not None
    figures = alert.explanation.figures
    assert figures["currency"] == "USD"
    rates = figures["fx_rates"]
    assert isinstance(rates, dict) and "USD/CNY" in rates
    assert Decimal(str(rates["USD/CNY"])) > 0
    # a local-currency alert converts nothing and shows no rate
    (local,) = [
        a for a in run(make_engine(), [cash(amount="60000.00")]).alerts if a.rule_id == "LV_CASH"
    ]
    assert local.explanation is not None and "fx_rates" not in local.explanation.figures


@needs_watchlist
def test_explanations_carry_no_names_or_identity_numbers() -> None:
    for alert in run_sample(load_pack()):
        text = orjson.dumps(alert.explanation.model_dump(mode="json") if alert.explanation else {})
        for secret in ("Customer R", "310101198506121231", PERSON_NAME, PERSON_ID_NUMBER):
            assert secret.encode() not in text, (alert.rule_id, secret)


def test_a_rule_without_a_template_falls_back_to_its_summary() -> None:
    en, zh = render("NO_SUCH_RULE", {}, {"x": "1"}, "something happened")
    assert en == "something happened"
    assert zh == "规则 NO_SUCH_RULE：something happened"
    # a template naming a figure the rule did not give also falls back
    en, _ = render("LV_CASH", {}, {"total": "1"}, "the summary")
    assert en == "the summary"


def test_figures_are_json_safe_and_ordered() -> None:
    value = json_safe(
        {"b": Decimal("1.234"), "a": {3, 1}, "c": (Decimal(5),), "d": datetime(2026, 1, 1)}
    )
    assert list(value) == ["a", "b", "c", "d"]
    assert value == {"a": [1, 3], "b": "1.23", "c": ["5.00"], "d": "2026-01-01T00:00:00"}


# --------------------------------------------------------------------------- the queue


@needs_watchlist
def test_a_queue_entry_shows_the_narrative_and_the_figures() -> None:
    alert = next(a for a in run_sample(load_pack()) if a.rule_id == "STRUCTURING")
    assert alert.explanation is not None
    data = alert.model_dump(mode="json")
    fields = {k: str(data[k] or "") for k in ("alert_id", "rule_id", "customer_id", "summary")}
    fields["alert"] = orjson.dumps(data).decode()
    text = entry_detail("1-0", fields)
    assert alert.explanation.narrative.en in text
    assert "transactions" in text and "ST0" in text and "2026-03-03T10:00:00+08:00" in text
    assert alert.explanation.pack_version in text
    assert entry_json("1-0", fields)["narrative"] == alert.explanation.narrative.en
    del fields["alert"]
    assert "no explanation" in entry_detail("1-0", fields)
    assert entry_json("1-0", fields)["narrative"] is None


# --------------------------------------------------------------------------- the docs


def doc_example() -> str:
    """The example alert of docs/rules.md as the engine produces it (pack_version aside)."""
    alert = next(a for a in run_sample(load_pack()) if a.rule_id == DOC_RULE)
    return orjson.dumps(alert.model_dump(mode="json"), option=orjson.OPT_INDENT_2).decode()


def _documented() -> str:
    text = RULES_DOC.read_text(encoding="utf-8")
    match = re.search(r"<!-- explanation-example -->\n```json\n(.*?)\n```", text, re.S)
    assert match, "docs/rules.md lacks the explanation example block"
    return match.group(1)


def _unversioned(text: str) -> str:
    return re.sub(r'"pack_version": "sha256:[0-9a-f]{16}"', '"pack_version": "…"', text)


@needs_watchlist
def test_the_documented_example_is_what_the_engine_produces() -> None:
    """The example in docs/rules.md ("Explanations") equals the engine's output; the pack
    version aside (it changes with every edit of the default pack's files)."""
    produced = doc_example()
    assert _unversioned(_documented()) == _unversioned(produced), (
        "docs/rules.md's explanation example is stale; replace it with:\n" + produced
    )


def write_doc_example() -> None:
    """Replace the example in docs/rules.md with the engine's output
    (`python -m tests.unit.test_explanations`)."""
    text = RULES_DOC.read_text(encoding="utf-8")
    old = f"<!-- explanation-example -->\n```json\n{_documented()}\n```"
    new = f"<!-- explanation-example -->\n```json\n{doc_example()}\n```"
    RULES_DOC.write_text(text.replace(old, new), encoding="utf-8")


if __name__ == "__main__":
    write_doc_example()
