"""Name normalisation: Unicode and case folding, accents, punctuation, given-name variants."""

from __future__ import annotations

import logging
import re
import unicodedata

__all__ = ["ascii_tokens", "fold", "tokens"]

logger = logging.getLogger(__name__)

_APOSTROPHES = re.compile(r"['\u2018\u2019\u02bc\u02bb`\u00b4]")
_SEPARATORS = re.compile(r"[^a-z0-9]+")

# letters NFKD does not decompose into a base letter plus marks
_LATIN_EXTRA = str.maketrans(
    {
        "ø": "o",
        "ł": "l",
        "đ": "dj",  # Serbo-Croatian Đorđević is written Djordjevic
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
        "maria": "mariya marija",
        "fatima": "fatma fatimah",
        "yekaterina": "ekaterina jekaterina",
        "tatyana": "tatiana tatjana",
        "nikolay": "nikolai",
        "maksim": "maxim",
        "artem": "artyom",
        "darya": "daria dariya",
    }.items()
}
_CANONICAL = {v: c for c, vs in _TOKEN_VARIANTS.items() for v in vs}


def fold(name: str) -> str:
    """`name` in NFKC form, case-folded."""
    return unicodedata.normalize("NFKC", name).casefold()


def tokens(text: str) -> tuple[str, ...]:
    """The tokens of case-folded Latin text: NFKD with combining marks removed (José Müller
    -> jose muller), a few letters NFKD leaves alone mapped (ø -> o), apostrophes removed,
    any other character outside a-z and 0-9 a separator, given-name variants folded."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    stripped = _APOSTROPHES.sub("", stripped.translate(_LATIN_EXTRA))
    return tuple(_canonical(t) for t in _SEPARATORS.split(stripped) if t)


def ascii_tokens(text: str) -> tuple[str, ...]:
    """`tokens` of lower-case ASCII text."""
    return tuple(_canonical(t) for t in _SEPARATORS.split(_APOSTROPHES.sub("", text)) if t)


def _canonical(token: str) -> str:
    if len(token) >= 5 and token.endswith(("iy", "ii", "ij")):  # Dmitriy, Dmitrii -> Dmitry
        token = token[:-2] + "y"
    return _CANONICAL.get(token, token)
