"""Data sets for development, backtests and tests.

``synthetic`` generates seeded lending data with ground truth: applicants with stable
Chinese identities, applications, logins, repayments, overdues, fraud rings and labels.
"""

from fengkong.datasets.synthetic import SyntheticData, generate

__all__ = ["SyntheticData", "generate"]
