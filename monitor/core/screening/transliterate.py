"""Transliteration: Cyrillic to Latin letters, Han characters to toneless pinyin spellings."""

from __future__ import annotations

import functools
import logging
import re

from pypinyin import Style, lazy_pinyin

from monitor.core.screening.romanise import cantonese, wade_giles

__all__ = [
    "has_han",
    "hanzi_alternates",
    "hanzi_spellings",
    "is_pinyin",
    "romanise_cyrillic",
    "syllables",
]

logger = logging.getLogger(__name__)

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_UMLAUT_AFTER_LN = re.compile(r"(?<=[ln])\u00fc")

# Russian/Ukrainian Cyrillic, a BGN/PCGN-like romanisation (lower case only: applied after casefold)
_CYRILLIC = str.maketrans(
    {
        "а": "a",
        "б": "b",
        "в": "v",
        "г": "g",
        "д": "d",
        "е": "e",
        "ё": "e",
        "ж": "zh",
        "з": "z",
        "и": "i",
        "й": "y",
        "к": "k",
        "л": "l",
        "м": "m",
        "н": "n",
        "о": "o",
        "п": "p",
        "р": "r",
        "с": "s",
        "т": "t",
        "у": "u",
        "ф": "f",
        "х": "kh",
        "ц": "ts",
        "ч": "ch",
        "ш": "sh",
        "щ": "shch",
        "ъ": "",
        "ы": "y",
        "ь": "",
        "э": "e",
        "ю": "yu",
        "я": "ya",
        "і": "i",
        "ї": "yi",
        "є": "ye",
        "ґ": "g",
    }
)
# surnames whose surname reading differs from pypinyin's default reading of the character
_SURNAME_READINGS = {
    "曾": "zeng",
    "单": "shan",
    "單": "shan",
    "解": "xie",
    "朴": "piao",
    "仇": "qiu",
    "查": "zha",
    "区": "ou",
    "區": "ou",
    "乐": "yue",
    "樂": "yue",
    "覃": "qin",
    "盖": "ge",
    "蓋": "ge",
    "缪": "miao",
    "繆": "miao",
    "翟": "zhai",
    "秘": "bi",
    "折": "she",
    "员": "yun",
    "員": "yun",
    "召": "shao",
    "种": "chong",
    "種": "chong",
    "句": "gou",
    "隗": "wei",
    "冼": "xian",
    "单于": "chan yu",
    "單于": "chan yu",  # pypinyin reads 單于 as dan yu
}
_COMPOUND_SURNAMES = frozenset(
    "欧阳 歐陽 司马 司馬 上官 诸葛 諸葛 东方 東方 皇甫 尉迟 尉遲 公孙 公孫 慕容 长孙 長孫 宇文 "
    "司徒 夏侯 轩辕 軒轅 令狐 端木 澹台 澹臺 万俟 萬俟 单于 單于 独孤 獨孤 南宫 南宮 西门 西門 "
    "闻人 聞人 赫连 赫連 呼延 申屠 拓跋 钟离 鍾離 公羊 太史 百里 东郭 東郭 司空".split()
)


def has_han(text: str) -> bool:
    """True if `text` holds a Han character."""
    return _HAN.search(text) is not None


def romanise_cyrillic(text: str) -> str:
    """Lower-case Russian and Ukrainian Cyrillic letters in `text` written in Latin letters."""
    return text.translate(_CYRILLIC)


def hanzi_spellings(text: str) -> tuple[str, ...]:
    """Toneless pinyin of the Han characters (other text kept), one spelling per reading:
    pypinyin's default reading, the surname reading of the first character(s) where it
    differs, and lü/nü also written lyu/nyu and lv/nv (NFKD later gives lu/nu). A name of
    two to four Han characters only is written surname + given name, each joined
    (张晓明 -> "zhang xiaoming", 欧阳明远 -> "ouyang mingyuan")."""
    bare = "".join(text.split())
    structured = 2 <= len(bare) <= 4 and all(_HAN.match(c) for c in bare)
    if structured:
        text = bare
    pieces = lazy_pinyin(text, style=Style.NORMAL, v_to_u=True, errors="default")
    size = 2 if len(text) > 2 and text[:2] in _COMPOUND_SURNAMES else 1
    heads = [pieces[:size]]
    reading = _SURNAME_READINGS.get(text[:size])
    if reading is not None:
        heads.append(reading.split())
    if structured:
        given = "".join(pieces[size:])
        spellings = ["".join(head) + " " + given for head in heads]
    else:
        spellings = [" ".join([*head, *pieces[size:]]) for head in heads]
    variants: list[str] = []
    for spelling in spellings:
        variants.append(spelling)
        if "\u00fc" in spelling:
            variants.append(_UMLAUT_AFTER_LN.sub("yu", spelling))
            variants.append(_UMLAUT_AFTER_LN.sub("v", spelling))
    return tuple(dict.fromkeys(variants))


def hanzi_alternates(text: str) -> tuple[str, ...]:
    """Older romanisations of a name of two to four Han characters, surname then given
    name: Wade-Giles ("chang hsiaoming") and, where every character is in the table, Hong
    Kong Cantonese (林國豪 -> "lam kwokho"). Empty for other text."""
    bare = "".join(text.split())
    if not (2 <= len(bare) <= 4 and all(_HAN.match(c) for c in bare)):
        return ()
    size = 2 if len(bare) > 2 and bare[:2] in _COMPOUND_SURNAMES else 1
    pieces = lazy_pinyin(bare, style=Style.NORMAL, v_to_u=True, errors="default")
    reading = _SURNAME_READINGS.get(bare[:size])
    head = reading.split() if reading is not None else pieces[:size]
    found = [
        "".join(wade_giles(p) for p in head) + " " + "".join(wade_giles(p) for p in pieces[size:])
    ]
    spoken = cantonese(bare)
    if spoken is not None:
        found.append("".join(spoken[:size]) + " " + "".join(spoken[size:]))
    return tuple(dict.fromkeys(found))


@functools.cache
def syllables() -> frozenset[str]:
    """Every toneless pinyin syllable pypinyin knows (vowel-less interjections excluded)."""
    from pypinyin.contrib.tone_convert import to_normal
    from pypinyin.pinyin_dict import pinyin_dict

    found = {"lv", "nv", "lve", "nve", "lyu", "nyu", "lyue", "nyue"}
    toned = {reading for readings in pinyin_dict.values() for reading in readings.split(",")}
    for reading in toned:
        plain = to_normal(reading, v_to_u=True).replace("\u00fc", "u").replace("\u00ea", "e")
        if any(vowel in plain for vowel in "aeiou"):
            found.add(plain)
    return frozenset(found)


@functools.lru_cache(maxsize=8192)
def is_pinyin(token: str) -> bool:
    """True if the token splits wholly into pinyin syllables ("xiaoming" -> xiao+ming)."""
    known = syllables()
    reachable = [True] + [False] * len(token)
    for end in range(1, len(token) + 1):
        reachable[end] = any(
            reachable[start] and token[start:end] in known for start in range(max(0, end - 6), end)
        )
    return reachable[-1]
