"""Spellings of a name as compared: normalised, transliterated, shortened and rotated tokens."""

from __future__ import annotations

import itertools
import logging
import re
from dataclasses import dataclass

from monitor.core.screening.normalize import ascii_tokens, fold, tokens
from monitor.core.screening.transliterate import (
    hanzi_alternates,
    hanzi_spellings,
    has_han,
    is_pinyin,
    romanise_cyrillic,
    syllables,
)

__all__ = ["Form", "forms", "normalise_name"]

logger = logging.getLogger(__name__)

_PATRONYMIC = re.compile(r"(?:ich|vna|ichna)$")
_LEGAL_FORMS = frozenset(
    "co ltd limited company corp corporation inc incorporated llc plc gmbh ag sa sarl bv nv "
    "llp lp pte pty oy ab as srl spa jsc ojsc pjsc zao ooo kk group".split()
)
_HAN_LEGAL_FORM = re.compile(
    r"(?:股份有限公司|有限责任公司|有限責任公司|有限公司|集团公司|集團公司|集团|集團|公司)$"
)
_TONE_DIGIT = re.compile(r"(?<=[a-z])[1-5]")
_ONE_SYLLABLE = frozenset(syllables())
_COMPOUNDS = frozenset(
    "ouyang sima shangguan zhuge dongfang huangfu yuchi gongsun murong zhangsun yuwen "
    "situ xiahou xuanyuan linghu duanmu tantai moqi chanyu dugu nangong ximen wenren "
    "helian huyan shentu tuoba zhongli gongyang taishi baili dongguo sikong".split()
)


@dataclass(frozen=True, slots=True)
class Form:
    """One normalised spelling of a name: tokens and the strings the scorers compare."""

    tokens: tuple[str, ...]
    reduced: bool  # a shortening: middle names or a patronymic left out
    compact: str  # tokens joined without spaces
    sorted: str  # tokens sorted, space-separated (fuzz.ratio on it == token_sort_ratio)
    orders: tuple[str, ...]  # "surname given" readings of the name, see `name_orders`
    pinyin: bool  # every token is a run of valid toneless pinyin syllables
    syllabic: bool  # pinyin, or a romanisation derived from Han characters
    derived: bool  # a romanisation derived from Han characters
    alternate: bool  # derived, and Wade-Giles or Cantonese rather than pinyin

    @classmethod
    def of(
        cls,
        tokens: tuple[str, ...],
        reduced: bool = False,
        derived: bool = False,
        alternate: bool = False,
    ) -> Form:
        pinyin = all(is_pinyin(t) for t in tokens)
        return cls(
            tokens,
            reduced,
            "".join(tokens),
            " ".join(sorted(tokens)),
            name_orders(tokens, pinyin),
            pinyin,
            pinyin or derived,
            derived,
            alternate,
        )


def name_orders(tokens: tuple[str, ...], pinyin: bool) -> tuple[str, ...]:
    """The whole-name orders a name is compared under, each "first rest" with the rest's
    tokens joined: the first token as surname (surname first) and the last token as surname
    (given name first). "Lin Guo Hao" -> ("lin guohao", "hao linguo"); "Guohao Lin" ->
    ("guohao lin", "lin guohao"). Two spellings of one name share an order; a name whose
    syllables are shuffled inside does not ("Guo Haolin" shares none with "Lin Guohao").
    A single pinyin token is read surname first at each syllable boundary that leaves a
    valid given name ("zhangxiaoming" -> "zhang xiaoming"); any other single token is
    itself."""
    if len(tokens) >= 2:
        first = tokens[0] + " " + "".join(tokens[1:])
        last = tokens[-1] + " " + "".join(tokens[:-1])
        return (first,) if first == last else (first, last)
    token = tokens[0]
    if not pinyin:
        return (token,)
    splits = [
        token[:end] + " " + token[end:]
        for end in range(1, min(len(token), 12))
        if is_pinyin(token[:end]) and is_pinyin(token[end:]) and _surname_length(token[:end])
    ]
    return tuple(splits) or (token,)


def _surname_length(head: str) -> bool:
    """A surname reads as one syllable or a known two-syllable compound."""
    return head in _ONE_SYLLABLE or head in _COMPOUNDS


def normalise_name(name: str) -> tuple[str, ...]:
    """The spellings a name is compared under, each as space-separated tokens (first: the
    plain one). Deterministic and cheap; exposed for tests and diagnostics."""
    return tuple(" ".join(form.tokens) for form in forms(name))


def forms(name: str) -> tuple[Form, ...]:
    """The spellings of `name`, plain ones first, each followed by its shortenings."""
    if name.isascii():  # NFKC, NFKD and the letter tables leave ASCII as it is
        spellings: tuple[str, ...] = (name.lower().strip(),)
        tokenise = ascii_tokens
        derived = False
    else:
        text = romanise_cyrillic(fold(name)).strip()
        derived = has_han(text)
        if derived:
            text = _HAN_LEGAL_FORM.sub("", text) or text
        spellings = hanzi_spellings(text) if derived else (text,)
        tokenise = tokens
    alternates = hanzi_alternates(text) if derived else ()
    found: dict[tuple[str, ...], Form] = {}
    for spelling in (*spellings, *alternates):
        spelled = _without_legal_form(_toneless(tokenise(spelling)))
        if not spelled:
            continue
        alternate = spelling in alternates and spelling not in spellings
        found.setdefault(spelled, Form.of(spelled, derived=derived, alternate=alternate))
        for shorter in _shortenings(spelled):
            found.setdefault(shorter, Form.of(shorter, reduced=True))
    return tuple(found.values())


def _without_legal_form(spelled: tuple[str, ...]) -> tuple[str, ...]:
    """A company name without the legal-form words at its end (Co., Ltd., Limited, GmbH)."""
    end = len(spelled)
    while end > 1 and spelled[end - 1] in _LEGAL_FORMS:
        end -= 1
    return spelled[:end]


def _toneless(spelled: tuple[str, ...]) -> tuple[str, ...]:
    """Pinyin written with tone numbers (zhang1 xiao3ming2) without them."""
    if not any(c in "12345" for token in spelled for c in token):
        return spelled
    out = []
    for token in spelled:
        bare = _TONE_DIGIT.sub("", token)
        out.append(bare if bare and bare != token and is_pinyin(bare) else token)
    return tuple(out)


def _shortenings(tokens: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Spellings of a name of three or more tokens with parts commonly left out in documents:
    middle names (first and last token kept, up to five tokens) and a patronymic (the first
    patronymic-looking token after the first one). Not for pinyin names: there a missing
    syllable is a different name (张晓明 is not 张明)."""
    if len(tokens) < 3 or all(is_pinyin(t) for t in tokens):
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
