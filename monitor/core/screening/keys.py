"""The matcher's fuzzy keys by length: the length window and the letter-count bound."""

from __future__ import annotations

import bisect
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["ByLength", "Owner"]

logger = logging.getLogger(__name__)

#: letter slots of a key's letter counts: a-z, 0-9, space, and one slot for anything else
_SLOTS = 38
_SLOT_OF_BYTE = np.full(256, _SLOTS - 1, dtype=np.intp)
for _i, _c in enumerate("abcdefghijklmnopqrstuvwxyz0123456789 "):
    _SLOT_OF_BYTE[ord(_c)] = _i
#: a count above this does not fit the table (the key is then always compared)
_MAX_COUNT = 255
#: below this many keys in a window, comparing them all is cheaper than the bound
_BOUND_FROM = 512


@dataclass(frozen=True, slots=True)
class Owner:
    """An alias spelling a key stands for: entry and alias index, tokens, kind."""

    entry: int
    alias: int
    tokens: tuple[str, ...]
    reduced: bool
    syllabic: bool  # pinyin, or a romanisation derived from Han characters: order matters
    han: int  # 0: not from Han characters; 1: their pinyin; 2: Wade-Giles or Cantonese


def _slots(text: str) -> np.ndarray:
    """The letter slot of each character of `text` (characters outside a-z, 0-9 and space
    share the last slot)."""
    return _SLOT_OF_BYTE[np.frombuffer(text.encode("ascii", "replace"), dtype=np.uint8)]


class ByLength:
    """Fuzzy keys (with their owners) in order of length, the slice of them a query of a
    given length can reach a cutoff with, and within it the keys with enough letters in
    common with the query."""

    __slots__ = ("counts", "keys", "lengths", "lengths_np", "owners", "unbounded")

    def __init__(self, owners_by_key: dict[str, list[Owner]]) -> None:
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
        self.unbounded: npt.NDArray[np.bool_] = np.asarray((counts > _MAX_COUNT).any(axis=0))
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
