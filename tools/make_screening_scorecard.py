"""Writes the screening scorecard: a synthetic list and labelled query pairs by category.

Run from the repository root: `python tools/make_screening_scorecard.py`. Deterministic
(fixed seed). Chinese names are drawn from the surname and given-name frequency tables in
monitor.core.screening.common; hand-written hard cases are in tests/data/scorecard_hand.csv,
and pairs spelled from sources independent of the matcher's tables in
tests/data/scorecard_independent.csv (tools/make_screening_independent.py). Every name is
invented except the independent_published entries.
"""

from __future__ import annotations

import csv
import random
from datetime import date, timedelta
from pathlib import Path

from pypinyin import Style, lazy_pinyin

from monitor.core.screening.common import GIVEN_CHARACTERS, SURNAMES
from monitor.core.screening.romanise import wade_giles

ROOT = Path(__file__).resolve().parents[1]
LIST = ROOT / "tests" / "data" / "scorecard_list.yaml"
PAIRS = ROOT / "tests" / "data" / "scorecard_pairs.csv"
HAND = ROOT / "tests" / "data" / "scorecard_hand.csv"
#: pairs spelled from sources other than the matcher's tables (tools/make_screening_independent.py)
INDEPENDENT = ROOT / "tests" / "data" / "scorecard_independent.csv"
CHINESE_ENTRIES = 320
SEED = 20261207

LATIN = [
    ("José", "Müller", "Jose", "Mueller"),
    ("François", "Lefèvre", "Francois", "Lefevre"),
    ("Łukasz", "Wiśniewski", "Lukasz", "Wisniewski"),
    ("Søren", "Østergaard", "Soren", "Ostergaard"),
    ("Jürgen", "Weiß", "Juergen", "Weiss"),
    ("Ayşe", "Yıldırım", "Ayse", "Yildirim"),
    ("Zoë", "Brontë", "Zoe", "Bronte"),
    ("Renée", "Dubois-Gagné", "Renee", "Dubois Gagne"),
    ("Miloš", "Đorđević", "Milos", "Djordjevic"),
    ("Ángel", "Muñoz", "Angel", "Munoz"),
    ("João", "Gonçalves", "Joao", "Goncalves"),
    ("Håkan", "Ström", "Hakan", "Strom"),
    ("Ćiril", "Kovačević", "Ciril", "Kovacevic"),
    ("Dmitriy", "Sokolov", "Dmitry", "Sokolov"),
    ("Mohammed", "Al-Hashimi", "Muhammad", "Al Hashimi"),
    ("Yusuf", "Qasemi", "Youssef", "Qasemi"),
    ("Aleksandr", "Volkov", "Alexander", "Volkov"),
    ("Sergei", "Morozov", "Sergey", "Morozov"),
    ("Hüseyin", "Çelik", "Huseyin", "Celik"),
    ("Bartłomiej", "Wróbel", "Bartlomiej", "Wrobel"),
    ("Tomáš", "Dvořák", "Tomas", "Dvorak"),
    ("Ingrid", "Bjørnstad", "Ingrid", "Bjornstad"),
    ("Mikael", "Lindqvist", "Mikael", "Lindquist"),
    ("Katarzyna", "Zielińska", "Katarzyna", "Zielinska"),
    ("Réka", "Szőke", "Reka", "Szoke"),
    ("Oğuz", "Aydın", "Oguz", "Aydin"),
    ("Nataliya", "Kuznetsova", "Natalia", "Kuznetsova"),
    ("Andrei", "Popescu", "Andrey", "Popescu"),
    ("Émile", "Carrère", "Emile", "Carrere"),
    ("Gösta", "Ekström", "Gosta", "Ekstrom"),
]
LEGAL = {"co", "ltd", "llc", "l.l.c", "gmbh", "plc", "inc", "limited", "pte", "group"}
OTHER_LATIN = [
    "Peter Schmidt",
    "Maria Garcia",
    "Jose Martinez",
    "Francois Lemaire",
    "Pawel Kowalski",
    "Soren Kierkegaard",
    "Jurgen Weber",
    "Ayse Kaya",
    "Zoe Bradley",
    "Milos Petrovic",
    "Karol Nowak",
    "Omar Farouk",
    "Angel Moreno",
    "Joao Silva",
    "Hakan Svensson",
    "Dmitry Sorokin",
    "Ibrahim Haddad",
    "Alexander Volkonsky",
    "Sergey Morozko",
    "Tomas Dvorsky",
    "Ingrid Bjorn",
    "Reka Szabo",
]
COMPANIES = [
    ("华兴贸易有限公司", "Huaxing Trading Co., Ltd."),
    ("东方远洋航运有限公司", "Dongfang Yuanyang Shipping Co., Ltd."),
    ("金桥国际物流有限公司", "Jinqiao International Logistics Co., Ltd."),
    ("宏达电子科技有限公司", "Hongda Electronic Technology Co., Ltd."),
    ("瑞丰化工集团", "Ruifeng Chemical Group"),
    ("新海投资控股有限公司", "Xinhai Investment Holdings Limited"),
    ("长城矿业股份有限公司", "Changcheng Mining Corporation"),
    ("南洋船务有限公司", "Nanyang Marine Services Pte. Ltd."),
    ("Golden Crane Import Export LLC", "Golden Crane Import & Export L.L.C."),
    ("Baltic Amber Holdings GmbH", "Baltic Amber Holdings"),
    ("Northern Star Petroleum PLC", "Northern Star Petroleum"),
    ("Meridian Dual-Use Components Inc.", "Meridian Dual Use Components Incorporated"),
]


def _pinyin(chars: str) -> list[str]:
    return lazy_pinyin(chars, style=Style.NORMAL)


def _toned(chars: str) -> list[str]:
    return lazy_pinyin(chars, style=Style.TONE)


def _numbered(chars: str) -> list[str]:
    return lazy_pinyin(chars, style=Style.TONE3, neutral_tone_with_five=True)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def main() -> None:
    rng = random.Random(SEED)
    surnames = [s for s in SURNAMES if len(s[0]) == 1]
    given = list(GIVEN_CHARACTERS)
    weights_s = [s[3] for s in surnames]
    weights_g = [g[3] for g in given]
    entries: list[dict[str, object]] = []
    pairs: list[tuple[str, str, str, str, str]] = []
    taken: set[str] = set()
    listed_orders: set[frozenset[str]] = set()

    def birth() -> date:
        return date(1950, 1, 1) + timedelta(days=rng.randrange(0, 365 * 50))

    chinese = []
    while len(chinese) < CHINESE_ENTRIES:
        sur = rng.choices(surnames, weights_s)[0]
        g1, g2 = rng.choices(given, weights_g, k=2)
        if g1[0] == g2[0]:
            continue
        simp = sur[0] + g1[0] + g2[0]
        trad = sur[1] + g1[1] + g2[1]
        syl = _pinyin(simp)
        key = " ".join(syl)
        if key in taken:
            continue
        taken.add(key)
        chinese.append((simp, trad, syl))
        listed_orders.add(
            frozenset({syl[0] + " " + syl[1] + syl[2], syl[1] + syl[2] + " " + syl[0]})
        )

    for n, (simp, trad, syl) in enumerate(chinese):
        eid = f"SC-{n + 1:04d}"
        born = birth()
        names = [simp]
        if n % 2 == 0:
            names.append(f"{_cap(syl[0])} {_cap(syl[1] + syl[2])}")
        entries.append(
            {
                "id": eid,
                "names": names,
                "birth_date": born.isoformat(),
                "country": "CN",
                "list": "scorecard",
                "reason": "synthetic",
            }
        )
        sur, giv = syl[0], syl[1] + syl[2]
        toned = _toned(simp)
        numbered = _numbered(simp)

        def add(query: str, category: str, expected: str | None = eid, dob: str = "") -> None:
            pairs.append((query, dob, "", expected or "", category))

        if trad != simp:
            add(trad, "hanzi_traditional")
        else:
            add(simp, "hanzi_traditional")
        add(f"{_cap(sur)} {_cap(giv)}", "hanzi_pinyin")
        add(f"{sur.upper()} {_cap(syl[1])} {_cap(syl[2])}", "hanzi_pinyin")
        add(f"{sur}{giv}", "hanzi_pinyin")
        add(f"{_cap(toned[0])} {_cap(toned[1] + toned[2])}", "hanzi_pinyin_tones")
        add(f"{_cap(numbered[0])} {_cap(numbered[1] + numbered[2])}", "hanzi_pinyin_tones")
        add(f"{_cap(giv)} {_cap(sur)}", "name_order")
        add(f"{_cap(syl[1])}-{syl[2]} {sur.upper()}", "name_order")
        wg = [wade_giles(s) for s in syl]
        add(f"{_cap(wg[0])} {_cap(wg[1])}-{wg[2]}", "wade_giles")
        # syllables shuffled inside the name: another person
        for shuffled in (
            (syl[1], syl[2] + syl[0]),
            (syl[2], syl[0] + syl[1]),
            (syl[0], syl[2] + syl[1]),
        ):
            orders = frozenset({shuffled[0] + " " + shuffled[1], shuffled[1] + " " + shuffled[0]})
            if any(orders & o for o in listed_orders):
                continue
            add(f"{_cap(shuffled[0])} {_cap(shuffled[1])}", "syllable_shuffle", None)
        other = born + timedelta(days=rng.randrange(30, 3000))
        add(f"{_cap(sur)} {_cap(giv)}", "different_birth_date", None, other.isoformat())
        add(simp, "same_birth_date", eid, born.isoformat())
        # a different person sharing surname and one syllable
        g3 = rng.choices(given, weights_g)[0]
        other_syl = [syl[0], syl[1], _pinyin(g3[0])[0]]
        if other_syl[2] != syl[2] and " ".join(other_syl) not in taken:
            add(f"{_cap(other_syl[0])} {_cap(other_syl[1] + other_syl[2])}", "other_person", None)

    for n, (first, last, first_plain, last_plain) in enumerate(LATIN):
        eid = f"SL-{n + 1:03d}"
        entries.append(
            {
                "id": eid,
                "names": [f"{first} {last}"],
                "country": None,
                "list": "scorecard",
                "reason": "synthetic",
            }
        )
        for query in (
            f"{first_plain} {last_plain}",
            f"{last.upper()}, {first}",
            f"{first} {last}".lower(),
            f"{last_plain} {first_plain}",
            f"{first_plain.upper()} {last_plain.upper()}",
        ):
            pairs.append((query, "", "", eid, "latin_variants"))
    for query in OTHER_LATIN:
        pairs.append((query, "", "", "", "latin_variants"))
    for n, (han, latin) in enumerate(COMPANIES):
        eid = f"SE-{n + 1:03d}"
        entries.append(
            {
                "id": eid,
                "names": [han, latin],
                "country": None,
                "list": "scorecard",
                "reason": "synthetic",
            }
        )
        pairs.append(
            (
                han.replace("股份有限公司", "").replace("有限公司", "").replace("集团", "") or han,
                "",
                "",
                eid,
                "company_legal_form",
            )
        )
        pairs.append(
            (latin.upper().replace(",", "").replace(".", ""), "", "", eid, "company_legal_form")
        )
        words = latin.replace(",", "").replace(".", "").split()
        while words and words[-1].lower() in LEGAL:
            words.pop()
        pairs.append((" ".join(words) + " Company Limited", "", "", eid, "company_legal_form"))
    extra = [HAND, INDEPENDENT] if INDEPENDENT.exists() else [HAND]
    for path in extra:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        for row in rows:
            pairs.append(
                (
                    row["query_name"],
                    row["query_birth_date"],
                    row["query_country"],
                    row["expected_entry_id"],
                    row["category"],
                )
            )
            if row["entry_id"]:
                entries.append(
                    {
                        "id": row["entry_id"],
                        "names": row["entry_names"].split("|"),
                        "birth_date": row["entry_birth_date"],
                        "country": None,
                        "list": "scorecard",
                        "reason": "published name"
                        if row["category"] == "independent_published"
                        else "synthetic hand case",
                    }
                )

    seen: set[str] = set()
    lines = [
        "# Synthetic scorecard list written by tools/make_screening_scorecard.py.",
        "# Every name is invented, except the independent_published entries (IP-): names",
        "# of persons as OFAC published them (tools/make_screening_independent.py).",
        "name: scorecard",
        "entries:",
    ]
    for e in entries:
        if e["id"] in seen:
            continue
        seen.add(str(e["id"]))
        parts = [f"id: {e['id']}", "names: [" + ", ".join(f'"{x}"' for x in e["names"]) + "]"]  # type: ignore[attr-defined]
        if e.get("birth_date"):
            parts.append(f"birth_date: {e['birth_date']}")
        if e.get("country"):
            parts.append(f"country: {e['country']}")
        parts += [f"list: {e['list']}", f"reason: {e['reason']}"]
        lines.append("  - {" + ", ".join(parts) + "}")
    LIST.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with PAIRS.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(
            ["query_name", "query_birth_date", "query_country", "expected_entry_id", "category"]
        )
        writer.writerows(pairs)
    print(f"{len(seen)} entries -> {LIST}; {len(pairs)} pairs -> {PAIRS}")


if __name__ == "__main__":
    main()
