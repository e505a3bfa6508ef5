"""The watch-list matcher: indexes the aliases' spellings, scores a name against them."""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from datetime import date
from pathlib import Path

from rapidfuzz import fuzz, process

from monitor.core.errors import ConfigurationError
from monitor.core.screening.align import align, initials_keys
from monitor.core.screening.common import is_common_name
from monitor.core.screening.forms import Form, forms
from monitor.core.screening.keys import ByLength, Owner
from monitor.core.screening.models import Match, WatchlistEntry
from monitor.core.screening.score import (
    BIRTH_DATE_MATCH_BONUS,
    DEFAULT_THRESHOLD,
    ID_MATCH_BONUS,
    MIN_FUZZY_LETTERS,
    assess,
)
from monitor.core.screening.yaml_list import load_watchlist

__all__ = ["WatchlistMatcher"]

logger = logging.getLogger(__name__)


class WatchlistMatcher:
    """Matches a name (with optional birth date, country and id number) against a watch list.

    Normalisation (both sides, see `normalise_name`): NFKC, case folding, Cyrillic
    romanisation, Han characters to toneless pinyin with pypinyin (default readings plus the
    surname reading of the first character where it differs, e.g. 曾 zeng; 吕 as lu/lyu/lv),
    NFKD with combining marks removed (José Müller -> jose muller), apostrophes removed,
    any other non-alphanumeric character a token separator, a few spelling variants of common
    Arabic and Russian given names folded together (Mohammed/Muhammad, Sergei/Sergey,
    -iy/-ii endings). A non-pinyin name of three or more tokens also gets shortened
    spellings without middle names or patronymic (Ivan Sergeyevich Petrov -> Ivan Petrov);
    two shortened spellings are never compared with each other.

    Han names of two to four characters are also spelled in Wade-Giles and, where the
    table has every character, Hong Kong Cantonese; legal-form words end no company name.

    Base score, 0..100, the best over the spellings of the query and of each alias:

    * 100 if the query and the alias share an *order* (`name_orders`): "first rest" with
      the first token as surname, or with the last token as surname, the rest joined. This
      covers joined/split given names and surname-first vs given-name-first order
      ("Zhang Xiaoming" == "Zhang Xiao Ming" == "Xiaoming Zhang" == 张晓明) but not syllables
      shuffled inside a name ("Guo Haolin" is not "Lin Guohao"). Also 100 when joined
      letters are equal and one side is a single token or a name from Han characters.
    * otherwise the candidates `fuzz.ratio` finds on the orders, and for Latin names on
      the sorted tokens (a pure permutation, 100 there, does not count), are scored by
      token alignment (`align.align`: every token paired within an edit tolerance scaled
      by its length, edits weighted by sound group, tokens weighted surname 1, other 0.6,
      very common given name 0.3, two common given names never paired); a name written
      with initials is found through its initials and surname and scores at most
      `align.INITIALS_CAP` unless two whole tokens agree. `token_set_ratio` is not used: a lone
      common surname would match every alias containing it.
    * pinyin guard: pinyin queries and names from Han characters match pinyin or Han
      aliases only exactly: one letter is another syllable, so another character
      (Zhang Xiaoming 张晓明 vs Zhang Xiaomin 张晓敏). Wade-Giles and Cantonese spellings
      never match one Han name with another, nor a Han name with a pinyin alias.
    * short-name guard: a query or alias with fewer than `MIN_FUZZY_LETTERS` letters only
      ever scores 100 on an exact comparison, never on partial similarity.

    Secondary identifiers (`assess`): a different birth date rules the entry out; equal
    +5; identity number equal +10, different -10; country not among the entry's -10. A
    weak alias counts only when spelled as listed. Each match says which identifiers
    agreed, conflicted and were missing, whether the name is a very common one, and how
    the name matched (`method`: exact, or the alignment's counts).

    `match` returns the best alias per entry with final score >= threshold, by score
    descending then entry id. Aliases are normalised once at construction; normalised
    queries, each name's candidate entries with their base scores, and whole results per
    (name, birth date, country, id number) sit in per-matcher LRU caches; the fuzzy
    comparisons run in rapidfuzz (`process.extract` with a score cutoff) over de-duplicated
    keys, not in a Python loop, and only over the keys that share enough letters with the
    query to reach the cutoff at all (`ByLength.reachable`, a vectorised bound that leaves
    out no hit).
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
        #: whole results per (name, birth date, country, id number): counterparties recur,
        #: and a list is screened far more often than it changes (a new list, a new matcher)
        self._results = functools.lru_cache(maxsize=cache_size * 16)(self._match)
        #: name -> candidate entries with base scores, whatever the identifiers: a recurring
        #: name with another birth date (a new customer) needs no second scan
        self._candidates = functools.lru_cache(maxsize=cache_size * 16)(self._scan)
        self._exact: dict[str, list[Owner]] = {}
        #: joined spellings any query is compared with: one-token aliases, and aliases
        #: romanised from Han characters (the syllables in written order)
        self._joined: dict[str, list[Owner]] = {}
        #: joined spellings of other multi-token aliases, for one-token queries
        self._joined_multi: dict[str, list[Owner]] = {}
        #: initials of the given names and the surname of Latin aliases ("a volkov")
        self._initials: dict[str, list[Owner]] = {}
        ordered: dict[str, list[Owner]] = {}
        by_sorted: dict[str, list[Owner]] = {}
        aliases = 0
        for i, entry in enumerate(self.entries):
            for j, name in enumerate(entry.names):
                aliases += 1
                for form in forms(name):
                    han = 2 if form.alternate else int(form.derived)
                    owner = Owner(i, j, form.tokens, form.reduced, form.syllabic, han)
                    for key in form.orders:
                        self._exact.setdefault(key, []).append(owner)
                    if len(form.tokens) == 1 or form.derived:
                        self._joined.setdefault(form.compact, []).append(owner)
                    elif not form.pinyin:
                        self._joined_multi.setdefault(form.compact, []).append(owner)
                    if not form.syllabic and not form.reduced:
                        for key in initials_keys(form.tokens):
                            self._initials.setdefault(key, []).append(owner)
                    if len(form.compact) >= MIN_FUZZY_LETTERS:
                        for key in form.orders:
                            ordered.setdefault(key, []).append(owner)
                        if not form.syllabic:
                            by_sorted.setdefault(form.sorted, []).append(owner)
        # fuzzy keys ordered by length: a query is compared only with the keys whose length
        # lets them reach the cutoff at all (see `ByLength.window`)
        self._fuzzy = [ByLength(ordered), ByLength(by_sorted)]
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
        self,
        name: str,
        birth_date: date | None = None,
        country: str | None = None,
        id_number: str | None = None,
    ) -> list[Match]:
        """The entries `name` matches, best alias each, by score desc then entry id."""
        return list(self._results(name, birth_date, country, id_number))

    def _match(
        self, name: str, birth_date: date | None, country: str | None, id_number: str | None
    ) -> tuple[Match, ...]:
        matches = []
        common = any(is_common_name(form.orders) for form in self._forms(name) if form.pinyin)
        for index, score, alias, method in self._candidates(name):
            entry = self.entries[index]
            weak = alias in entry.weak
            final, found = assess(score, entry, birth_date, country, id_number)
            if final is None or final < self.threshold:
                continue
            if weak and score < 100:
                continue  # a weak alias counts only when spelled as listed
            matches.append(
                Match(
                    entry.entry_id,
                    final,
                    alias,
                    entry.list_name,
                    score,
                    found,
                    weak,
                    common,
                    method,
                )
            )
        matches.sort(key=lambda m: (-m.score, m.entry_id))
        return tuple(matches)

    def _scan(self, name: str) -> tuple[tuple[int, float, int, str], ...]:
        """(entry index, base score, alias index, method) of every entry whose best alias scores at
        least the lowest cutoff any query can use (the threshold less the largest bonus).
        An entry's best alias is the same whatever the cutoff, and `assess` never lifts a
        score above the threshold without a bonus, so `_match` gives what a scan with the
        query's own cutoff would."""
        best: dict[int, tuple[float, int, str]] = {}
        cutoff = max(self.threshold - max(BIRTH_DATE_MATCH_BONUS, ID_MATCH_BONUS), 0.0)
        for form in self._forms(name):
            for key in form.orders:
                for owner in self._exact.get(key, ()):
                    _offer(best, owner, form, 100.0, "exact")
            for owner in self._joined.get(form.compact, ()):
                _offer(best, owner, form, 100.0, "exact")
            if len(form.tokens) == 1 and not form.pinyin:
                for owner in self._joined_multi.get(form.compact, ()):
                    _offer(best, owner, form, 100.0, "exact")
            if len(form.compact) < MIN_FUZZY_LETTERS or form.derived:
                continue  # Han characters name their syllables: no fuzzy reading of them
            if not form.syllabic and any(len(t) == 1 for t in form.tokens):
                for key in initials_keys(form.tokens):
                    for owner in self._initials.get(key, ()):
                        _offer_aligned(best, owner, form, cutoff)
            queries = [(key, self._fuzzy[0]) for key in form.orders[:1]]
            if not form.syllabic:
                queries.append((form.sorted, self._fuzzy[1]))
            for query, by_length in queries:
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
                        if owner.syllabic and (form.syllabic or score >= 100):
                            continue  # order and syllables matter: only exact keys count
                        if score >= 100 and by_length is self._fuzzy[1]:
                            continue  # the tokens permuted: not a whole-name order swap
                        _offer_aligned(best, owner, form, cutoff)
        return tuple(
            (index, score, alias, method) for index, (score, alias, method) in best.items()
        )


def _offer_aligned(
    best: dict[int, tuple[float, int, str]], owner: Owner, form: Form, cutoff: float
) -> None:
    """Offer the token alignment's score of a fuzzy candidate (below 100: the name is not
    spelled as listed), if the tokens align and it reaches `cutoff`."""
    aligned = align(form.tokens, owner.tokens)
    if aligned is not None and aligned.score >= cutoff:
        _offer(best, owner, form, min(aligned.score, 99.0), aligned.describe())


def _offer(
    best: dict[int, tuple[float, int, str]], owner: Owner, form: Form, score: float, method: str
) -> None:
    """Keep `score` as the entry's best unless it is lower, or equal with a later alias;
    two shortened spellings are never compared, nor two names in Han characters through
    Wade-Giles or Cantonese (the characters differ where those spellings agree), nor such
    a spelling of a Han name with a pinyin alias (胡明 read wu ming is not Wu Ming 吴明)."""
    if owner.reduced and form.reduced:
        return
    if form.derived and owner.han and (form.alternate or owner.han == 2):
        return
    if form.alternate and owner.syllabic:
        return  # a Cantonese or Wade-Giles reading that is also pinyin: other characters
    current = best.get(owner.entry)
    if current is None or score > current[0] or (score == current[0] and owner.alias < current[1]):
        best[owner.entry] = (score, owner.alias, method)
