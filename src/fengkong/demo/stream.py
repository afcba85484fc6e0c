"""The applications the demo replays: real credit rows, synthetic people and histories.

A stream is built from two sources:

* **who applies, from where, and what they did before** — a synthetic population from
  :func:`fengkong.datasets.generate` (a different seed from the fraud model's training
  population): ID number, name, sex, phone, emergency contact, device, IP, bank card, and
  their earlier applications, logins and repayments. The replay window starts a few hours
  before a fraud ring's burst, so ring members applying from shared devices and phones are
  in it, among ordinary applicants;
* **what they declare about their finances** — the scorecard's holdout rows of
  ``credit_data`` (income, expenses, assets, debt, home, job, amount, term...), which the
  scorecard never saw. Each application takes the unused row whose age is closest to the
  applicant's, and the applicant's true age (from the ID number) is declared.

A few applications are altered on purpose, at fixed positions, so that every knock-out
fires in a short replay: some identities (ID number, phone or device in turn) go on the
demo's blacklist, and some ID numbers get a wrong check character.

The stream is JSON: ``applications`` (the request ``body``, its time ``at`` in epoch ms,
the ``applicant`` and the ``truth`` the strategy never sees: fraud ring, blacklisted,
malformed ID, the credit row's outcome), ``events`` (the history, ``POST /v1/events``
entries with ``at`` and ``applicant``), ``blacklist`` (the CSV text of the demo's list)
and ``summary``.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import numpy as np

from fengkong.datasets.synthetic import HOUR_MS, SyntheticData
from fengkong.demo.history import EVENT_TYPES, TIMESTAMPS, event_columns, event_records
from fengkong.fraud.identity import age_on, id_check_character

if TYPE_CHECKING:
    import pandas

BEIJING = timezone(timedelta(hours=8))
DAY_MS = 24 * HOUR_MS
BLACKLIST_EVERY, BLACKLIST_FIRST = 40, 9  # positions 9, 49, 89...: on the demo blacklist
BAD_ID_EVERY, BAD_ID_FIRST = 50, 21  # positions 21, 71, 121...: a wrong check character
LEAD_MS = 3 * HOUR_MS  # the window opens this long before the ring's first application
BLACKLIST_KEYS = ("id_number", "phone", "device")
_LIST_REASONS = {"id_number": "L01", "phone": "L02", "device": "L03"}
_LIST_NOTES = {"id_number": "identity theft confirmed", "phone": "used by a fraud ring",
               "device": "emulator farm"}


def beijing_time(epoch_ms: int) -> str:
    """ISO 8601 in Beijing time with milliseconds: ``2026-03-01T09:30:00.123+08:00``."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, UTC).astimezone(BEIJING)
    return moment.isoformat(timespec="milliseconds")


def build_stream(data: SyntheticData, holdout: pandas.DataFrame, size: int, seed: int
                 ) -> dict[str, Any]:
    """The replay stream of up to ``size`` applications (see the module docstring)."""
    columns = event_columns(data)
    apps = columns["application"]
    times = apps["applied_at"]
    start = _window_start(data, times)
    chosen = np.flatnonzero(times >= start)
    chosen = chosen[np.argsort(times[chosen], kind="stable")][:size]
    rows = _usable(holdout)
    if len(chosen) > len(rows):
        chosen = chosen[:len(rows)]  # one holdout row per application
    people = data.applicants
    person_row = {int(a): i for i, a in enumerate(people.applicant_id.tolist())}
    fraud = dict(zip(data.labels.loan_id.tolist(), data.labels.fraud.tolist(), strict=True))

    applications: list[dict[str, Any]] = []
    blacklist: list[tuple[str, str]] = []
    taken = np.zeros(len(rows), dtype=bool)
    ages = rows["Age"].to_numpy(dtype=np.float64)
    for position, row in enumerate(chosen.tolist()):
        person = person_row[int(apps["applicant_id"][row])]
        at = int(times[row])
        birth = date.fromisoformat(str(people.birth_date[person]))
        age = age_on(birth, datetime.fromtimestamp(at / 1000, BEIJING).date())
        # The unused credit row closest in age: the declared finances fit the applicant.
        distance = np.where(taken, np.inf, np.abs(ages - age))
        credit = int(np.argmin(distance))
        taken[credit] = True
        body = _application(position, at, apps, row, people, person, age,
                            rows.iloc[credit])
        truth: dict[str, Any] = {"fraud": bool(fraud[int(apps["event_id"][row])]),
                                 "ring": int(people.ring_id[person]),
                                 "creditBad": bool(rows["Status"].iloc[credit]),
                                 "blacklisted": None, "malformedId": False}
        # Ring members are left off: a listed ring device would stop the whole ring before
        # the velocity rules and the fraud model show what they catch.
        if position % BLACKLIST_EVERY == BLACKLIST_FIRST and not truth["fraud"]:
            key = BLACKLIST_KEYS[(position // BLACKLIST_EVERY) % len(BLACKLIST_KEYS)]
            value = {"id_number": body["applicant"]["idNumber"],
                     "phone": body["applicant"]["phone"], "device": body["device"]["id"]}[key]
            blacklist.append((key, value))
            truth["blacklisted"] = key
        elif position % BAD_ID_EVERY == BAD_ID_FIRST:
            number = body["applicant"]["idNumber"]
            right = id_check_character(number[:17])
            wrong = "0123456789X"[("0123456789X".index(right) + 1) % 11]
            body["applicant"]["idNumber"] = number[:17] + wrong
            truth["malformedId"] = True
        applications.append({"body": body, "at": at,
                             "applicant": int(apps["applicant_id"][row]), "truth": truth})

    events = _history(columns, {entry["applicant"] for entry in applications},
                      {int(apps["event_id"][row]) for row in chosen.tolist()},
                      applications[-1]["at"] if applications else start)
    summary = {"applications": len(applications), "events": len(events),
               "window_start": beijing_time(start),
               "fraud": sum(entry["truth"]["fraud"] for entry in applications),
               "blacklisted": len(blacklist),
               "malformed_id": sum(entry["truth"]["malformedId"] for entry in applications),
               "seed": seed}
    return {"applications": applications, "events": events,
            "blacklist": _blacklist_csv(blacklist, data.start_ts), "summary": summary}


def _window_start(data: SyntheticData, times: np.ndarray) -> int:
    """A few hours before the burst of the largest fraud ring that starts after the first
    quarter of the window (so that everyone has some history) and before its last month;
    the last month when no ring qualifies."""
    labels = data.labels
    earliest = data.start_ts + (data.end_ts - data.start_ts) // 4
    latest = data.end_ts - 30 * DAY_MS
    best: tuple[int, int] | None = None
    for ring in np.unique(labels.ring_id[labels.ring_id > 0]).tolist():
        ring_times = times[labels.ring_id == ring]
        first = int(ring_times.min())
        if earliest <= first <= latest and (best is None or len(ring_times) > best[0]):
            best = (len(ring_times), first)
    return best[1] - LEAD_MS if best is not None else latest


def _usable(holdout: pandas.DataFrame) -> pandas.DataFrame:
    """Holdout rows an application form could carry: income is a required field (pricing
    needs it), so rows without one are left out."""
    return holdout[holdout["Income"].notna()].reset_index(drop=True)


def _number(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) \
        else float(value)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _application(position: int, at: int, apps: dict[str, Any], row: int, people: Any,
                 person: int, age: int, credit: Any) -> dict[str, Any]:
    """The request body: the form a loan-origination system sends."""
    income = _number(credit["Income"])
    return {
        "applicationId": f"DEMO-{position + 1:06d}",
        "appliedAt": beijing_time(at),
        "channel": str(apps["channel"][row]),
        "applicant": {
            "name": str(people.name[person]),
            "idNumber": str(apps["id_number"][row]),
            "sex": str(people.gender[person]),
            "age": age,
            "phone": str(apps["phone"][row]),
            "contactPhone": str(apps["contact_phone"][row]),
            "monthlyIncome": round(income) if income is not None else None,
            "monthlyExpenses": round(float(credit["Expenses"])),
            "assets": _rounded(credit["Assets"]),
            "debt": _rounded(credit["Debt"]),
            "home": _text(credit["Home"]),
            "marital": _text(credit["Marital"]),
            "job": _text(credit["Job"]),
            "employmentYears": int(credit["Seniority"]),
            "publicRecords": credit["Records"] == "yes",
        },
        "device": {"id": str(apps["device"][row]), "ip": str(apps["ip"][row])},
        "bankCard": str(apps["card"][row]),
        "loan": {"amount": round(float(credit["Amount"])),
                 "termMonths": int(credit["Time"]),
                 "purchasePrice": round(float(credit["Price"]))},
    }


def _rounded(value: Any) -> int | None:
    number = _number(value)
    return None if number is None else round(number)


def _history(columns: dict[str, dict[str, Any]], applicants: set[int], replayed: set[int],
             until: int) -> list[dict[str, Any]]:
    """Every event of the replayed applicants before the last replayed application, in
    time order, except the replayed applications themselves (those are decisions)."""
    events: list[dict[str, Any]] = []
    wanted = np.array(sorted(applicants), dtype=np.int64)
    for event_type in EVENT_TYPES:
        table = columns[event_type]
        keep = np.isin(table["applicant_id"], wanted) & (table[TIMESTAMPS[event_type]] < until)
        if event_type == "application":
            keep &= ~np.isin(table["event_id"], np.array(sorted(replayed), dtype=np.int64))
        rows = np.flatnonzero(keep)
        for record, applicant in zip(event_records(table, event_type, rows),
                                     table["applicant_id"][rows].tolist(), strict=True):
            record["applicant"] = applicant
            events.append(record)
    events.sort(key=lambda event: (event["at"], event["id"]))
    return events


def _blacklist_csv(entries: list[tuple[str, str]], start_ts: int) -> str:
    added = datetime.fromtimestamp(start_ts / 1000, BEIJING).date().isoformat()
    lines = ["# The demo's blacklist: identities the replay puts on it on purpose, so that",
             "# the list check fires (written by fengkong demo's prepare step).",
             "# kind: black",
             "type,value,reason,added,expires,note"]
    lines += [f"{key},{value},{_LIST_REASONS[key]},{added},,{_LIST_NOTES[key]}"
              for key, value in entries]
    return "\n".join(lines) + "\n"


__all__ = ["beijing_time", "build_stream"]
