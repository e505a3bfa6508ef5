"""Token alignment of names in Latin letters: weighted edits, length-scaled tolerance, weights."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein

from monitor.core.screening.given import distinct_given, is_common_given

__all__ = [
    "INITIALS_CAP",
    "Alignment",
    "align",
    "initials_keys",
    "token_cost",
    "tolerance",
]

logger = logging.getLogger(__name__)

#: cost of a spelling variant: letters of one sound group, a doubled or silent letter
SOFT = 0.5
#: cost of a vowel for another vowel (transliterations differ most there: Hizballah/Hezbollah)
VOWEL = 0.3
#: points a token's score loses per unit of edit cost (one letter for an unrelated one: 20)
POINTS_PER_EDIT = 20.0
#: a name that agrees only through initials scores at most this (below the default
#: threshold: an identifier that agrees is needed for a match)
INITIALS_CAP = 86.0
#: weights of an alias token: its last token (read as the surname), another token, a very
#: common given name (a match on it alone says little), an initial
SURNAME_WEIGHT = 1.0
OTHER_WEIGHT = 0.6
COMMON_GIVEN_WEIGHT = 0.3
INITIAL_WEIGHT = 0.3
#: tokens left out before aligning: articles and particles of Arabic, Romance and Germanic names
PARTICLES = frozenset(
    "al el ul bin ibn bint abu de del della da di do dos das du van von der".split()
)
#: the spellings of a syllable with ü, ASCII-only (lü: lu, lv, lyu)
_UMLAUT = {"lv": "lu", "lyu": "lu", "nv": "nu", "nyu": "nu"}
#: a name with more tokens is aligned only through its orders
_MAX_ALIGNED = 6
#: at most this many edits, however cheap, in a token of so many letters (Omar is not Amir)
_MAX_EDITS = {4: 1, 5: 1, 6: 2, 7: 2, 8: 2}

# sound groups (after Editex, Zobel and Dart 1996, with v/w and i/j/y added): one letter
# for another of its group is a spelling variant, not another name
_GROUPS = ("bp", "ckq", "dt", "gk", "lr", "mn", "gj", "fpv", "sxz", "csz", "vwu", "ijy")
_VOWELS = frozenset("aeiouy")
_SOFT_PAIRS = frozenset((a, b) for group in _GROUPS for a in group for b in group if a != b)


def tolerance(length: int) -> float:
    """The largest edit cost two tokens may differ by when the longer has `length` letters:
    none up to 3 letters, one spelling variant up to 5, one letter up to 8, one and a half
    up to 11, two from 12 (and at most one edit up to 5 letters, two up to 8: `_pair`)."""
    if length <= 3:
        return 0.0
    if length <= 5:
        return SOFT
    if length <= 8:
        return 1.0
    if length <= 11:
        return 1.5
    return 2.0


def _sub(a: str, b: str) -> float:
    if a == b:
        return 0.0
    if a in _VOWELS and b in _VOWELS:
        return VOWEL
    return SOFT if (a, b) in _SOFT_PAIRS else 1.0


def _indel(word: str, i: int) -> float:
    """Cost of inserting or deleting `word[i]`: `VOWEL` for the y of an iotated vowel; soft
    for a doubled letter (Hassan/Hasan), an h (Thomas/Tomas), a vowel beside a vowel
    (Mueller/Muller) and the j of dj (Djordjevic, Đorđević read Dordevic); one otherwise."""
    c = word[i]
    prev = word[i - 1] if i else ""
    nxt = word[i + 1] if i + 1 < len(word) else ""
    if c == "y" and nxt in _VOWELS:
        return VOWEL  # a Cyrillic iotated vowel: Yelena/Elena, Gorbachyov/Gorbachev
    if c in (prev, nxt) or c == "h":
        return SOFT
    if c in _VOWELS and (prev in _VOWELS or nxt in _VOWELS):
        return SOFT
    if c == "j" and prev == "d":
        return SOFT
    return 1.0


def token_cost(a: str, b: str, limit: float = 9.0) -> float:
    """The weighted edit distance of two tokens (Damerau's adjacent transposition counted
    once): unrelated letters cost 1, letters of one sound group `SOFT`, two vowels `VOWEL`;
    above `limit` it returns a value above `limit` without finishing."""
    if a == b:
        return 0.0
    if abs(len(a) - len(b)) * VOWEL > limit:
        return limit + 1.0
    n, m = len(a), len(b)
    del_a = [_indel(a, i) for i in range(n)]
    ins_b = [_indel(b, j) for j in range(m)]
    before: list[float] = []
    prev = [0.0] * (m + 1)
    for j in range(1, m + 1):
        prev[j] = prev[j - 1] + ins_b[j - 1]
    for i in range(1, n + 1):
        row = [prev[0] + del_a[i - 1]] + [0.0] * m
        for j in range(1, m + 1):
            best = min(
                prev[j] + del_a[i - 1],
                row[j - 1] + ins_b[j - 1],
                prev[j - 1] + _sub(a[i - 1], b[j - 1]),
            )
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                swap = VOWEL if a[i - 1] in _VOWELS and a[i - 2] in _VOWELS else 1.0
                best = min(best, before[j - 2] + swap)
            row[j] = best
        if min(row) > limit:
            return limit + 1.0
        before, prev = prev, row
    return prev[m]


@dataclass(frozen=True, slots=True)
class Alignment:
    """How a name's tokens lined up with an alias's: the name score, how many token pairs
    were equal, spelling variants (cost under one letter) or edits, and whether an initial
    stood for a given name. Holds counts only: an alert may carry it, never the tokens."""

    score: float
    exact: int
    variants: int
    edits: int
    initials: int

    def describe(self) -> str:
        """`fuzzy: 1 exact, 1 variant` (the parts that are not zero)."""
        parts = [
            f"{count} {label}"
            for count, label in (
                (self.exact, "exact"),
                (self.variants, "variant" if self.variants == 1 else "variants"),
                (self.edits, "edit" if self.edits == 1 else "edits"),
                (self.initials, "initial" if self.initials == 1 else "initials"),
            )
            if count
        ]
        return ("initials: " if self.initials else "fuzzy: ") + ", ".join(parts)


def _weight(token: str, last: bool) -> float:
    if is_common_given(token):
        return COMMON_GIVEN_WEIGHT
    return SURNAME_WEIGHT if last else OTHER_WEIGHT


@functools.lru_cache(maxsize=65536)
def _pair(mine: str, theirs: str) -> tuple[float, int] | None:
    """(cost, kind) of a query token against an alias token, None when they do not agree:
    kind 0 equal, 1 a variant, 2 an edit, 3 an initial standing for a name."""
    if mine == theirs:
        return 0.0, 0
    if _UMLAUT.get(mine, mine) == _UMLAUT.get(theirs, theirs):
        return SOFT, 1  # 吕 written Lü, Lu, Lyu or Lv
    if len(mine) == 1 or len(theirs) == 1:
        if min(len(mine), len(theirs)) == 1 and mine[0] == theirs[0]:
            return SOFT, 3
        return None
    if distinct_given(mine, theirs):
        return None  # Maria is not Mario, Daniel not Daniela
    allowed = tolerance(max(len(mine), len(theirs)))
    if allowed <= 0 or abs(len(mine) - len(theirs)) * VOWEL > allowed:
        return None
    edits = _MAX_EDITS.get(max(len(mine), len(theirs)), int(allowed / VOWEL))
    if Levenshtein.distance(mine, theirs, score_cutoff=edits) > edits:
        return None  # too many edits, however cheap
    cost = token_cost(mine, theirs, allowed)
    if cost > allowed:
        return None
    return cost, 1 if cost < 1.0 else 2


def _score(pairs: list[tuple[float, int, float]]) -> Alignment | None:
    """The weighted mean of the pairs' token scores (100 less `POINTS_PER_EDIT` per unit of
    cost; an initial costs `SOFT`), capped at `INITIALS_CAP` when an initial took part and
    fewer than two whole tokens agreed (A. Volkov, not José M. Fernández García); None when
    only initials agreed."""
    kinds = [kind for _, kind, _ in pairs]
    if all(kind == 3 for kind in kinds):
        return None
    total = sum(weight for _, _, weight in pairs)
    score = sum(weight * (100.0 - POINTS_PER_EDIT * cost) for cost, _, weight in pairs) / total
    if 3 in kinds and len(kinds) - kinds.count(3) < 2:
        score = min(score, INITIALS_CAP)
    return Alignment(score, kinds.count(0), kinds.count(1), kinds.count(2), kinds.count(3))


@functools.lru_cache(maxsize=65536)
def _significant(tokens: tuple[str, ...]) -> tuple[str, ...]:
    kept = tuple(t for t in tokens if t not in PARTICLES)
    return kept or tokens


@functools.lru_cache(maxsize=65536)
def align(query: tuple[str, ...], alias: tuple[str, ...]) -> Alignment | None:
    """The best alignment of a name's tokens with an alias's, None when they do not align.

    Two readings are tried. Token by token: particles (al, bin, de, van) left out, the two
    names with the same number of tokens, each query token paired with a different alias
    token in whatever order scores best, every pair within the tolerance of its length
    (`tolerance`, `token_cost`). And by whole-name order: surname first or last on each side,
    the rest of the name joined (Abd al-Rahman Khalil against Abdulrahman Khalil). Each
    pair scores 100 less `POINTS_PER_EDIT` per unit of edit cost; the name score is their
    mean weighted by the alias token: its surname (last token) 1, another token 0.6, a very
    common given name 0.3. A single letter stands for a given name with that initial
    (A. Volkov, Aleksandr Volkov), and then the score is at most `INITIALS_CAP`."""
    best: Alignment | None = None
    mine, theirs = _significant(query), _significant(alias)
    if len(mine) == len(theirs) <= _MAX_ALIGNED:
        best = _assign(mine, theirs)
    if len(query) >= 2 and len(alias) >= 2:
        for q_head, q_rest in _orders(query):
            for a_head, a_rest in _orders(alias):
                head, rest = _pair(q_head, a_head), _pair(q_rest, a_rest)
                if head is None or rest is None or 3 in (head[1], rest[1]):
                    continue
                found = _score(
                    [
                        (head[0], head[1], _weight(a_head, a_head == alias[-1])),
                        (rest[0], rest[1], _weight(a_rest, a_rest == alias[-1])),
                    ]
                )
                if found and (best is None or found.score > best.score):
                    best = found
    return best


def _assign(mine: tuple[str, ...], theirs: tuple[str, ...]) -> Alignment | None:
    """The one-to-one pairing of the query's tokens with the alias's (as many on each side)
    with the highest weighted sum of token scores: a dynamic programme over the sets of
    alias tokens taken, for the query tokens in order."""
    last = len(theirs) - 1
    #: alias tokens taken (bit mask) -> (weighted points, pairs so far)
    states: dict[int, tuple[float, list[tuple[float, int, float]]]] = {0: (0.0, [])}
    for token in mine:
        following: dict[int, tuple[float, list[tuple[float, int, float]]]] = {}
        for mask, (points, pairs) in states.items():
            for j, other in enumerate(theirs):
                if mask & (1 << j):
                    continue
                found = _pair(token, other)
                if found is None:
                    continue
                cost, kind = found
                weight = INITIAL_WEIGHT if kind == 3 else _weight(other, j == last)
                total = points + weight * (100.0 - POINTS_PER_EDIT * cost)
                taken = mask | (1 << j)
                if taken not in following or following[taken][0] < total:
                    following[taken] = (total, [*pairs, (cost, kind, weight)])
        states = following
        if not states:
            return None
    return max((_score(pairs) for _, pairs in states.values()), key=_by_score, default=None)


def _by_score(found: Alignment | None) -> float:
    return -1.0 if found is None else found.score


@functools.lru_cache(maxsize=65536)
def _orders(tokens: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """(surname, the rest joined) with the last token as surname, and with the first."""
    return ((tokens[-1], "".join(tokens[:-1])), (tokens[0], "".join(tokens[1:])))


def initials_keys(tokens: tuple[str, ...]) -> tuple[str, ...]:
    """Keys under which a name written with initials meets its alias: the initials of the
    other tokens, then the surname (`a volkov`), with the surname last and first. For a
    name with single-letter tokens and one longer token: that one key; for a name of two
    or more longer tokens (an alias): both readings; otherwise none."""
    tokens = _significant(tokens)
    if len(tokens) < 2:
        return ()
    short = [t for t in tokens if len(t) == 1]
    long = [t for t in tokens if len(t) > 1]
    if short:
        return (f"{''.join(short)} {long[0]}",) if len(long) == 1 else ()
    return tuple(
        dict.fromkeys(
            (
                "".join(t[0] for t in tokens[:-1]) + " " + tokens[-1],
                "".join(t[0] for t in tokens[1:]) + " " + tokens[0],
            )
        )
    )
