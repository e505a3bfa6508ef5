"""Where the shipped data files are: default rule packs, FX table, calendars, lists, samples."""

from __future__ import annotations

import logging
from importlib.resources import files
from pathlib import Path

__all__ = ["default_file", "defaults_dir"]

logger = logging.getLogger(__name__)

# pyproject.toml maps the repository's top-level config/ folder to the package
# `monitor.defaults`, so a built wheel carries it as monitor/defaults/.
_PACKAGE = "monitor"
_INSTALLED = "defaults"
_SOURCE = Path(__file__).resolve().parents[2] / "config"


def defaults_dir() -> Path:
    """The folder of the shipped data files, as a real path (packs name their FX table,
    calendar and watch list relative to it): `monitor/defaults/` of an installed wheel, else
    the `config/` folder of the source tree this package is imported from (a checkout or
    an editable install, which never copy config/)."""
    installed = files(_PACKAGE) / _INSTALLED
    if isinstance(installed, Path) and installed.is_dir():
        return installed
    return _SOURCE


def default_file(*parts: str) -> Path:
    """A shipped data file, e.g. `default_file("calendars", "cn.yaml")`."""
    return defaults_dir().joinpath(*parts)
