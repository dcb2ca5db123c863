"""Formatters over the diagnostics of a run; each format is one module."""

from __future__ import annotations

FORMATS = ("concise", "json")
