"""Data sets for development, backtests and tests.

``synthetic`` generates seeded lending data with ground truth: applicants with stable
Chinese identities (``identities``), applications, logins, repayments, overdues, fraud rings
and labels, as columnar tables (``tables``). ``public`` loads the real credit and fraud data
that package registries ship (German credit, credit_data, lending_club, ULB card fraud).
"""

from fengkong.datasets.public import Dataset, dataset_names, load_dataset
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
    "Dataset",
    "Labels",
    "Logins",
    "Overdues",
    "Repayments",
    "SyntheticData",
    "Table",
    "dataset_names",
    "generate",
    "load_dataset",
]
