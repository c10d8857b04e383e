"""Errors a user can act on: each names the file (or thing) and the reason."""

from __future__ import annotations

from pathlib import Path


class TunesmithError(Exception):
    """Base class for errors shown to the user as one clear line (no traceback)."""


class BadInputError(TunesmithError):
    """An input file that cannot be used, with its path and the reason."""

    def __init__(self, path: str | Path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")
