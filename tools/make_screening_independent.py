"""Writes the scorecard's independent pairs: spellings from sources other than the matcher's tables.

Run from the repository root after tools/make_screening_scorecard.py, with pypinyin (a
project dependency), OpenCC (`pip install opencc-python-reimplemented`, Apache-2.0) and
PyCantonese (`pip install pycantonese`, MIT) importable:
`python tools/make_screening_independent.py`, then `python tools/make_screening_scorecard.py`
again to merge the pairs. Writes tests/data/scorecard_independent.csv, in the format of
tests/data/scorecard_hand.csv. Neither OpenCC nor PyCantonese is needed at run time: only the
pairs derived from them are committed.

* `independent_wade_giles`: the synthetic Chinese entries spelled in Wade-Giles by pypinyin's
  own `Style.WADEGILES` (aspiration apostrophes left out, ü as u), not by
  monitor/core/screening/romanise.py.
* `independent_traditional`: the entries in traditional characters as OpenCC converts them
  (s2t, s2hk, s2tw), not from the frequency tables' traditional column.
* `independent_jyutping`: the entries' Cantonese readings in Jyutping from PyCantonese's
  corpus-based dictionary, written as a name ("Lam Gwok Hou"). Jyutping is not the Hong
  Kong government spelling the matcher knows (Lam Kwok Ho), so this measures how names
  written in Jyutping fare.
* `independent_published`: romanised names as OFAC published them in the SDN list for the
  Hong Kong-related designations of August 2020 (a work of the US government, public domain),
  against the persons' names in Han characters.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

import opencc  # type: ignore[import-not-found]
import pycantonese  # type: ignore[import-not-found]
import yaml
from pypinyin import Style, lazy_pinyin

ROOT = Path(__file__).resolve().parents[1]
LIST = ROOT / "tests" / "data" / "scorecard_list.yaml"
OUT = ROOT / "tests" / "data" / "scorecard_independent.csv"
SEED = 20261207
PER_CATEGORY = 120

#: (entry id, Han characters, spellings as published on the SDN list)
PUBLISHED = [
    ("IP-001", "林鄭月娥", ["LAM, Cheng Yuet-ngor", "Cheng Yuet-ngor LAM"]),
    ("IP-002", "李家超", ["LEE, Ka-chiu", "Ka-chiu LEE"]),
    ("IP-003", "鄧炳強", ["TANG, Ping-keung", "Ping-keung TANG"]),
    ("IP-004", "盧偉聰", ["LO, Wai-chung", "Wai-chung LO"]),
    ("IP-005", "鄭若驊", ["CHENG, Yeuk-wah", "Yeuk-wah CHENG"]),
    ("IP-006", "曾國衛", ["TSANG, Kwok-wai", "Kwok-wai TSANG"]),
    ("IP-007", "聶德權", ["NIP, Tak-kuen", "Tak-kuen NIP"]),
    ("IP-008", "夏宝龙", ["XIA, Baolong", "Baolong XIA"]),
    ("IP-009", "张晓明", ["ZHANG, Xiaoming", "Xiaoming ZHANG"]),
    ("IP-010", "骆惠宁", ["LUO, Huining", "Huining LUO"]),
    ("IP-011", "郑雁雄", ["ZHENG, Yanxiong", "Yanxiong ZHENG"]),
]


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _wade_giles(han: str) -> list[str]:
    syllables = lazy_pinyin(han, style=Style.WADEGILES)
    return [s.replace("'", "").replace("v", "u") for s in syllables]


def main() -> None:
    rng = random.Random(SEED)
    listed = yaml.safe_load(LIST.read_text(encoding="utf-8"))["entries"]
    chinese = [e for e in listed if str(e["id"]).startswith("SC-")]
    rows: list[list[str]] = []

    def add(query: str, expected: str, category: str) -> None:
        rows.append([query, "", "", expected, category, "", "", ""])

    for entry in rng.sample(chinese, PER_CATEGORY):
        wg = _wade_giles(entry["names"][0])
        add(f"{_cap(wg[0])} {_cap(wg[1])}-{wg[2]}", entry["id"], "independent_wade_giles")
    converters = [opencc.OpenCC(c) for c in ("s2t", "s2hk", "s2tw")]
    for n, entry in enumerate(rng.sample(chinese, PER_CATEGORY)):
        traditional = converters[n % 3].convert(entry["names"][0])
        add(traditional, entry["id"], "independent_traditional")
    for entry in rng.sample(chinese, PER_CATEGORY):
        traditional = converters[0].convert(entry["names"][0])
        words = pycantonese.characters_to_jyutping(traditional)
        if any(reading is None for _, reading in words):
            continue
        joined = " ".join(reading for _, reading in words)
        syl = [s for s in "".join(" " if c.isdigit() else c for c in joined).split()]
        if len(syl) != len(traditional):
            continue
        add(f"{_cap(syl[0])} {_cap(syl[1])} {_cap(syl[2])}", entry["id"], "independent_jyutping")
    for entry_id, han, spellings in PUBLISHED:
        for i, spelling in enumerate(spellings):
            rows.append(
                [spelling, "", "", entry_id, "independent_published"]
                + ([entry_id, han, ""] if i == 0 else ["", "", ""])
            )
    with OUT.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(
            [
                "query_name",
                "query_birth_date",
                "query_country",
                "expected_entry_id",
                "category",
                "entry_id",
                "entry_names",
                "entry_birth_date",
            ]
        )
        writer.writerows(rows)
    print(f"{len(rows)} pairs -> {OUT}")


if __name__ == "__main__":
    main()
