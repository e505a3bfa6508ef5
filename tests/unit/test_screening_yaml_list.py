"""The YAML watch-list format: validation errors name the field, never a listed name."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from monitor.core.errors import ConfigurationError
from monitor.core.screening import WatchlistEntry, load_watchlist
from monitor.tools.screen_eval import DEFAULT_WATCHLIST

VALID_ENTRY = "  - {id: T-1, names: [Test Person], list: test, reason: testing}\n"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            "  - {id: T-1, names: [Test Person], country: cn, list: test, reason: r}\n",
            "entries.0.country",
        ),
        (
            "  - {id: T-1, names: [Test Person], nickname: x, list: test, reason: r}\n",
            "entries.0.nickname",
        ),
        ("  - {id: T-1, names: [Test Person], reason: r}\n", "entries.0.list"),
        ("  - {id: T-1, names: [], list: test, reason: r}\n", "entries.0.names"),
        (
            "  - {id: T-1, names: [Test Person, '12-3'], list: test, reason: r}\n",
            "entries.0.names.1",
        ),
        (
            "  - {id: T-1, names: [Test Person], birth_date: 1975-13-01, list: test, reason: r}\n",
            "entries.0.birth_date",
        ),
        (VALID_ENTRY + VALID_ENTRY, "entries.1.id"),
    ],
)
def test_loader_names_the_bad_field(tmp_path: Path, body: str, field: str) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("name: t\nentries:\n" + body, encoding="utf-8")
    with pytest.raises(ConfigurationError) as caught:
        load_watchlist(path)
    assert f": {field}:" in str(caught.value)
    assert "Test Person" not in str(caught.value)


def test_loader_refuses_unknown_top_level_key(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("name: t\nversion: 2\nentries:\n" + VALID_ENTRY, encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r": version:"):
        load_watchlist(path)


def test_loader_yaml_error_does_not_echo_names(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("name: t\nentries:\n  - {id: T-1, names: [Secret Person\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="not valid YAML") as caught:
        load_watchlist(path)
    assert "Secret" not in str(caught.value)


def test_loader_reads_entries(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text(
        "name: t\nentries:\n  - {id: T-1, names: [张三, Zhang San], birth_date: 1970-01-02, "
        "country: CN, list: test, reason: testing}\n",
        encoding="utf-8",
    )
    assert load_watchlist(path) == [
        WatchlistEntry("T-1", ("张三", "Zhang San"), date(1970, 1, 2), "CN", "test", "testing")
    ]


def test_sample_list_is_valid_and_fictional() -> None:
    entries = load_watchlist(DEFAULT_WATCHLIST)
    assert 35 <= len(entries) <= 50
    assert len({e.entry_id for e in entries}) == len(entries)
    assert {e.list_name for e in entries} == {"sample-sanctions", "sample-pep"}
    assert "FICTIONAL" in DEFAULT_WATCHLIST.read_text(encoding="utf-8").splitlines()[0]
