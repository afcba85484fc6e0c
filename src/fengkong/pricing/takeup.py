"""The take-up curve: how likely an approved applicant is to draw the loan at a price.

A logistic curve in the all-in APR: ``maximum / (1 + exp(slope * (apr - midpoint)))``. At
``midpoint`` half of ``maximum`` take the loan; ``slope`` is how fast take-up falls as the
price rises (30 means take-up odds fall by about e^0.3 = 1.35x per percentage point).
The defaults are illustrative; a lender fits them on its own offers (price tests).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TakeUp:
    """Logistic take-up in the all-in APR (see the module docstring)."""

    midpoint: float = 0.18
    slope: float = 30.0
    maximum: float = 0.8

    def __call__(self, all_in_apr: float) -> float:
        exponent = self.slope * (all_in_apr - self.midpoint)
        if exponent > 700.0:  # exp would overflow: nobody takes the loan
            return 0.0
        return self.maximum / (1.0 + math.exp(exponent))
