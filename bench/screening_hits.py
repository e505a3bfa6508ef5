"""False-hit rate and time per new name of watch-list screening on realistic customer names.

`python -m bench.screening_hits [--customers N] [--entries N] [--no-files]` builds a synthetic
list (Chinese names from the surname and given-name frequency tables with Han and pinyin
aliases, and a share of Latin names), writes it in the real list formats (FtM JSON and OFAC
SDN XML) and loads it back, then screens customer names drawn from the same frequency
tables (plus a share of Latin names) that are not on the list: every hit is a false hit.
Prints hits per 1,000 customers and the time per new name. `--no-files` builds the entries
directly (for a tree without the list loaders, to compare before and after)."""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from pypinyin import Style, lazy_pinyin

from monitor.core.screening import WatchlistEntry, WatchlistMatcher

SURNAMES = [
    ("王", "wang", 71),
    ("李", "li", 70),
    ("张", "zhang", 68),
    ("刘", "liu", 54),
    ("陈", "chen", 45),
    ("杨", "yang", 31),
    ("黄", "huang", 22),
    ("赵", "zhao", 22),
    ("吴", "wu", 20),
    ("周", "zhou", 17),
    ("徐", "xu", 13),
    ("孙", "sun", 12),
    ("马", "ma", 11),
    ("朱", "zhu", 11),
    ("胡", "hu", 10),
    ("郭", "guo", 10),
    ("何", "he", 9),
    ("高", "gao", 9),
    ("林", "lin", 9),
    ("罗", "luo", 8),
    ("郑", "zheng", 8),
    ("梁", "liang", 7),
    ("谢", "xie", 6),
    ("宋", "song", 5),
    ("唐", "tang", 5),
    ("韩", "han", 5),
    ("冯", "feng", 4),
    ("邓", "deng", 4),
    ("曹", "cao", 4),
    ("彭", "peng", 4),
    ("曾", "zeng", 4),
    ("田", "tian", 4),
]
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚桂英华建国文辉玲海红志晓小俊鹏飞波斌宇浩"
    "豪博晨嘉佳怡婷琳颖雪梅兰凤玉萍燕丹宁欣泽轩子涵睿铭远庆栋德永荣成峰东天新思雨春林振兴亮宏贵福"
)
LATIN_FIRST = (
    "James Maria David Anna Peter Elena Ivan Olga Ahmed Fatima Juan Sofia Lukas Emma Omar Nadia"
).split()
_PARTS = (
    "Ber Kal Mon Tor Val Den Ros Fel Har Lin Mar Sol".split(),
    "an el or is us ov".split(),
    "ger ton ari ello sen ova ski dez mann ard".split(),
)


def _pinyin(han: str) -> list[str]:
    return lazy_pinyin(han, style=Style.NORMAL)


def _chinese(rng: random.Random) -> str:
    surname = rng.choices(SURNAMES, [s[2] for s in SURNAMES])[0][0]
    size = 1 if rng.random() < 0.3 else 2
    return surname + "".join(rng.choice(GIVEN) for _ in range(size))


def _latin(rng: random.Random) -> str:
    """A Latin name: a common first name and a surname made of three generated parts."""
    surname = "".join(rng.choice(part) for part in _PARTS)
    return f"{rng.choice(LATIN_FIRST)} {surname}"


def _spelled(han: str, rng: random.Random) -> str:
    """A customer's name as a bank writes it: Han, or pinyin in either order."""
    syl = _pinyin(han)
    roll = rng.random()
    if roll < 0.4:
        return han
    surname, given = syl[0].title(), "".join(syl[1:]).title()
    return f"{surname} {given}" if roll < 0.8 else f"{given} {surname}"


def build_list(size: int, rng: random.Random) -> list[dict[str, Any]]:
    entries = []
    seen: set[str] = set()
    while len(entries) < size:
        if rng.random() < 0.7:
            han = _chinese(rng)
            if han in seen:
                continue
            seen.add(han)
            syl = _pinyin(han)
            names = [han, f"{syl[0].title()} {''.join(syl[1:]).title()}"]
        else:
            names = [_latin(rng)]
            if names[0] in seen:
                continue
            seen.add(names[0])
        born = date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 50))
        entries.append({"id": f"BL-{len(entries):05d}", "names": names, "born": born})
    return entries


def write_formats(entries: list[dict[str, Any]], folder: Path) -> list[WatchlistEntry]:
    """Half the entries as FtM JSON, half as OFAC SDN XML, loaded back with the loaders."""
    from monitor.core.screening.lists import load_list

    half = len(entries) // 2
    with (folder / "list.ftm.json").open("w", encoding="utf-8") as handle:
        for e in entries[:half]:
            props = {
                "name": e["names"][:1],
                "alias": e["names"][1:],
                "birthDate": [e["born"].isoformat()],
                "nationality": ["cn"],
            }
            handle.write(
                json.dumps(
                    {"id": e["id"], "schema": "Person", "properties": props, "datasets": ["bench"]},
                    ensure_ascii=False,
                )
                + "\n"
            )
    rows = []
    for e in entries[half:]:
        akas = "".join(
            f"<aka><uid>{i}</uid><type>a.k.a.</type><category>strong</category>"
            f"<lastName>{n}</lastName></aka>"
            for i, n in enumerate(e["names"][1:])
        )
        rows.append(
            f"<sdnEntry><uid>{e['id'][3:]}</uid><lastName>{e['names'][0]}</lastName>"
            f"<sdnType>Individual</sdnType><akaList>{akas}</akaList><dateOfBirthList>"
            f"<dateOfBirthItem><uid>1</uid><dateOfBirth>{e['born']:%d %b %Y}</dateOfBirth>"
            f"</dateOfBirthItem></dateOfBirthList></sdnEntry>"
        )
    (folder / "sdn.xml").write_text(
        '<sdnList xmlns="http://tempuri.org/sdnList.xsd">' + "".join(rows) + "</sdnList>",
        encoding="utf-8",
    )
    return load_list(folder / "list.ftm.json") + load_list(folder / "sdn.xml")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--latin-share", type=float, default=0.1)
    parser.add_argument("--no-files", action="store_true")
    args = parser.parse_args()
    rng = random.Random(11)
    raw = build_list(args.entries, rng)
    if args.no_files:
        entries = [
            WatchlistEntry(e["id"], tuple(e["names"]), e["born"], "CN", "bench", "b") for e in raw
        ]
    else:
        with tempfile.TemporaryDirectory() as folder:
            entries = write_formats(raw, Path(folder))
    listed = {n for e in raw for n in e["names"]}
    listed_pinyin = {" ".join(_pinyin(n)) for e in raw for n in e["names"]}
    customers = []
    latin_names: set[str] = set()
    while len(customers) < args.customers:
        if rng.random() < args.latin_share:
            name = _latin(rng)
            if name in listed:
                continue
            latin_names.add(name)
        else:
            han = _chinese(rng)
            if han in listed or " ".join(_pinyin(han)) in listed_pinyin:
                continue  # the listed person's own name: not a false hit to count
            name = _spelled(han, rng)
        customers.append(name)
    started = time.perf_counter()
    matcher = WatchlistMatcher(entries)
    built = time.perf_counter() - started
    hits = hit_customers = reviews = latin_hits = latin_high = 0
    methods: dict[str, int] = {}
    started = time.perf_counter()
    for name in customers:
        found = matcher.match(name)
        hits += len(found)
        hit_customers += bool(found)
        reviews += sum(getattr(m, "common_name", False) for m in found)
        if name.isascii() and name in latin_names:
            latin_hits += len(found)
            latin_high += sum(not getattr(m, "common_name", False) for m in found)
        for m in found:
            method = getattr(m, "method", "-").partition(":")[0]
            methods[method] = methods.get(method, 0) + 1
    elapsed = time.perf_counter() - started
    unique = len(set(customers))
    print(
        f"list: {len(entries):,} entries ({'built' if args.no_files else 'loaded from files'}), "
        f"matcher built in {built:.1f} s"
    )
    print(f"customers: {len(customers):,} ({unique:,} distinct names), none on the list")
    print(
        f"false hits: {hits:,} ({hits * 1000 / len(customers):.1f} per 1,000 customers; "
        f"{hit_customers * 1000 / len(customers):.1f} customers per 1,000 hit)"
    )
    per_1000 = 1000 / len(customers)
    print(
        f"  of which on Latin names {latin_hits * per_1000:.1f}, on Chinese names "
        f"{(hits - latin_hits) * per_1000:.1f}; low-severity reviews (a very common name "
        f"matched on the name alone) {reviews * per_1000:.1f}, high-severity "
        f"{(hits - reviews) * per_1000:.1f} per 1,000 customers"
    )
    print(
        f"  high-severity on Latin names {latin_high * per_1000:.1f}, on Chinese names "
        f"{(hits - reviews - latin_high) * per_1000:.1f}; by method: "
        + ", ".join(f"{k} {v * per_1000:.1f}" for k, v in sorted(methods.items()))
    )
    print(f"time per new name: {elapsed / unique * 1e6:.0f} us ({elapsed:.1f} s in all)")


if __name__ == "__main__":
    main()
