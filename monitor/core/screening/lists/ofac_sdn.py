"""The OFAC SDN list: its XML file (sdn.xml) and its CSV files (sdn.csv with alt.csv)."""

from __future__ import annotations

import csv
import logging
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from monitor.core.errors import ConfigurationError
from monitor.core.screening.lists.parse import entry
from monitor.core.screening.models import WatchlistEntry

__all__ = ["load_sdn_csv", "load_sdn_xml"]

logger = logging.getLogger(__name__)

_NULL = "-0-"
_LIST = "OFAC-SDN"
_DOB = re.compile(r"\bDOB ([^;]+)")
_NATIONALITY = re.compile(r"\b(?:nationality|citizen) ([^;]+)")
_PASSPORT = re.compile(r"\b(?:Passport|National ID No\.|Identification Number) ([A-Za-z0-9-]+)")
_WEAK_AKA = re.compile(r"a\.k\.a\. '([^']+)'")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(node: ET.Element, name: str) -> str:
    for child in node:
        if _local(child.tag) == name:
            return (child.text or "").strip()
    return ""


def _all(node: ET.Element, name: str) -> list[ET.Element]:
    return [n for n in node.iter() if _local(n.tag) == name]


def _person_name(node: ET.Element) -> str:
    return " ".join(p for p in (_child(node, "firstName"), _child(node, "lastName")) if p)


def load_sdn_xml(path: Path) -> list[WatchlistEntry]:
    """Every `sdnEntry` of an SDN XML file: first and last name, a.k.a.s (category weak
    kept as weak aliases), dates of birth, nationalities and citizenships, id numbers."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise ConfigurationError(f"OFAC SDN XML {path}: {exc}") from None
    found = []
    for node in _all(root, "sdnEntry"):
        strong = [_person_name(node)]
        weak: list[str] = []
        for aka in _all(node, "aka"):
            (weak if _child(aka, "category").lower() == "weak" else strong).append(
                _person_name(aka)
            )
        kind = "person" if _child(node, "sdnType") == "Individual" else "entity"
        programs = ", ".join(p.text or "" for p in _all(node, "program"))
        item = entry(
            f"SDN-{_child(node, 'uid')}",
            strong,
            weak,
            _LIST,
            programs or "OFAC SDN",
            births=[_child(d, "dateOfBirth") for d in _all(node, "dateOfBirthItem")],
            countries=[_child(n, "country") for n in _all(node, "nationality")]
            + [_child(n, "country") for n in _all(node, "citizenship")],
            id_numbers=[_child(i, "idNumber") for i in _all(node, "id")],
            kind=kind,
        )
        if item is not None:
            found.append(item)
    logger.info("OFAC SDN XML loaded: %d entries", len(found))
    return found


def _csv_name(name: str, kind: str) -> str:
    """`LAST, First` as `First LAST` for individuals; other names as written."""
    if kind == "person" and "," in name:
        last, _, first = name.partition(",")
        return f"{first.strip()} {last.strip()}"
    return name.strip()


def load_sdn_csv(path: Path, alt_path: Path | None = None) -> list[WatchlistEntry]:
    """sdn.csv (no header: ent_num, SDN_Name, SDN_Type, Program, Title, Call_Sign, Vess_type,
    Tonnage, GRT, Vess_flag, Vess_owner, Remarks; `-0-` for none) and alt.csv (ent_num,
    alt_num, alt_type, alt_name, alt_remarks) beside it unless named. Dates of birth,
    nationalities and passport or ID numbers come from the remarks, where weak a.k.a.s are
    quoted."""
    alt_path = alt_path or Path(path).with_name("alt.csv")
    aliases: dict[str, list[str]] = {}
    try:
        if alt_path.is_file():
            with alt_path.open(encoding="utf-8", newline="") as handle:
                for row in csv.reader(handle):
                    if len(row) >= 4 and row[3].strip() != _NULL:
                        aliases.setdefault(row[0].strip(), []).append(row[3])
        with Path(path).open(encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
    except OSError as exc:
        raise ConfigurationError(f"OFAC SDN CSV {path}: {exc.strerror}") from None
    found = []
    for line, row in enumerate(rows, start=1):
        if not row or not row[0].strip():
            continue
        if len(row) < 12:
            raise ConfigurationError(f"OFAC SDN CSV {path}:{line}: fewer than 12 columns")
        ent, name, sdn_type, program = (c.strip() for c in row[:4])
        remarks = "" if row[11].strip() == _NULL else row[11]
        kind = "person" if sdn_type.lower() == "individual" else "entity"
        item = entry(
            f"SDN-{ent}",
            [_csv_name(name, kind)] + [_csv_name(a, kind) for a in aliases.get(ent, [])],
            _WEAK_AKA.findall(remarks),
            _LIST,
            program or "OFAC SDN",
            births=[m.strip() for m in _DOB.findall(remarks)],
            countries=[m.strip() for m in _NATIONALITY.findall(remarks)],
            id_numbers=_PASSPORT.findall(remarks),
            kind=kind,
        )
        if item is not None:
            found.append(item)
    logger.info("OFAC SDN CSV loaded: %d entries", len(found))
    return found
