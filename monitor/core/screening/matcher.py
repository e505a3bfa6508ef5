"""The watch-list matcher: indexes the aliases' spellings, scores a name against them."""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from datetime import date
from pathlib import Path

from rapidfuzz import fuzz, process

from monitor.core.errors import ConfigurationError
from monitor.core.screening.forms import Form, forms
from monitor.core.screening.keys import ByLength, Owner
from monitor.core.screening.models import Match, WatchlistEntry
from monitor.core.screening.score import (
    BIRTH_DATE_MATCH_BONUS,
    DEFAULT_THRESHOLD,
    MIN_FUZZY_LETTERS,
    adjust,
    parts_agree,
)
from monitor.core.screening.transliterate import has_han
from monitor.core.screening.yaml_list import load_watchlist

__all__ = ["WatchlistMatcher"]

logger = logging.getLogger(__name__)


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
    the cutoff at all (`ByLength.reachable`, a vectorised bound that leaves out no hit).
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
        self._forms = functools.lru_cache(maxsize=cache_size)(forms)
        #: whole results per (name, birth date, country): counterparties recur, and a list
        #: is screened far more often than it changes (a new list is a new matcher)
        self._results = functools.lru_cache(maxsize=cache_size * 16)(self._match)
        #: name -> candidate entries with base scores, whatever the birth date and country:
        #: a recurring name with another birth date (a new customer) needs no second scan
        self._candidates = functools.lru_cache(maxsize=cache_size * 16)(self._scan)
        self._exact: dict[str, list[Owner]] = {}
        joined: dict[str, list[Owner]] = {}
        by_sorted: dict[str, list[Owner]] = {}
        aliases = 0
        for i, entry in enumerate(self.entries):
            chinese = any(has_han(name) for name in entry.names)
            for j, name in enumerate(entry.names):
                aliases += 1
                for form in forms(name):
                    owner = Owner(i, j, form.tokens, form.reduced, chinese and form.pinyin)
                    for key in form.rotations:
                        self._exact.setdefault(key, []).append(owner)
                    if len(form.compact) >= MIN_FUZZY_LETTERS:
                        for key in form.rotations:
                            joined.setdefault(key, []).append(owner)
                        by_sorted.setdefault(form.sorted, []).append(owner)
        # fuzzy keys ordered by length: a query is compared only with the keys whose length
        # lets them reach the cutoff at all (see `ByLength.window`)
        self._fuzzy = [ByLength(joined), ByLength(by_sorted)]
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
            final = adjust(score, entry, birth_date, country)
            if final >= self.threshold:
                matches.append(Match(entry.entry_id, final, alias, entry.list_name))
        matches.sort(key=lambda m: (-m.score, m.entry_id))
        return tuple(matches)

    def _scan(self, name: str) -> tuple[tuple[int, float, int], ...]:
        """(entry index, base score, alias index) of every entry whose best alias scores at
        least the lowest cutoff any query can use (the threshold less the birth-date bonus).
        An entry's best alias is the same whatever the cutoff, and `adjust` never lifts a
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
                        if score < 100 and not parts_agree(form.tokens, owner.tokens):
                            continue
                        _offer(best, owner, form, score)
        return tuple((index, score, alias) for index, (score, alias) in best.items())


def _offer(best: dict[int, tuple[float, int]], owner: Owner, form: Form, score: float) -> None:
    """Keep `score` as the entry's best unless it is lower, or equal with a later alias;
    two shortened spellings are never compared."""
    if owner.reduced and form.reduced:
        return
    current = best.get(owner.entry)
    if current is None or score > current[0] or (score == current[0] and owner.alias < current[1]):
        best[owner.entry] = (score, owner.alias)
