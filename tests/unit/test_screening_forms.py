"""Spellings a name is compared under: normalisation, transliteration and shortenings."""

from __future__ import annotations

import pytest

from monitor.core.screening import normalise_name


@pytest.mark.parametrize(
    ("name", "spellings"),
    [
        # normalisation: case, accents
        ("José Müller", ("jose muller",)),
        # transliteration: Han characters, surname readings, ü
        ("张晓明", ("zhang xiaoming",)),
        ("曾庆远", ("ceng qingyuan", "zeng qingyuan")),
        ("吕志刚", ("lu zhigang", "lyu zhigang", "lv zhigang")),
        # shortenings: the patronymic left out, never a pinyin syllable
        ("Ivan Sergeyevich Petrov", ("ivan sergeyevich petrov", "ivan petrov")),
        ("Zhang Xiao Ming", ("zhang xiao ming",)),
    ],
)
def test_normalise_name_spellings(name: str, spellings: tuple[str, ...]) -> None:
    # pinyin spellings first; Wade-Giles and Cantonese ones of Han names follow
    assert normalise_name(name)[: len(spellings)] == spellings
