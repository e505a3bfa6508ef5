"""Where the worker keeps customer state: one store per partition of the state changelog.

A store also holds the records of accounts and conductors (`monitor.core.network`,
`monitor.core.conductor`); writing None for a key deletes it (an idle record's tombstone,
`agents.idle`).

Every store remembers the last changelog offset it reflects, so a partition that comes
back to a worker is brought up to date by reading the changelog from there, not from the
beginning. `MemoryStore` is a dict (state lives only as long as the process; a restart reads
the changelog); `RocksStore` is a RocksDB database per partition under the data directory
that survives restarts (a restart reads only the changelog records written since).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import cast

__all__ = ["MemoryStore", "RocksStore", "Store"]

_OFFSET_KEY = b"\x00changelog-offset"  # customer ids are never empty and never start with NUL


class MemoryStore:
    """A partition's customer records in a dict."""

    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}
        self.offset = -1

    def get(self, key: bytes) -> bytes | None:
        return self.data.get(key)

    def write(self, items: Iterable[tuple[bytes, bytes | None]], offset: int) -> None:
        """Apply records (None deletes) and remember the changelog offset they reach."""
        data = self.data
        for key, value in items:
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value
        self.offset = offset

    def items(self) -> Iterator[tuple[bytes, bytes]]:
        """Every (customer key, state record)."""
        return iter(list(self.data.items()))

    def reset(self) -> None:
        self.data.clear()
        self.offset = -1

    def __len__(self) -> int:
        return len(self.data)

    def close(self) -> None:
        return None


class RocksStore:
    """A partition's customer records in RocksDB; the offset is written in the same batch as
    the records, so the database never claims more of the changelog than it holds."""

    def __init__(self, path: Path) -> None:
        from rocksdict import Options, Rdict, WriteBatch

        self.path = path
        self._options = Options(raw_mode=True)
        self._batch = WriteBatch
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = Rdict(str(path), options=self._options)
        raw = self.db.get(_OFFSET_KEY)
        self.offset = int(raw) if raw is not None else -1

    def get(self, key: bytes) -> bytes | None:
        return self.db.get(key)

    def write(self, items: Iterable[tuple[bytes, bytes | None]], offset: int) -> None:
        batch = self._batch(raw_mode=True)
        for key, value in items:
            if value is None:
                batch.delete(key)
            else:
                batch.put(key, value)
        batch.put(_OFFSET_KEY, str(offset).encode())
        self.db.write(batch)
        self.offset = offset

    def items(self) -> Iterator[tuple[bytes, bytes]]:
        """Every (customer key, state record)."""
        for key, value in self.db.items():
            if key != _OFFSET_KEY:
                yield cast(bytes, key), cast(bytes, value)

    def reset(self) -> None:
        """Start empty (the local copy belongs to another changelog than the topic's)."""
        from rocksdict import Rdict

        self.db.close()
        shutil.rmtree(self.path, ignore_errors=True)
        self.db = Rdict(str(self.path), options=self._options)
        self.offset = -1

    def __len__(self) -> int:  # RocksDB has no cheap count
        raise TypeError("a RocksDB store is not counted")

    def close(self) -> None:
        self.db.close()


Store = MemoryStore | RocksStore
