"""The synthetic generator's tables as the consumer-loan project's events.

The generator (:func:`fengkong.datasets.synthetic.generate`) writes applications, logins and
repayments in its own columns; the project's feature spec
(``examples/consumer-loan/features/events.yaml``) names them as a loan-origination system
would send them: ``applied_at``, ``device``, ``term_months``, ``hour``... This module does
that renaming once, for both uses:

* the **offline** history of the fraud model's training population, written as one Parquet
  event log per type for :func:`fengkong.features.backfill.backfill_files`;
* the **online** history of the replayed applicants, sent as JSON events to
  ``POST /v1/events`` (:func:`event_records`).

Because both come from the same columns, a replayed application's features can be checked
against the backfill of the same events (``tests/demo``).

The generator places its hours of day (people borrow after work, rings at night) on UTC
days. The events are shifted eight hours earlier so that those hours are Beijing hours: a
generator "03:00" is 03:00 in Beijing, where the ``hour < 6`` night filters look for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from fengkong.datasets.synthetic import HOUR_MS, SyntheticData

BEIJING_MS = 8 * HOUR_MS
EVENT_TYPES = ("application", "login", "repayment")
# Each event type's timestamp field in the project's spec (features/events.yaml).
TIMESTAMPS = {"application": "applied_at", "login": "logged_in_at", "repayment": "paid_at"}

Columns = dict[str, NDArray[Any]]


def _beijing(ts: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Event times shifted so that the generator's hour of day is the Beijing hour, and
    that hour."""
    shifted = ts - BEIJING_MS
    return shifted, ((shifted + BEIJING_MS) // HOUR_MS) % 24


def event_columns(data: SyntheticData) -> dict[str, Columns]:
    """The generator's events as the project's event types, column by column, each table
    in time order with its generator ``event_id`` and ``applicant_id`` (extra columns the
    feature spec ignores)."""
    people = data.applicants
    by_person = {int(applicant): row for row, applicant in enumerate(people.applicant_id)}

    apps = data.applications
    applied_at, app_hour = _beijing(apps.ts)
    application: Columns = {
        "event_id": apps.event_id, "applicant_id": apps.applicant_id,
        "applied_at": applied_at, "id_number": apps.id_number, "phone": apps.phone,
        "contact_phone": apps.contact_phone, "device": apps.device_id, "ip": apps.ip,
        "card": apps.card, "amount": apps.amount, "term_months": apps.term.astype(np.float64),
        "channel": apps.channel, "hour": app_hour.astype(np.float64),
        # Every generated application was booked as a loan.
        "approved": np.ones(len(apps), dtype=bool)}

    logins = data.logins
    login_rows = _rows_of(by_person, logins.applicant_id)
    logged_in_at, login_hour = _beijing(logins.ts)
    login: Columns = {
        "event_id": logins.event_id, "applicant_id": logins.applicant_id,
        "logged_in_at": logged_in_at, "id_number": people.id_number[login_rows],
        "phone": logins.phone, "device": logins.device_id, "ip": logins.ip,
        "success": logins.success, "hour": login_hour.astype(np.float64)}

    paid = data.repayments
    paid_rows = _rows_of(by_person, paid.applicant_id)
    # The phone the borrower held when paying, and the card the loan was paid out to.
    changed = people.phone_changed_ts[paid_rows]
    phone = np.where((changed > 0) & (paid.ts >= changed), people.new_phone[paid_rows],
                     people.phone[paid_rows])
    loan_row = np.searchsorted(apps.event_id, paid.loan_id)
    paid_at, _ = _beijing(paid.ts)
    repayment: Columns = {
        "event_id": paid.event_id, "applicant_id": paid.applicant_id, "paid_at": paid_at,
        "id_number": people.id_number[paid_rows], "phone": phone,
        "card": apps.card[loan_row], "amount": paid.amount,
        "days_past_due": paid.days_past_due.astype(np.float64)}
    return {"application": application, "login": login, "repayment": repayment}


def _rows_of(by_person: dict[int, int], applicant_ids: NDArray[np.int64]) -> NDArray[np.int64]:
    return np.array([by_person[a] for a in applicant_ids.tolist()], dtype=np.int64)


def write_event_logs(columns: dict[str, Columns], folder: Path) -> dict[str, Path]:
    """One Parquet event log per type (``application.parquet``...), as the backfill reads."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for event_type, table in columns.items():
        path = folder / f"{event_type}.parquet"
        pq.write_table(pa.table(dict(table)), path)
        paths[event_type] = path
    return paths


def event_records(columns: Columns, event_type: str, rows: NDArray[np.int64]
                  ) -> list[dict[str, Any]]:
    """``POST /v1/events`` entries (``{"id", "type", "data", "at"}``) for the given rows of
    one event table; ``at`` is the time in epoch ms (the replay orders by it; the service
    ignores it). Ids are the generator's event ids, unique across the event types."""
    fields = [name for name in columns if name not in ("event_id", "applicant_id")]
    values = {name: columns[name][rows].tolist() for name in fields}
    ids = columns["event_id"][rows].tolist()
    timestamp = TIMESTAMPS[event_type]
    return [{"id": f"E{ids[i]}", "type": event_type, "at": values[timestamp][i],
             "data": {name: values[name][i] for name in fields}}
            for i in range(len(ids))]


__all__ = ["BEIJING_MS", "EVENT_TYPES", "TIMESTAMPS", "event_columns", "event_records",
           "write_event_logs"]
