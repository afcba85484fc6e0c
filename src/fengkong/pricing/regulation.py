"""The regulatory ceilings on price and amount, as dated tables.

A rule changes on a date, and a decision must be judged by the rule in force on *its* date —
a backtest of last year's applications, or a loan agreed the day before a change, uses the
old ceiling. So every ceiling is a :class:`DatedTable` of entries, each with the date it took
effect and where it comes from; :meth:`DatedTable.on` picks the entry in force.

These are fengkong's defaults, to be confirmed by the lender's compliance team; a product
can name another built-in table or give its own (``docs/pricing.md``).

* ``consumer_finance`` — the all-in annual cost (综合融资成本, fees included) of loans by
  licensed consumer-finance companies. 36% from 2017-12-01 (the cash-loan rectification
  notice, 整治办函〔2017〕141号, tied the all-in cost to the courts' 36% line); 24% from
  2026-01-01 (regulators' 2025–2026 guidance to consumer-finance companies: above 24%
  prohibited, 12–24% monitored). The exact start of the 24% rule is this module's
  assumption: change the table if compliance reads the guidance differently.
* ``private_lending`` — four times the one-year Loan Prime Rate in force when the contract
  is made (the Supreme People's Court's private-lending provisions as revised on
  2020-08-20). It follows every LPR change, listed in :data:`ONE_YEAR_LPR`.
* ``internet_consumer_loan`` — at most RMB 200,000 of consumer credit per borrower
  (Interim Measures for the Administration of Internet Loans of Commercial Banks, CBIRC
  order 2020 No. 9, effective 2020-07-17).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from fengkong.errors import PricingError


@dataclass(frozen=True, slots=True)
class DatedValue:
    """One ceiling and the day it took effect. ``monitor_above``: a rate from which
    regulators watch the lender's pricing (an offer there carries a notice, not a
    decline)."""

    effective_from: date
    value: float
    source: str
    monitor_above: float | None = None

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"value": self.value,
                                  "effectiveFrom": self.effective_from.isoformat(),
                                  "source": self.source}
        if self.monitor_above is not None:
            out["monitorAbove"] = self.monitor_above
        return out


class DatedTable:
    """A ceiling over time: the entry in force on a date is the latest that took effect on
    or before it."""

    def __init__(self, name: str, entries: Iterable[DatedValue]) -> None:
        self.name = name
        self.entries = tuple(sorted(entries, key=lambda entry: entry.effective_from))
        if not self.entries:
            raise PricingError(f"the table {name!r} has no entries", field=name)
        self._starts = [entry.effective_from for entry in self.entries]

    def on(self, day: date) -> DatedValue:
        """The entry in force on ``day``; a day before the first entry is an error (no
        ceiling known is not no ceiling)."""
        index = bisect.bisect_right(self._starts, day) - 1
        if index < 0:
            raise PricingError(f"no {self.name} ceiling is known on {day.isoformat()}: the "
                               f"table starts on {self._starts[0].isoformat()}", field="date")
        return self.entries[index]

    def __repr__(self) -> str:
        return f"DatedTable({self.name!r}, {len(self.entries)} entries)"


_LPR_SOURCE = "one-year Loan Prime Rate, National Interbank Funding Center"
# (date the one-year LPR took this value, the rate); from the 2020-08-20 revision on, the
# only dates that matter for the private-lending ceiling.
_LPR_HISTORY = (
    (date(2020, 4, 20), 0.0385), (date(2021, 12, 20), 0.0380), (date(2022, 1, 20), 0.0370),
    (date(2022, 8, 22), 0.0365), (date(2023, 6, 20), 0.0355), (date(2023, 8, 21), 0.0345),
    (date(2024, 7, 22), 0.0335), (date(2024, 10, 21), 0.0310), (date(2025, 5, 20), 0.0300),
)
ONE_YEAR_LPR = DatedTable("one-year LPR", (DatedValue(day, rate, _LPR_SOURCE)
                                           for day, rate in _LPR_HISTORY))

_PRIVATE_LENDING_START = date(2020, 8, 20)
_PRIVATE_LENDING_SOURCE = ("4 x one-year LPR: Supreme People's Court provisions on private "
                           "lending cases, revised 2020-08-20")

CONSUMER_FINANCE = DatedTable("consumer_finance", (
    DatedValue(date(2017, 12, 1), 0.36,
               "cash-loan rectification notice 整治办函〔2017〕141号: all-in cost within the "
               "courts' 36% line"),
    DatedValue(date(2026, 1, 1), 0.24,
               "regulators' 2025-2026 guidance to consumer-finance companies: all-in annual "
               "cost above 24% prohibited, 12-24% monitored (start date: fengkong's "
               "assumption, confirm with compliance)", monitor_above=0.12),
))

PRIVATE_LENDING = DatedTable("private_lending", (
    DatedValue(max(entry.effective_from, _PRIVATE_LENDING_START), round(4 * entry.value, 6),
               f"{_PRIVATE_LENDING_SOURCE} ({entry.value:.2%} from "
               f"{entry.effective_from.isoformat()})")
    for entry in ONE_YEAR_LPR.entries))

INTERNET_CONSUMER_LOAN = DatedTable("internet_consumer_loan", (
    DatedValue(date(2020, 7, 17), 200_000.0,
               "Interim Measures for the Administration of Internet Loans of Commercial "
               "Banks (CBIRC order 2020 No. 9): consumer credit of at most RMB 200,000 per "
               "borrower"),
))

RATE_CAPS = {table.name: table for table in (CONSUMER_FINANCE, PRIVATE_LENDING)}
BORROWER_CAPS = {INTERNET_CONSUMER_LOAN.name: INTERNET_CONSUMER_LOAN}

__all__ = ["BORROWER_CAPS", "CONSUMER_FINANCE", "INTERNET_CONSUMER_LOAN", "ONE_YEAR_LPR",
           "PRIVATE_LENDING", "RATE_CAPS", "DatedTable", "DatedValue"]
