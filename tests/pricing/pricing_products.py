"""The product the pricing tests start from, changed per test with ``product(**changes)``."""

from __future__ import annotations

import copy
from typing import Any

from fengkong.pricing import Product, load_product

# Figures a hand calculation can follow: costs of 3.5% + 3% + 1.26% capital + 2% margin.
BASE: dict[str, Any] = {
    "name": "cash-12m",
    "term_months": 12,
    "amount": {"min": 1000, "max": 50000, "step": 100},
    "costs": {"funding": 0.035, "operating": 0.03, "margin": 0.02, "capital_ratio": 0.105,
              "cost_of_equity": 0.12},
    "lgd": 0.85,
    "loss_budget": 800,
    "dti_ceiling": 0.5,
}


def document(**changes: Any) -> dict[str, Any]:
    """The base document with top-level keys replaced (a dict value replaces the section)."""
    doc = copy.deepcopy(BASE)
    doc.update(changes)
    return doc


def product(**changes: Any) -> Product:
    return load_product(document(**changes))


def costs(**changes: float) -> dict[str, float]:
    return {**BASE["costs"], **changes}
