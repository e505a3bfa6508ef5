"""Watch-list matcher: normalisation, scoring guards, adjustments, loader and evaluation."""

from __future__ import annotations

import csv
import logging
import re
from datetime import date
from pathlib import Path

import pytest

from monitor.core.errors import ConfigurationError
from monitor.core.screening import (
    BIRTH_DATE_MATCH_BONUS,
    BIRTH_DATE_MISMATCH_PENALTY,
    COUNTRY_MISMATCH_PENALTY,
    DEFAULT_THRESHOLD,
    Match,
    WatchlistEntry,
    WatchlistMatcher,
    load_watchlist,
    normalise_name,
)
from monitor.tools.screen_eval import DEFAULT_PAIRS, DEFAULT_WATCHLIST, Pair, evaluate, load_pairs

BORN = date(1975, 3, 14)


def entry(
    entry_id: str,
    *names: str,
    born: date | None = None,
    country: str | None = None,
    list_name: str = "test-list",
) -> WatchlistEntry:
    return WatchlistEntry(entry_id, names, born, country, list_name, "test")


ENTRIES = [
    entry("ZXM", "张晓明", "Zhang Xiaoming", born=BORN, country="CN"),
    entry("ZW", "张伟"),  # Han characters only
    entry("WXH", "Wang Xiaohong"),  # pinyin only
    entry("CZQ", "陈志强", "Chan Chi Keung"),
    entry("ZQY", "曾庆远"),  # 曾 as a surname reads zeng, pypinyin's default is ceng
    entry("LZG", "吕志刚"),  # ü
    entry("OYM", "欧阳明远"),  # compound surname
    entry("LB", "李波"),  # short
    entry("JM", "José Müller", born=date(1969, 2, 14), country="AR"),
    entry("MAR", "Mohammed Abdullah Al-Rashidi", "Muhammad Abdallah al Rashidi"),
    entry("DSV", "Dmitriy Sergeyevich Volkonov", country="RU"),
    entry("ISP", "Ivan Sergeyevich Petrov"),
    entry("SO", "Søren Østergaard"),
    entry("AY", "Ayşe Yıldırım"),
    entry("KIM", "Kim"),  # an alias shorter than four letters
]


@pytest.fixture(scope="module")
def matcher() -> WatchlistMatcher:
    return WatchlistMatcher(ENTRIES)


def ids(matches: list[Match]) -> list[str]:
    return [m.entry_id for m in matches]


# --------------------------------------------------------------------------- robustness


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # case, spacing, punctuation
        ("ZHANG XIAOMING", "ZXM"),
        ("  zhang    xiaoming ", "ZXM"),
        ("Zhang, Xiao-Ming.", "ZXM"),
        ("JOSÉ  MÜLLER", "JM"),
        ("Mohammed Abdullah Al Rashidi", "MAR"),
        ("mohammed-abdullah-al-rashidi", "MAR"),
        ("Muhammad Abdallah al-Rashidi", "MAR"),
        ("Mohamed Abdallah Alrashidi", "MAR"),
        # diacritics
        ("Jose Muller", "JM"),
        ("Soren Ostergaard", "SO"),
        ("Ayse Yildirim", "AY"),
        # word order
        ("Xiaoming Zhang", "ZXM"),
        ("Müller, José", "JM"),
        ("Wei Zhang", "ZW"),
        ("VOLKONOV Dmitriy Sergeyevich", "DSV"),
        ("Mingyuan Ouyang", "OYM"),
        # Han characters <-> pinyin, both ways
        ("Zhang Wei", "ZW"),
        ("ZHANG Wei", "ZW"),
        ("张伟", "ZW"),
        ("王小红", "WXH"),
        ("张晓明", "ZXM"),
        ("Chen Zhiqiang", "CZQ"),
        ("Ouyang Mingyuan", "OYM"),
        # joined / split pinyin given names
        ("Zhang Xiao Ming", "ZXM"),
        ("Zhangxiaoming", "ZXM"),
        ("Wang Xiao Hong", "WXH"),
        ("Xiao Ming Zhang", "ZXM"),
        # traditional vs simplified
        ("張曉明", "ZXM"),
        ("張偉", "ZW"),
        ("陳志強", "CZQ"),
        ("歐陽明遠", "OYM"),
        # surname readings and ü
        ("Zeng Qingyuan", "ZQY"),
        ("Lyu Zhigang", "LZG"),
        ("Lü Zhigang", "LZG"),
        ("Lu Zhigang", "LZG"),
        ("LV ZHIGANG", "LZG"),
        # Cantonese alias, Cyrillic, omitted patronymic
        ("Chan Chi-keung", "CZQ"),
        ("Дмитрий Сергеевич Волконов", "DSV"),
        ("Dmitry Volkonov", "DSV"),
        ("Ivan Petrov", "ISP"),
        ("PETROV Ivan", "ISP"),
    ],
)
def test_matches_name_variants(matcher: WatchlistMatcher, query: str, expected: str) -> None:
    assert ids(matcher.match(query)) == [expected]


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("José Müller", "Jose Muller"),
        ("Wei Zhang", "Zhang Wei"),
        ("张伟", "Zhang Wei"),
        ("張偉", "张伟"),
        ("Zhang Xiaoming", "Zhang Xiao Ming"),
    ],
)
def test_equivalent_names_score_100(left: str, right: str) -> None:
    matches = WatchlistMatcher([entry("X", left)]).match(right)
    assert [(m.entry_id, m.score) for m in matches] == [("X", 100.0)]


@pytest.mark.parametrize(
    "query",
    [
        # same common surname, different given name: a different person
        "Zhang Xiaomin",
        "张晓敏",
        "Zhang Ming",
        "Zhang Weiming",
        "张伟明",
        "Zhang Xiaoping",
        "Wang Xiaohua",
        "Chen Zhigang",
        # one letter off in short names
        "Li Po",
        "Lu Bo",
        "Zhang Wen",
        # pinyin syllables in another order are another name (张明晓)
        "Zhang Mingxiao",
        # a different surname hidden behind a long shared given name
        "Dmitry Volkov",
        # both drop their patronymic to "Ivan Petrov": shortened spellings never meet
        "Ivan Nikolayevich Petrov",
        # unrelated
        "Peter Schmidt",
        "Maria Garcia",
    ],
)
def test_does_not_match_other_people(matcher: WatchlistMatcher, query: str) -> None:
    assert matcher.match(query) == []


@pytest.mark.parametrize("query", ["Li", "Wu", "Bo", "Ali", "Zh", "Kin", "Kima", "K.I.M.A"])
def test_short_names_never_match_on_partial_similarity(query: str) -> None:
    # threshold 50 would let plain fuzzy scoring through ("ali" vs "alihadi" is 60)
    lenient = WatchlistMatcher([*ENTRIES, entry("AH", "Ali Hadi")], threshold=50)
    assert lenient.match(query) == []


def test_short_names_still_match_exactly() -> None:
    lenient = WatchlistMatcher(ENTRIES, threshold=50)
    assert ids(lenient.match("KIM")) == ["KIM"]
    assert ids(lenient.match("李波")) == ["LB"]
    assert ids(lenient.match("Bo Li")) == ["LB"]


def test_normalise_name_spellings() -> None:
    assert normalise_name("José Müller") == ("jose muller",)
    assert normalise_name("张晓明") == ("zhang xiaoming",)
    assert normalise_name("曾庆远") == ("ceng qingyuan", "zeng qingyuan")
    assert normalise_name("吕志刚") == ("lu zhigang", "lyu zhigang", "lv zhigang")
    assert normalise_name("Ivan Sergeyevich Petrov") == ("ivan sergeyevich petrov", "ivan petrov")
    assert normalise_name("Zhang Xiao Ming") == ("zhang xiao ming",)  # pinyin: no shortening


# --------------------------------------------------------------------------- adjustments


def test_birth_date_and_country_adjust_the_score() -> None:
    lenient = WatchlistMatcher(ENTRIES, threshold=50)
    [plain] = lenient.match("Zhang Xiaoming")
    assert plain.score == 100.0
    [same] = lenient.match("Zhang Xiaoming", BORN, "CN")
    assert same.score == 100.0  # capped
    [other] = lenient.match("Zhang Xiaoming", date(1988, 2, 2))
    assert other.score == 100.0 - BIRTH_DATE_MISMATCH_PENALTY
    [abroad] = lenient.match("Zhang Xiaoming", None, "hk")
    assert abroad.score == 100.0 - COUNTRY_MISMATCH_PENALTY
    [both] = lenient.match("Zhang Xiaoming", date(1988, 2, 2), "HK")
    assert both.score == 100.0 - BIRTH_DATE_MISMATCH_PENALTY - COUNTRY_MISMATCH_PENALTY


def test_entry_without_birth_date_is_not_adjusted() -> None:
    lenient = WatchlistMatcher(ENTRIES, threshold=50)
    [match] = lenient.match("Zhang Wei", date(1990, 1, 1), "US")
    assert match.score == 100.0


def test_different_birth_date_clears_an_exact_name_at_the_default_threshold(
    matcher: WatchlistMatcher,
) -> None:
    assert ids(matcher.match("Zhang Xiaoming", BORN)) == ["ZXM"]
    assert matcher.match("Zhang Xiaoming", date(1988, 2, 2)) == []


def test_equal_birth_date_lifts_a_fuzzy_name_over_the_threshold() -> None:
    query = "Josse Miller"  # two letters off
    [base] = WatchlistMatcher(ENTRIES, threshold=50).match(query)
    assert DEFAULT_THRESHOLD - BIRTH_DATE_MATCH_BONUS <= base.score < DEFAULT_THRESHOLD
    strict = WatchlistMatcher(ENTRIES)
    assert strict.match(query) == []
    [lifted] = strict.match(query, date(1969, 2, 14))
    assert lifted.score == pytest.approx(base.score + BIRTH_DATE_MATCH_BONUS)


def test_a_name_screened_again_with_other_facts_is_scored_afresh() -> None:
    """The matcher caches a name's candidates whatever its birth date and country: the
    answers must not depend on what was asked before (openings of two customers with one
    name and different birth dates, in either order)."""
    query, born = "Josse Miller", date(1969, 2, 14)
    asks = [
        (query, None, None),
        (query, born, None),
        (query, born, "GB"),
        (query, born, "AR"),
        (query, BORN, None),
    ]
    forwards, backwards = WatchlistMatcher(ENTRIES), WatchlistMatcher(ENTRIES)
    answers = [forwards.match(*ask) for ask in asks]
    assert answers == [backwards.match(*ask) for ask in reversed(asks)][::-1]
    assert [ids(a) for a in answers] == [[], ["JM"], [], ["JM"], []]


# --------------------------------------------------------------------------- result shape


def test_one_match_per_entry_sorted_by_score_then_id() -> None:
    twins = WatchlistMatcher(
        [
            entry("B", "Zhang Xiaoming"),
            entry("A", "张晓明", "Zhang Xiaoming"),
            entry("C", "Zhang Xiaoming", born=date(1990, 1, 1)),
        ]
    )
    matches = twins.match("Zhang Xiaoming", date(1975, 3, 14))
    assert [(m.entry_id, m.matched_alias_index) for m in matches] == [("A", 0), ("B", 0)]
    assert all(m.list_name == "test-list" for m in matches)


def test_matched_alias_index_points_at_the_alias(matcher: WatchlistMatcher) -> None:
    [match] = matcher.match("Chan Chi Keung")
    assert match.matched_alias_index == 1


def test_threshold_out_of_range_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="threshold"):
        WatchlistMatcher(ENTRIES, threshold=101)


def test_names_never_reach_the_log(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="monitor.core.screening"):
        built = WatchlistMatcher.from_file(DEFAULT_WATCHLIST, DEFAULT_THRESHOLD)
        built.match("Zhang Xiaoming")
        built.match("José Müller")
    assert caplog.records
    text = caplog.text.casefold()
    for name in ("zhang", "xiaoming", "张晓明", "jose", "müller", "muller"):
        assert name not in text


# --------------------------------------------------------------------------- loader

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


# --------------------------------------------------------------------------- evaluation


class _Canned:
    """A matcher stand-in returning fixed entry ids per query name."""

    threshold = 0.0

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers

    def match(self, name: str, birth_date: date | None = None, country: str | None = None):
        return [Match(i, 100.0, 0, "x") for i in self.answers.get(name, [])]


def test_evaluate_counts_each_outcome() -> None:
    pairs = [
        Pair("tp", None, None, "A", 2),
        Pair("tp-extra", None, None, "A", 3),
        Pair("wrong", None, None, "A", 4),
        Pair("fn", None, None, "A", 5),
        Pair("fp", None, None, None, 6),
        Pair("tn", None, None, None, 7),
    ]
    canned = _Canned({"tp": ["A"], "tp-extra": ["B", "A"], "wrong": ["B"], "fp": ["C"]})
    result = evaluate(canned, pairs)  # type: ignore[arg-type]
    assert (result["tp"], result["fp"], result["fn"], result["tn"]) == (2, 2, 2, 1)
    assert (result["wrong"], result["extra"]) == (1, 1)
    assert result["precision"] == pytest.approx(0.5)
    assert result["recall"] == pytest.approx(0.5)
    assert [line for line, _, _ in result["failures"]] == [4, 5, 6]


def test_labelled_pairs_cover_the_required_cases() -> None:
    with DEFAULT_PAIRS.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["query_name", "query_birth_date", "query_country", "expected_entry_id"]
    chinese_ids = {f"SMP-{n:03d}" for n in range(1, 21)}
    han = re.compile(r"[\u4e00-\u9fff]")
    chinese = [
        r for r in rows if han.search(r["query_name"]) or r["expected_entry_id"] in chinese_ids
    ]
    assert len(rows) >= 220
    assert len(chinese) >= 60
    assert sum(1 for r in rows if not r["expected_entry_id"]) >= 60


def test_precision_and_recall_on_the_labelled_pairs() -> None:
    matcher = WatchlistMatcher.from_file(DEFAULT_WATCHLIST, DEFAULT_THRESHOLD)
    result = evaluate(matcher, load_pairs(DEFAULT_PAIRS))
    summary = {k: result[k] for k in ("tp", "fp", "fn", "tn", "precision", "recall", "f1")}
    assert result["precision"] >= 0.95, summary
    assert result["recall"] >= 0.95, summary


@pytest.mark.parametrize("threshold", [100, 88, 60, 20, 0])
def test_comparing_only_keys_of_a_reachable_length_finds_the_same_candidates(
    threshold, monkeypatch
):
    import random

    from monitor.core.screening import WatchlistEntry, WatchlistMatcher
    from monitor.core.screening.keys import ByLength

    rng = random.Random(threshold)
    parts = [
        "li",
        "wang",
        "ahmad",
        "mohammed",
        "petrov",
        "ivanovich",
        "garcia",
        "al",
        "o",
        "kim",
        "nguyen",
        "sergeyevich",
        "fatima",
        "trading",
        "holdings",
        "x",
        "international",
    ]

    def name() -> str:
        return " ".join(rng.choice(parts).title() for _ in range(rng.choice([1, 2, 2, 3, 4, 6])))

    entries = [
        WatchlistEntry(
            f"E{i}",
            tuple(name() for _ in range(rng.choice([1, 2]))),
            None,
            None,
            "synthetic",
            "test",
        )
        for i in range(150)
    ]
    queries = [name() + rng.choice(["", "", "a", " Co 123", "xx"]) for _ in range(300)]
    windowed = WatchlistMatcher(entries, threshold)
    with_window = [sorted(windowed._scan(q)) for q in queries]  # noqa: SLF001 - uncached
    monkeypatch.setattr(ByLength, "window", lambda self, length, cutoff: (0, len(self.keys)))
    every_key = WatchlistMatcher(entries, threshold)
    assert [sorted(every_key._scan(q)) for q in queries] == with_window  # noqa: SLF001
    assert any(with_window)


def test_the_length_window_leaves_out_keys_too_short_or_too_long_to_reach_the_cutoff():
    from rapidfuzz import fuzz

    from monitor.core.screening.keys import ByLength

    keys = ByLength({"a" * n: [] for n in range(1, 61)})
    first, end = keys.window(20, 83.0)
    inside = keys.lengths[first:end]
    assert 1 < len(inside) < 60
    for n in keys.lengths:  # a key of the same letters scores the most a key of its length can
        if n not in inside:
            assert fuzz.ratio("a" * 20, "a" * n) < 83.0
    assert keys.window(20, 0.0) == (0, 60)


@pytest.mark.parametrize("threshold", [100, 88, 60, 20, 0])
def test_comparing_only_keys_with_enough_letters_in_common_finds_the_same_candidates(
    threshold, monkeypatch
):
    """The letter-count bound in front of the fuzzy comparison leaves out no hit: the same
    candidates and scores as comparing every key of the length window."""
    import random

    from monitor.core.screening import WatchlistEntry, WatchlistMatcher
    from monitor.core.screening import keys as key_index
    from monitor.core.screening.keys import ByLength

    monkeypatch.setattr(key_index, "_BOUND_FROM", 0)  # bound every window, however small
    rng = random.Random(1000 + threshold)
    syllables = [
        "li",
        "ang",
        "wa",
        "ah",
        "mad",
        "mo",
        "ham",
        "ed",
        "pet",
        "rov",
        "iva",
        "no",
        "vich",
        "gar",
        "cia",
        "al",
        "kim",
        "ngu",
        "yen",
        "ser",
        "gei",
        "fa",
        "ti",
        "ma",
    ]

    def word() -> str:
        return "".join(rng.choice(syllables) for _ in range(rng.choice([1, 2, 2, 3])))

    def name() -> str:
        return " ".join(word().title() for _ in range(rng.choice([1, 2, 2, 3, 4])))

    entries = [
        WatchlistEntry(
            f"E{i}",
            tuple(name() for _ in range(rng.choice([1, 2, 3]))),
            None,
            None,
            "synthetic",
            "test",
        )
        for i in range(400)
    ]
    queries = [rng.choice(entries).names[0] for _ in range(150)] + [name() for _ in range(150)]
    queries = [
        q if rng.random() < 0.5 else q[: rng.randrange(1, len(q) + 1)] + word() for q in queries
    ]
    bounded = WatchlistMatcher(entries, threshold)
    with_bound = [sorted(bounded._scan(q)) for q in queries]  # noqa: SLF001 - uncached
    monkeypatch.setattr(
        ByLength, "reachable", lambda self, query, first, end, cutoff: range(first, end)
    )
    every_key = WatchlistMatcher(entries, threshold)
    assert [sorted(every_key._scan(q)) for q in queries] == with_bound  # noqa: SLF001
    assert sum(map(len, with_bound)) > len(queries) // 4  # the test has hits to lose


def test_the_letter_bound_keeps_keys_that_can_reach_the_cutoff_and_drops_the_rest(monkeypatch):
    from rapidfuzz import fuzz

    from monitor.core.screening import keys as key_index
    from monitor.core.screening.keys import ByLength

    monkeypatch.setattr(key_index, "_BOUND_FROM", 0)
    keys = ["abcdefgh", "abcdefgx", "hgfedcba", "zzzzzzzz", "abcd efgh", "a" * 300, "abcdefgh" * 50]
    by_length = ByLength({key: [] for key in keys})
    kept = {by_length.keys[i] for i in by_length.reachable("abcdefgh", 0, len(keys), 80.0)}
    for key in keys:  # every key that scores >= 80 is kept
        if fuzz.ratio("abcdefgh", key) >= 80.0:
            assert key in kept
    assert "zzzzzzzz" not in kept  # no letter in common
    assert "a" * 300 in kept  # counts beyond the table are never bounded
    assert "hgfedcba" in kept  # same letters, other order: the bound cannot tell, rapidfuzz does
    long_query = "abcdefgh" * 45  # 360 letters in common with the longest key: no overflow
    kept = {by_length.keys[i] for i in by_length.reachable(long_query, 0, len(keys), 80.0)}
    assert "abcdefgh" * 50 in kept and fuzz.ratio(long_query, "abcdefgh" * 50) >= 80.0
