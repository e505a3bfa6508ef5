"""One page of the inbox's rows, and the links to the other pages that keep the filters."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from monitor.casework.errors import InvalidInput

__all__ = ["PAGE_SIZE", "Page", "page_number", "paginate"]

logger = logging.getLogger(__name__)

#: rows per page unless `create_app(page_size=...)` says otherwise
PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[dict[str, Any]]
    number: int  # 1-based
    pages: int
    total: int
    size: int
    filters: dict[str, str]

    @property
    def first(self) -> int:
        """1-based position of the page's first row (0 when there are none)."""
        return (self.number - 1) * self.size + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1 if self.rows else 0

    def url(self, number: int) -> str:
        """The inbox at page `number` with the same filters (`status` always, as its absence
        means `active`)."""
        query = {k: v for k, v in self.filters.items() if v or k == "status"}
        if number > 1:
            query["page"] = str(number)
        return "/?" + urlencode(query)

    @property
    def previous_url(self) -> str | None:
        return self.url(self.number - 1) if self.number > 1 else None

    @property
    def next_url(self) -> str | None:
        return self.url(self.number + 1) if self.number < self.pages else None


def page_number(raw: str | None) -> int:
    """The `page` query parameter: a whole number from 1 (absent: 1)."""
    if raw is None or raw == "":
        return 1
    if not raw.isdigit() or int(raw) < 1 or len(raw) > 9:
        raise InvalidInput("page: a whole number from 1")
    return int(raw)


def paginate(rows: list[dict[str, Any]], number: int, size: int, filters: dict[str, str]) -> Page:
    """Page `number` of `rows` (`size` a page); past the last page gives the last page."""
    pages = max(1, -(-len(rows) // size))
    number = min(number, pages)
    start = (number - 1) * size
    return Page(rows[start : start + size], number, pages, len(rows), size, dict(filters))
