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


# the optional audio extra (transcription): how to install it, and the error that says so
INSTALL_HINT = (
    'pip install "tunesmith[audio]" && pip install --no-deps basic-pitch==0.4.0 '
    "(or, in a source checkout, make install-audio); basic-pitch runs on onnxruntime here, "
    "so do not let pip install it with its TensorFlow dependency"
)


class MissingAudioExtra(TunesmithError):
    """basic-pitch, onnxruntime or one of their light dependencies is not installed."""

    def __init__(self, missing: str):
        self.missing = missing
        super().__init__(f"transcribing audio needs the audio extra, which is not installed "
                         f"(missing module {missing}): {INSTALL_HINT}")
