"""Time windows of feature aggregations: ``10m``, ``1h``, ``7d``, ``365d``, ``lifetime``.

A window is written as a positive whole number and a unit — ``m`` minutes, ``h`` hours,
``d`` days, ``w`` weeks, ``y`` years of 365 days — or the word ``lifetime``. It spans from one
minute to one year (366 days, so a leap year fits): velocity rules look back minutes, a
credit history a year, and anything older is ``lifetime``, which the kernels keep as a
running total instead of a window.

>>> parse_window("7d")
Window(name='7d', milliseconds=604800000)
>>> parse_window("lifetime")
Window(name='lifetime', milliseconds=None)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["LIFETIME", "MAX_MILLISECONDS", "Window", "parse_window"]

_MINUTE = 60_000
_DAY = 24 * 60 * _MINUTE
_UNITS = {"m": _MINUTE, "h": 60 * _MINUTE, "d": _DAY, "w": 7 * _DAY, "y": 365 * _DAY}
_UNIT_WORDS = {"m": "minute", "h": "hour", "d": "day", "w": "week", "y": "year"}
# Leading zeros are refused so that "07d" and "7d" cannot name two different features.
_WINDOW = re.compile(r"([1-9][0-9]{0,5})([mhdwy])")

MAX_MILLISECONDS = 366 * _DAY


@dataclass(frozen=True)
class Window:
    """A look-back window; ``milliseconds`` is None for the whole history (``lifetime``)."""

    name: str
    milliseconds: int | None

    @property
    def phrase(self) -> str:
        """The window in words, for feature descriptions: ``in the last 7 days``, ``ever``."""
        return _phrase(self.name)


@lru_cache(maxsize=1024)
def _phrase(name: str) -> str:
    # Cached: a template describes thousands of features with the same few windows.
    if name == "lifetime":
        return "ever"
    match = _WINDOW.fullmatch(name)
    assert match is not None  # every Window but lifetime comes from parse_window
    count, unit = int(match.group(1)), _UNIT_WORDS[match.group(2)]
    return f"in the last {unit}" if count == 1 else f"in the last {count} {unit}s"


LIFETIME = Window("lifetime", None)


def parse_window(text: str) -> Window:
    """The window written ``text``; raises ValueError saying what a window looks like."""
    if text == "lifetime":
        return LIFETIME
    match = _WINDOW.fullmatch(text)
    if match is None:
        raise ValueError(f"bad window {text!r}: write a number and a unit m, h, d, w or y "
                         "(10m, 1h, 7d, 4w, 1y) or 'lifetime'")
    milliseconds = int(match.group(1)) * _UNITS[match.group(2)]
    if milliseconds > MAX_MILLISECONDS:
        raise ValueError(f"window {text!r} is longer than a year: use 'lifetime' for "
                         "the whole history")
    return Window(text, milliseconds)
