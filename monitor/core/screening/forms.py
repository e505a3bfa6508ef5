"""Spellings of a name as compared: normalised, transliterated, shortened and rotated tokens."""

from __future__ import annotations

import itertools
import logging
import re
from dataclasses import dataclass

from monitor.core.screening.normalize import ascii_tokens, fold, tokens
from monitor.core.screening.transliterate import (
    hanzi_spellings,
    has_han,
    is_pinyin,
    romanise_cyrillic,
)

__all__ = ["Form", "forms", "normalise_name"]

logger = logging.getLogger(__name__)

_PATRONYMIC = re.compile(r"(?:ich|vna|ichna)$")


@dataclass(frozen=True, slots=True)
class Form:
    """One normalised spelling of a name: tokens and the strings the scorers compare."""

    tokens: tuple[str, ...]
    reduced: bool  # a shortening: middle names or a patronymic left out
    compact: str  # tokens joined without spaces
    sorted: str  # tokens sorted, space-separated (fuzz.ratio on it == token_sort_ratio)
    rotations: tuple[str, ...]  # compact forms with the first/last token moved to the other end
    pinyin: bool  # every token is a run of valid toneless pinyin syllables

    @classmethod
    def of(cls, tokens: tuple[str, ...], reduced: bool = False) -> Form:
        turned = [tokens, tokens[1:] + tokens[:1], tokens[-1:] + tokens[:-1]]
        rotations = tuple(dict.fromkeys("".join(t) for t in turned))
        return cls(
            tokens,
            reduced,
            rotations[0],
            " ".join(sorted(tokens)),
            rotations,
            all(is_pinyin(t) for t in tokens),
        )


def normalise_name(name: str) -> tuple[str, ...]:
    """The spellings a name is compared under, each as space-separated tokens (first: the
    plain one). Deterministic and cheap; exposed for tests and diagnostics."""
    return tuple(" ".join(form.tokens) for form in forms(name))


def forms(name: str) -> tuple[Form, ...]:
    """The spellings of `name`, plain ones first, each followed by its shortenings."""
    if name.isascii():  # NFKC, NFKD and the letter tables leave ASCII as it is
        spellings: tuple[str, ...] = (name.lower().strip(),)
        tokenise = ascii_tokens
    else:
        text = romanise_cyrillic(fold(name)).strip()
        spellings = hanzi_spellings(text) if has_han(text) else (text,)
        tokenise = tokens
    found: dict[tuple[str, ...], Form] = {}
    for spelling in spellings:
        spelled = tokenise(spelling)
        if not spelled:
            continue
        found.setdefault(spelled, Form.of(spelled))
        for shorter in _shortenings(spelled):
            found.setdefault(shorter, Form.of(shorter, reduced=True))
    return tuple(found.values())


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
