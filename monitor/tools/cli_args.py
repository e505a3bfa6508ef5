"""Argument checking for the command-line tools: a parser whose errors are one line, and
`type=` validators for counts, dates, times and files."""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import NoReturn, TypeVar

__all__ = [
    "Parser",
    "existing_dir",
    "existing_file",
    "finite_float",
    "iso_date",
    "moment",
    "non_negative_float",
    "non_negative_int",
    "one_line",
    "output_dir",
    "positive_float",
    "positive_int",
]

_N = TypeVar("_N", int, float)


def one_line(text: object) -> str:
    """`text` with every run of whitespace (newlines too) collapsed to one space."""
    return " ".join(str(text).split())


class Parser(argparse.ArgumentParser):
    """An `ArgumentParser` that reports a bad command line as one line on stderr (no usage
    block) and exits with status 2; sub-parsers are of the same class."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {one_line(message)} (see --help)\n")
        raise SystemExit(2)


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def _bounded(
    name: str,
    parse: Callable[[str], _N],
    accept: Callable[[_N], bool],
    need: str,
    *,
    echo: bool,
) -> Callable[[str], _N]:
    """A `type=` validator `name`: `parse` the text, then refuse a value that `accept`
    refuses with "must be <need>, got <the text as given if `echo`, else the value>"."""

    def validate(text: str) -> _N:
        value = parse(text)
        if not accept(value):
            raise argparse.ArgumentTypeError(f"must be {need}, got {text if echo else value}")
        return value

    validate.__name__ = validate.__qualname__ = name
    return validate


positive_int = _bounded("positive_int", _int, lambda v: v >= 1, "at least 1", echo=False)
non_negative_int = _bounded("non_negative_int", _int, lambda v: v >= 0, "0 or more", echo=False)
non_negative_float = _bounded(
    "non_negative_float", finite_float, lambda v: v >= 0, "0 or more", echo=True
)
positive_float = _bounded("positive_float", finite_float, lambda v: v > 0, "more than 0", echo=True)


def iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def moment(text: str) -> date | datetime:
    """A day (YYYY-MM-DD) or an ISO time with a UTC offset."""
    if len(text) == 10:
        return iso_date(text)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither YYYY-MM-DD nor an ISO time"
        ) from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no UTC offset")
    return value


def existing_file(text: str) -> Path:
    """A readable regular file."""
    path = Path(text)
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{path}: no such file")
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{path}: not a file")
    if not os.access(path, os.R_OK):
        raise argparse.ArgumentTypeError(f"{path}: not readable")
    return path


def existing_dir(text: str) -> Path:
    """A readable directory."""
    path = Path(text)
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{path}: no such directory")
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{path}: not a directory")
    if not os.access(path, os.R_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"{path}: not readable")
    return path


def output_dir(text: str) -> Path:
    """A directory to write into: absent (it is created) or an existing directory, not a file."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{path}: exists and is not a directory")
    return path
