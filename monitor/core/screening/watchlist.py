"""Watch-list screening: normalised, transliterated, fuzzy names against listed persons."""

from __future__ import annotations

import bisect
import functools
import itertools
import logging
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated

import numpy as np
import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from pypinyin import Style, lazy_pinyin
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from monitor.core.errors import ConfigurationError

__all__ = [
    "BIRTH_DATE_MATCH_BONUS",
    "BIRTH_DATE_MISMATCH_PENALTY",
    "COUNTRY_MISMATCH_PENALTY",
    "DEFAULT_THRESHOLD",
    "MIN_FUZZY_LETTERS",
    "Match",
    "WatchlistEntry",
    "WatchlistMatcher",
    "load_watchlist",
    "normalise_name",
]

logger = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 88.0
BIRTH_DATE_MATCH_BONUS = 5.0
BIRTH_DATE_MISMATCH_PENALTY = 15.0
COUNTRY_MISMATCH_PENALTY = 5.0
#: a name with fewer letters than this (after normalisation) only ever matches exactly
MIN_FUZZY_LETTERS = 4

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_APOSTROPHES = re.compile(r"['\u2018\u2019\u02bc\u02bb`\u00b4]")
_SEPARATORS = re.compile(r"[^a-z0-9]+")
_PATRONYMIC = re.compile(r"(?:ich|vna|ichna)$")
_UMLAUT_AFTER_LN = re.compile(r"(?<=[ln])\u00fc")

# letters NFKD does not decompose into a base letter plus marks
_LATIN_EXTRA = str.maketrans(
    {
        "ø": "o",
        "ł": "l",
        "đ": "d",
        "ð": "d",
        "ı": "i",
        "ħ": "h",
        "ŧ": "t",
        "ŋ": "ng",
        "æ": "ae",
        "œ": "oe",
        "þ": "th",
        "ß": "ss",
    }
)
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
# common spelling variants of one given name, folded to one token (applied to both sides)
_TOKEN_VARIANTS = {
    canonical: variants.split()
    for canonical, variants in {
        "muhammad": "mohammed mohammad mohamed mohamad muhammed muhamed muhamad mohamud "
        "mohammod mouhamed mohd mhd",
        "ahmad": "ahmed",
        "abdullah": "abdallah abdulla abdellah",
        "abdul": "abdel abdal",
        "yusuf": "youssef yousef yousuf yusef youssouf yussuf",
        "husayn": "hussein husain hussain husein hussien houssein",
        "hasan": "hassan",
        "umar": "omar",
        "usama": "osama",
        "mustafa": "mostafa moustafa mustapha",
        "mahmud": "mahmoud mahmood",
        "khalid": "khaled",
        "tariq": "tarek tarik tareq",
        "said": "saeed saeid saied",
        "yasir": "yasser yaser",
        "aleksandr": "alexander alexandr aleksander",
        "aleksey": "alexei aleksei alexey alexej aleksej",
        "sergey": "sergei sergej serguei",
        "andrey": "andrei andrej",
        "yury": "yuri iouri jurij",
        "dmitry": "dmitri",
        "yevgeny": "evgeny evgeni yevgeni",
        "natalya": "natalia nataliya natalja",
        "yelena": "elena jelena",
    }.items()
}
_CANONICAL = {v: c for c, vs in _TOKEN_VARIANTS.items() for v in vs}


@dataclass(frozen=True, slots=True)
class WatchlistEntry:
    """A listed person: primary name first, then aliases."""

    entry_id: str
    names: tuple[str, ...]
    birth_date: date | None
    country: str | None  # ISO 3166-1 alpha-2
    list_name: str
    reason: str


@dataclass(frozen=True, slots=True)
class Match:
    """One entry that a screened name matches, with its best alias (index into `names`)."""

    entry_id: str
    score: float
    matched_alias_index: int
    list_name: str


# --------------------------------------------------------------------------- normalisation


@dataclass(frozen=True, slots=True)
class _Form:
    """One normalised spelling of a name: tokens and the strings the scorers compare."""

    tokens: tuple[str, ...]
    reduced: bool  # a shortening: middle names or a patronymic left out
    compact: str  # tokens joined without spaces
    sorted: str  # tokens sorted, space-separated (fuzz.ratio on it == token_sort_ratio)
    rotations: tuple[str, ...]  # compact forms with the first/last token moved to the other end
    pinyin: bool  # every token is a run of valid toneless pinyin syllables

    @classmethod
    def of(cls, tokens: tuple[str, ...], reduced: bool = False) -> _Form:
        turned = [tokens, tokens[1:] + tokens[:1], tokens[-1:] + tokens[:-1]]
        rotations = tuple(dict.fromkeys("".join(t) for t in turned))
        return cls(
            tokens,
            reduced,
            rotations[0],
            " ".join(sorted(tokens)),
            rotations,
            all(_is_pinyin(t) for t in tokens),
        )


def normalise_name(name: str) -> tuple[str, ...]:
    """The spellings a name is compared under, each as space-separated tokens (first: the
    plain one). Deterministic and cheap; exposed for tests and diagnostics."""
    return tuple(" ".join(form.tokens) for form in _forms(name))


def _forms(name: str) -> tuple[_Form, ...]:
    if name.isascii():  # NFKC, NFKD and the letter tables leave ASCII as it is
        spellings: tuple[str, ...] = (name.lower().strip(),)
        tokenise = _ascii_tokens
    else:
        text = unicodedata.normalize("NFKC", name).casefold().translate(_CYRILLIC).strip()
        spellings = _hanzi_spellings(text) if _HAN.search(text) else (text,)
        tokenise = _tokens
    forms: dict[tuple[str, ...], _Form] = {}
    for spelling in spellings:
        tokens = tokenise(spelling)
        if not tokens:
            continue
        forms.setdefault(tokens, _Form.of(tokens))
        for shorter in _shortenings(tokens):
            forms.setdefault(shorter, _Form.of(shorter, reduced=True))
    return tuple(forms.values())


def _hanzi_spellings(text: str) -> tuple[str, ...]:
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


def _tokens(text: str) -> tuple[str, ...]:
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    stripped = _APOSTROPHES.sub("", stripped.translate(_LATIN_EXTRA))
    return tuple(_canonical(t) for t in _SEPARATORS.split(stripped) if t)


def _ascii_tokens(text: str) -> tuple[str, ...]:
    """`_tokens` of lower-case ASCII text."""
    return tuple(_canonical(t) for t in _SEPARATORS.split(_APOSTROPHES.sub("", text)) if t)


def _canonical(token: str) -> str:
    if len(token) >= 5 and token.endswith(("iy", "ii", "ij")):  # Dmitriy, Dmitrii -> Dmitry
        token = token[:-2] + "y"
    return _CANONICAL.get(token, token)


def _shortenings(tokens: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Spellings of a name of three or more tokens with parts commonly left out in documents:
    middle names (first and last token kept, up to five tokens) and a patronymic (the first
    patronymic-looking token after the first one). Not for pinyin names: there a missing
    syllable is a different name (张晓明 is not 张明)."""
    if len(tokens) < 3 or all(_is_pinyin(t) for t in tokens):
        return []
    found: list[tuple[str, ...]] = []
    if len(tokens) <= 5:
        middle = range(1, len(tokens) - 1)
        for keep in itertools.product((True, False), repeat=len(middle)):
            if not all(keep):
                kept = tuple(tokens[i] for i, k in zip(middle, keep, strict=True) if k)
                found.append((tokens[0], *kept, tokens[-1]))
    for index in range(1, len(tokens)):
        if len(tokens[index]) >= 6 and _PATRONYMIC.search(tokens[index]):
            found.append(tokens[:index] + tokens[index + 1 :])
            break
    return found


@functools.cache
def _syllables() -> frozenset[str]:
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
def _is_pinyin(token: str) -> bool:
    """True if the token splits wholly into pinyin syllables ("xiaoming" -> xiao+ming)."""
    syllables = _syllables()
    reachable = [True] + [False] * len(token)
    for end in range(1, len(token) + 1):
        reachable[end] = any(
            reachable[start] and token[start:end] in syllables
            for start in range(max(0, end - 6), end)
        )
    return reachable[-1]


# --------------------------------------------------------------------------- matching


@dataclass(frozen=True, slots=True)
class _Owner:
    entry: int
    alias: int
    tokens: tuple[str, ...]
    reduced: bool
    chinese: bool  # pinyin spelling of an entry that has a Han-character name


class WatchlistMatcher:
    """Matches a name (with optional birth date and country) against a watch list.

    Normalisation (both sides, see `normalise_name`): NFKC, case folding, Cyrillic
    romanisation, Han characters to toneless pinyin with pypinyin (default readings plus the
    surname reading of the first character where it differs, e.g. 曾 zeng; 吕 as lu/lyu/lv),
    NFKD with combining marks removed (José Müller -> jose muller), apostrophes removed,
    any other non-alphanumeric character a token separator, a few spelling variants of common
    Arabic and Russian given names folded together (Mohammed/Muhammad, Sergei/Sergey,
    -iy/-ii endings). A non-pinyin name of three or more tokens also gets shortened
    spellings without middle names or patronymic (Ivan Sergeyevich Petrov -> Ivan Petrov);
    two shortened spellings are never compared with each other.

    Base score, 0..100, the best over the spellings of the query and of each alias:

    * 100 if the joined tokens (spaces removed) equal one of the alias's *rotations*: its
      tokens as listed, with the first token moved last, or the last token moved first.
      This covers joined/split given names and surname-first vs given-name-first order
      ("Zhang Xiaoming" == "Zhang Xiao Ming" == "Xiaoming Zhang" == 张晓明).
    * otherwise the maximum of `fuzz.ratio` on the joined forms (against each rotation) and
      `fuzz.ratio` on the sorted tokens (i.e. `token_sort_ratio`). `token_set_ratio` is not
      used: it scores 100 whenever one name's tokens are a subset of the other's, so a
      lone common surname or given name would match every alias containing it.
    * pinyin guard: when the query is wholly pinyin and the alias is the pinyin of a Chinese
      entry, only the exact comparison counts. In pinyin one letter changes the syllable and
      so the character (Zhang Xiaoming 张晓明 vs Zhang Xiaomin 张晓敏 are two people), and
      free word permutations are not allowed (张伟明 vs 张明伟).
    * token guard: a fuzzy (< 100) score only counts when, if both names have the same
      number of tokens of three or more letters, each such token is within one edit (two
      from ten letters) of a token on the other side (Volkov is not Volkonov).
    * short-name guard: a query or alias with fewer than `MIN_FUZZY_LETTERS` letters only
      ever scores 100 on an exact comparison, never on partial similarity.

    Adjustments, applied once per entry when both sides carry the value:
    birth date equal +5 (capped at 100), different -15; country different -5. So an exact
    name with a different birth date scores 85 and is *not* a match at the default threshold
    of 88, while a fuzzy name (>= 83) with an equal birth date is.

    `match` returns the best alias per entry with final score >= threshold, by score
    descending then entry id. Aliases are normalised once at construction; normalised
    queries, each name's candidate entries with their base scores, and whole results per
    (name, birth date, country) sit in per-matcher LRU caches; the fuzzy comparisons run in
    rapidfuzz (`process.extract` with a score cutoff) over de-duplicated keys, not in a
    Python loop, and only over the keys that share enough letters with the query to reach
    the cutoff at all (`_ByLength.reachable`, a vectorised bound that leaves out no hit):
    so a list of tens of thousands of aliases costs a new name about a millisecond, not the
    tens of milliseconds of a comparison with every key.
    """

    def __init__(
        self,
        entries: Iterable[WatchlistEntry],
        threshold: float = DEFAULT_THRESHOLD,
        cache_size: int = 4096,
    ) -> None:
        if not 0 <= threshold <= 100:
            raise ConfigurationError(f"watch list threshold: {threshold} is not within 0..100")
        self.entries: tuple[WatchlistEntry, ...] = tuple(entries)
        self.threshold = float(threshold)
        self._forms = functools.lru_cache(maxsize=cache_size)(_forms)
        #: whole results per (name, birth date, country): counterparties recur, and a list
        #: is screened far more often than it changes (a new list is a new matcher)
        self._results = functools.lru_cache(maxsize=cache_size * 16)(self._match)
        #: name -> candidate entries with base scores, whatever the birth date and country:
        #: a recurring name with another birth date (a new customer) needs no second scan
        self._candidates = functools.lru_cache(maxsize=cache_size * 16)(self._scan)
        self._exact: dict[str, list[_Owner]] = {}
        joined: dict[str, list[_Owner]] = {}
        by_sorted: dict[str, list[_Owner]] = {}
        aliases = 0
        for i, entry in enumerate(self.entries):
            chinese = any(_HAN.search(name) for name in entry.names)
            for j, name in enumerate(entry.names):
                aliases += 1
                for form in _forms(name):
                    owner = _Owner(i, j, form.tokens, form.reduced, chinese and form.pinyin)
                    for key in form.rotations:
                        self._exact.setdefault(key, []).append(owner)
                    if len(form.compact) >= MIN_FUZZY_LETTERS:
                        for key in form.rotations:
                            joined.setdefault(key, []).append(owner)
                        by_sorted.setdefault(form.sorted, []).append(owner)
        # fuzzy keys ordered by length: a query is compared only with the keys whose length
        # lets them reach the cutoff at all (see `_length_window`)
        self._fuzzy = [_ByLength(joined), _ByLength(by_sorted)]
        logger.info(
            "watch-list matcher: %d entries, %d aliases, %d exact keys, %d fuzzy keys",
            len(self.entries),
            aliases,
            len(self._exact),
            sum(len(keys.keys) for keys in self._fuzzy),
        )

    @classmethod
    def from_file(cls, path: Path, threshold: float = DEFAULT_THRESHOLD) -> WatchlistMatcher:
        return cls(load_watchlist(path), threshold)

    def match(
        self, name: str, birth_date: date | None = None, country: str | None = None
    ) -> list[Match]:
        """The entries `name` matches, best alias each, by score desc then entry id."""
        return list(self._results(name, birth_date, country))

    def _match(self, name: str, birth_date: date | None, country: str | None) -> tuple[Match, ...]:
        matches = []
        for index, score, alias in self._candidates(name):
            entry = self.entries[index]
            final = _adjust(score, entry, birth_date, country)
            if final >= self.threshold:
                matches.append(Match(entry.entry_id, final, alias, entry.list_name))
        matches.sort(key=lambda m: (-m.score, m.entry_id))
        return tuple(matches)

    def _scan(self, name: str) -> tuple[tuple[int, float, int], ...]:
        """(entry index, base score, alias index) of every entry whose best alias scores at
        least the lowest cutoff any query can use (the threshold less the birth-date bonus).
        An entry's best alias is the same whatever the cutoff, and `_adjust` never lifts a
        score above the threshold without the bonus, so `_match` gives what a scan with the
        query's own cutoff would."""
        best: dict[int, tuple[float, int]] = {}
        cutoff = max(self.threshold - BIRTH_DATE_MATCH_BONUS, 0.0)
        for form in self._forms(name):
            for owner in self._exact.get(form.compact, ()):
                _offer(best, owner, form, 100.0)
            if len(form.compact) < MIN_FUZZY_LETTERS:
                continue
            for query, by_length in ((form.compact, self._fuzzy[0]), (form.sorted, self._fuzzy[1])):
                first, end = by_length.window(len(query), cutoff)
                reachable = by_length.reachable(query, first, end, cutoff)
                if not reachable:
                    continue
                keys = by_length.keys
                compared = (
                    keys[first:end]
                    if isinstance(reachable, range)
                    else [keys[i] for i in reachable]
                )
                hits = process.extract(
                    query,
                    compared,
                    scorer=fuzz.ratio,
                    processor=None,
                    score_cutoff=cutoff,
                    limit=None,
                )
                for _, score, index in hits:
                    for owner in by_length.owners[reachable[index]]:
                        if owner.chinese and form.pinyin:
                            continue
                        if score < 100 and not _parts_agree(form.tokens, owner.tokens):
                            continue
                        _offer(best, owner, form, score)
        return tuple((index, score, alias) for index, (score, alias) in best.items())


#: letter slots of a key's letter counts: a-z, 0-9, space, and one slot for anything else
_SLOTS = 38
_SLOT_OF_BYTE = np.full(256, _SLOTS - 1, dtype=np.intp)
for _i, _c in enumerate("abcdefghijklmnopqrstuvwxyz0123456789 "):
    _SLOT_OF_BYTE[ord(_c)] = _i
#: a count above this does not fit the table (the key is then always compared)
_MAX_COUNT = 255
#: below this many keys in a window, comparing them all is cheaper than the bound
_BOUND_FROM = 512


def _slots(text: str) -> np.ndarray:
    """The letter slot of each character of `text` (characters outside a-z, 0-9 and space
    share the last slot)."""
    return _SLOT_OF_BYTE[np.frombuffer(text.encode("ascii", "replace"), dtype=np.uint8)]


class _ByLength:
    """Fuzzy keys (with their owners) in order of length, the slice of them a query of a
    given length can reach a cutoff with, and within it the keys with enough letters in
    common with the query."""

    __slots__ = ("counts", "keys", "lengths", "lengths_np", "owners", "unbounded")

    def __init__(self, owners_by_key: dict[str, list[_Owner]]) -> None:
        ordered = sorted(owners_by_key.items(), key=lambda item: len(item[0]))
        self.keys = [key for key, _ in ordered]
        self.owners = [owners for _, owners in ordered]
        self.lengths = [len(key) for key in self.keys]
        self.lengths_np = np.array(self.lengths, dtype=np.int64)
        # counts[slot, key]: one row per letter slot, so a query reads only its own letters'
        rows = np.repeat(np.arange(len(self.keys)), self.lengths_np)
        slots = _slots("".join(self.keys)) if self.keys else np.empty(0, dtype=np.intp)
        counts = np.bincount(
            slots * len(self.keys) + rows, minlength=_SLOTS * len(self.keys)
        ).reshape(_SLOTS, len(self.keys))
        self.unbounded = (counts > _MAX_COUNT).any(axis=0)
        self.counts = np.minimum(counts, _MAX_COUNT).astype(np.uint8)

    def window(self, length: int, cutoff: float) -> tuple[int, int]:
        """[first, end) of the keys whose `fuzz.ratio` with a query of `length` characters
        can reach `cutoff`. The ratio is 100 * (1 - indel distance / (q + k)) for lengths q
        and k, and the indel distance is at least |q - k|, so it is at most
        200 * min(q, k) / (q + k): a key outside [q * c / (200 - c), q * (200 - c) / c]
        scores below c. Taken half a point below the cutoff and one character wider, so
        rounding never leaves out a key that could match: same hits as all the keys."""
        c = cutoff - 0.5
        if c <= 0:
            return 0, len(self.keys)
        shortest = int(length * c / (200 - c)) - 1
        longest = int(length * (200 - c) / c) + 1
        return bisect.bisect_left(self.lengths, shortest), bisect.bisect_right(
            self.lengths, longest
        )

    def reachable(self, query: str, first: int, end: int, cutoff: float) -> Sequence[int]:
        """The indexes in [first, end) of the keys whose `fuzz.ratio` with `query` can reach
        `cutoff`, in order. The ratio is 200 * LCS / (q + k) for lengths q and k, and the
        longest common subsequence has at most, of each character, the smaller of its two
        counts (summed over characters; sharing a slot only adds to that sum). A key whose
        sum leaves the ratio below the cutoff (less half a point, so rounding never leaves
        out a key that could match) cannot be a hit; the others are compared as before, so
        the hits are the same as a comparison with every key of the slice."""
        if end - first < _BOUND_FROM:
            return range(first, end)
        query_counts = np.bincount(_slots(query), minlength=_SLOTS)
        if query_counts.max() > _MAX_COUNT:
            return range(first, end)
        common = np.zeros(end - first, dtype=np.uint16)  # at most 38 * 255
        for slot in np.flatnonzero(query_counts):
            common += np.minimum(self.counts[slot, first:end], int(query_counts[slot]))
        keep = common * 200.0 >= (cutoff - 0.5) * (len(query) + self.lengths_np[first:end])
        keep |= self.unbounded[first:end]
        return (np.flatnonzero(keep) + first).tolist()


def _offer(best: dict[int, tuple[float, int]], owner: _Owner, form: _Form, score: float) -> None:
    if owner.reduced and form.reduced:
        return
    current = best.get(owner.entry)
    if current is None or score > current[0] or (score == current[0] and owner.alias < current[1]):
        best[owner.entry] = (score, owner.alias)


def _parts_agree(query: tuple[str, ...], alias: tuple[str, ...]) -> bool:
    """When both names have the same number (two or more) of tokens of three or more letters
    (shorter ones are particles such as al, el, bo), each such token is within one edit
    (Levenshtein; two edits from ten letters) of a token on the other side. A fuzzy score
    over the whole name otherwise lets long shared parts hide a different surname
    (Volkov vs Volkonov, Hamid vs Shami)."""
    query = tuple(t for t in query if len(t) >= 3)
    alias = tuple(t for t in alias if len(t) >= 3)
    if len(query) != len(alias) or len(query) < 2:
        return True
    return all(
        any(_close(token, other) for other in theirs)
        for mine, theirs in ((query, alias), (alias, query))
        for token in mine
    )


def _close(a: str, b: str) -> bool:
    allowed = 1 + max(len(a), len(b)) // 10
    return Levenshtein.distance(a, b, score_cutoff=allowed) <= allowed


def _adjust(
    score: float, entry: WatchlistEntry, birth_date: date | None, country: str | None
) -> float:
    if birth_date is not None and entry.birth_date is not None:
        if birth_date == entry.birth_date:
            score += BIRTH_DATE_MATCH_BONUS
        else:
            score -= BIRTH_DATE_MISMATCH_PENALTY
    if country and entry.country and country.strip().upper() != entry.country:
        score -= COUNTRY_MISMATCH_PENALTY
    return max(0.0, min(100.0, score))


# --------------------------------------------------------------------------- loading


def _has_letters(name: str) -> str:
    if not any(c.isalpha() for c in name):
        raise ValueError("a name needs at least one letter")
    return name


class _EntryModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, pattern=r"^\S+$")
    names: list[Annotated[str, AfterValidator(_has_letters)]] = Field(min_length=1)
    birth_date: date | None = None
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    list_name: str = Field(alias="list", min_length=1)
    reason: str = Field(min_length=1)


class _WatchlistFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    entries: list[_EntryModel]


class _Loader(yaml.SafeLoader):
    """SafeLoader that leaves dates as text, so pydantic checks them and names the field."""


_Loader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_scalar)


def load_watchlist(path: Path) -> list[WatchlistEntry]:
    """Read and validate a watch-list YAML file (`name`, `entries: [{id, names, birth_date?,
    country?, list, reason}]`); unknown keys and bad values raise ConfigurationError naming
    the field, e.g. `entries.3.country`."""
    path = Path(path)
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # a SafeLoader
    except OSError as exc:
        raise ConfigurationError(f"watch list {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:  # position and problem only: the snippet may hold names
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise ConfigurationError(f"watch list {path}: not valid YAML: {where}{problem}") from None
    try:
        parsed = _WatchlistFile.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        raise ConfigurationError(f"watch list {path}: {where}: {err['msg']}") from None
    seen: set[str] = set()
    for index, item in enumerate(parsed.entries):
        if item.id in seen:
            raise ConfigurationError(
                f"watch list {path}: entries.{index}.id: duplicate id {item.id!r}"
            )
        seen.add(item.id)
    logger.info("watch list %s loaded: %d entries", parsed.name, len(parsed.entries))
    return [
        WatchlistEntry(
            entry_id=item.id,
            names=tuple(item.names),
            birth_date=item.birth_date,
            country=item.country,
            list_name=item.list_name,
            reason=item.reason,
        )
        for item in parsed.entries
    ]
