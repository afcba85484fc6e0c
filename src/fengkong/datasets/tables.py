"""Columnar tables of the synthetic data set: one dataclass of equally long NumPy arrays per
entity or event type.

Columns rather than rows because the consumers (feature backfill, backtests, model
training) work column-wise over millions of events; ``to_rows`` exists for tests, small
examples and feeding the online path one event at a time.

Conventions: timestamps are ``int64`` milliseconds since the Unix epoch (UTC); ids start
at 1 and 0 means "none" (a ``ring_id`` of 0 is an applicant outside any fraud ring); money
is in yuan.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from numpy.typing import NDArray

Ints = NDArray[np.int64]
Floats = NDArray[np.float64]
Bools = NDArray[np.bool_]
Strings = NDArray[np.str_]


@dataclass(frozen=True)
class Table:
    """Base of the tables: the dataclass fields are the columns, in order."""

    def columns(self) -> dict[str, NDArray[Any]]:
        """Column name to array, in declaration order."""
        return {field.name: getattr(self, field.name) for field in fields(self)}

    def __len__(self) -> int:
        return len(next(iter(self.columns().values())))

    def to_rows(self) -> list[dict[str, Any]]:
        """The table as a list of dicts of plain Python values."""
        columns = {name: array.tolist() for name, array in self.columns().items()}
        return [
            dict(zip(columns, values, strict=True))
            for values in zip(*columns.values(), strict=True)
        ]


@dataclass(frozen=True)
class Applicants(Table):
    """The people: stable identities and the attributes that drive their behaviour.

    ``phone`` and ``device_id`` are the ones held at the start of the window; a phone or
    device change shows in the events from ``phone_changed_ts``/``device_changed_ts``
    (0 when it never changes). ``household_id`` groups family members who share a home IP
    and often a device.
    """

    applicant_id: Ints
    name: Strings
    id_number: Strings
    gender: Strings  # "M" / "F", as encoded by the parity of the ID sequence code
    birth_date: NDArray[np.datetime64]
    age: Ints  # whole years at the start of the window
    city: Strings
    monthly_income: Floats
    phone: Strings
    new_phone: Strings
    phone_changed_ts: Ints
    device_id: Strings
    new_device_id: Strings
    device_changed_ts: Ints
    home_ip: Strings
    card: Strings
    household_id: Ints
    ring_id: Ints


@dataclass(frozen=True)
class Applications(Table):
    """Loan applications; every one is booked as a loan whose ``loan_id`` is its
    ``event_id``, so ground truth exists for all of them whatever a strategy would decide."""

    event_id: Ints
    ts: Ints
    applicant_id: Ints
    id_number: Strings
    phone: Strings
    contact_phone: Strings  # the emergency contact (紧急联系人) given on the form
    device_id: Strings
    ip: Strings
    card: Strings  # paid out to; a fraud ring often uses a shared money-mule card
    amount: Floats
    term: Ints  # monthly instalments
    channel: Strings


@dataclass(frozen=True)
class Logins(Table):
    """Login attempts to the lending app, successful or not."""

    event_id: Ints
    ts: Ints
    applicant_id: Ints
    phone: Strings
    device_id: Strings
    ip: Strings
    success: Bools


@dataclass(frozen=True)
class Repayments(Table):
    """Instalments paid within the window; ``ts`` is when the payment arrived (``paid_ts``)."""

    event_id: Ints
    ts: Ints
    applicant_id: Ints
    loan_id: Ints
    due_ts: Ints
    paid_ts: Ints
    amount: Floats
    days_past_due: Ints  # 0 when paid by the due date


@dataclass(frozen=True)
class Overdues(Table):
    """An instalment going past due: ``ts`` is the day after ``due_ts``, whether or not it is
    paid later, so features as of any time see only what was known then."""

    event_id: Ints
    ts: Ints
    applicant_id: Ints
    loan_id: Ints
    due_ts: Ints
    amount: Floats


@dataclass(frozen=True)
class Labels(Table):
    """Ground truth per application (aligned row for row with ``Applications``).

    ``defaulted``: the loan reaches 90 days past due within 12 months of the application,
    at ``default_ts`` (0 if never), which may lie after the window, as a label that matures
    later would. ``first_payment_default``: the first instalment is never paid.
    ``fraud``: the applicant belongs to fraud ring ``ring_id``.
    """

    loan_id: Ints
    ts: Ints
    applicant_id: Ints
    defaulted: Bools
    default_ts: Ints
    first_payment_default: Bools
    fraud: Bools
    ring_id: Ints
