"""Data sets for development, backtests and tests.

``synthetic`` generates seeded lending data with ground truth: applicants with stable
Chinese identities (``identities``), applications, logins, repayments, overdues, fraud rings
and labels, as columnar tables (``tables``).
"""

from fengkong.datasets.synthetic import SyntheticData, generate
from fengkong.datasets.tables import (
    Applicants,
    Applications,
    Labels,
    Logins,
    Overdues,
    Repayments,
    Table,
)

__all__ = [
    "Applicants",
    "Applications",
    "Labels",
    "Logins",
    "Overdues",
    "Repayments",
    "SyntheticData",
    "Table",
    "generate",
]
