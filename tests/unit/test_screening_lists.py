"""List loaders: OFAC SDN (XML, CSV), UN consolidated (XML), FtM JSON, and the rule's lists."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from monitor.core.errors import ConfigurationError
from monitor.core.screening import WatchlistMatcher
from monitor.core.screening.lists import load_list
from monitor.core.screening.lists.parse import parse_birth

from .conftest import make_engine, remittance, run

LISTS = Path(__file__).resolve().parents[1] / "data" / "lists"


@pytest.mark.parametrize("name,fmt", [("sdn.xml", "ofac_sdn_xml"), ("sdn.csv", "ofac_sdn_csv")])
def test_ofac_sdn_xml_and_csv_read_the_same_person(name: str, fmt: str) -> None:
    entries = {e.entry_id: e for e in load_list(LISTS / name, fmt)}
    lin = entries["SDN-90001"]
    assert lin.names[:2] == ("Guohao LIN", "Kwok Ho LAM")
    assert lin.names[2] == "Ah Hao" and lin.weak == frozenset({2})
    assert lin.birth_dates == (date(1975, 3, 14),)
    assert lin.countries == ("CN",)
    assert lin.id_numbers == ("E90001234",)
    assert entries["SDN-90003"].kind == "entity"


def test_un_consolidated_reads_individuals_and_entities() -> None:
    entries = {e.entry_id: e for e in load_list(LISTS / "un_consolidated.xml", "un_consolidated")}
    chen = entries["UN-SYi.001"]
    assert "陈志强" in chen.names and "Chan Chi Keung" in chen.names
    assert chen.names[min(chen.weak)] == "Ah Keung"
    assert chen.id_numbers == ("K88000111",) and chen.countries == ("CN",)
    assert entries["UN-SYi.002"].birth_years == (1960, 1961, 1962)
    assert entries["UN-SYe.001"].kind == "entity"


def test_ftm_json_reads_persons_and_companies_and_skips_other_schemata() -> None:
    entries = {e.entry_id: e for e in load_list(LISTS / "entities.ftm.json")}
    assert set(entries) == {
        "synth-person-wang-jianhua",
        "synth-person-soren",
        "synth-company-golden-crane",
    }
    wang = entries["synth-person-wang-jianhua"]
    assert wang.names[min(wang.weak)] == "Lao Wang"
    assert wang.birth_dates == (date(1971, 6, 30),) and wang.countries == ("CN",)
    assert entries["synth-person-soren"].birth_years == (1966,)


def test_loaded_entries_match_by_name_and_identifiers() -> None:
    entries = [
        *load_list(LISTS / "sdn.xml", "ofac_sdn_xml"),
        *load_list(LISTS / "un_consolidated.xml", "un_consolidated"),
        *load_list(LISTS / "entities.ftm.json"),
    ]
    matcher = WatchlistMatcher(entries)
    assert [m.entry_id for m in matcher.match("Lam Kwok-ho")] == ["SDN-90001"]
    assert matcher.match("Guo Haolin") == []
    [hit] = matcher.match("Lin Guohao", date(1975, 3, 14), "CN", "e9000-1234")
    assert hit.identifiers.agreed == ("birth_date", "country", "id_number")
    assert matcher.match("Lin Guohao", date(1976, 3, 14)) == []
    [weak] = matcher.match("Ah Hao")
    assert weak.weak_alias
    assert matcher.match("Ah Haoo") == []  # a weak alias counts only as listed
    assert [m.entry_id for m in matcher.match("Ivan Petrovsky", date(1961, 5, 1))] == ["UN-SYi.002"]
    assert [m.entry_id for m in matcher.match("Northern Star Petroleum Ltd")] == ["UN-SYe.001"]


@pytest.mark.parametrize(
    ("text", "dates", "years"),
    [
        ("06 Jun 1992", [date(1992, 6, 6)], []),
        ("1992-06-06", [date(1992, 6, 6)], []),
        ("Jun 1992", [], [1992]),
        ("circa 1960", [], [1960]),
        ("1960 to 1961", [], [1960, 1961]),
        ("", [], []),
    ],
)
def test_birth_dates_as_lists_write_them(text: str, dates: list[date], years: list[int]) -> None:
    assert parse_birth(text) == (dates, years)


def test_unknown_format_and_missing_file_are_configuration_errors(tmp_path: Path) -> None:
    other = tmp_path / "other.xml"
    other.write_text("<list/>", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="format"):
        load_list(other)
    assert load_list(LISTS / "sdn.xml") == load_list(LISTS / "sdn.xml", "ofac_sdn_xml")
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_list(tmp_path / "none.yaml")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="line 1"):
        load_list(bad)


def _list_engine() -> object:
    return make_engine(
        {
            "rules.WATCHLIST_MATCH.enabled": True,
            "rules.WATCHLIST_MATCH.file": None,
            "rules.WATCHLIST_MATCH.lists": [
                {"file": str(LISTS / "sdn.xml"), "format": "ofac_sdn_xml"},
                {"file": str(LISTS / "entities.ftm.json"), "format": "ftm_json"},
            ],
        }
    )


def test_a_common_name_matched_on_the_name_alone_is_a_low_severity_review() -> None:
    engine = _list_engine()
    result = run(engine, [remittance(beneficiary={"name": "Li Bo", "country": "SG"})])  # type: ignore[arg-type]
    [alert] = result.by_rule("WATCHLIST_MATCH")
    assert alert.severity == "low"
    assert "conflicted: country" in alert.summary
    assert "missing: birth_date, id_number" in alert.summary
    assert "common name, name only" in alert.summary
    assert "Li Bo" not in alert.summary


def test_a_listed_name_with_agreeing_identifiers_keeps_the_rule_severity() -> None:
    engine = _list_engine()
    event = remittance(
        direction="in",
        originator={"name": "Lin Guohao", "country": "CN", "id_number": "E90001234"},
    )
    result = run(engine, [event])  # type: ignore[arg-type]
    [alert] = result.by_rule("WATCHLIST_MATCH")
    assert alert.severity == "high"
    assert "agreed: country, id_number" in alert.summary


def test_shuffled_syllables_raise_nothing() -> None:
    engine = _list_engine()
    result = run(engine, [remittance(beneficiary={"name": "Guo Haolin"})])  # type: ignore[arg-type]
    assert result.by_rule("WATCHLIST_MATCH") == []
