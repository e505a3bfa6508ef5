"""Thin Faust agents around the rule core."""

from agents.app import create_app
from agents.pipeline import Pipeline

__all__ = ["Pipeline", "create_app"]
