"""The synthetic generator: valid identities, well-formed event tables, determinism, and
behaviour that gives credit and fraud variables their signal."""

from __future__ import annotations

import datetime as dt
import ipaddress
import time
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from fengkong.datasets import SyntheticData, generate
from fengkong.datasets.identities import CARD_BINS, DAY_MS, MOBILE_PREFIXES
from fengkong.errors import FengkongError

EVENT_TABLES = ("applications", "logins", "repayments", "overdues")


@pytest.fixture(scope="module")
def data() -> SyntheticData:
    return generate(applicants=5_000, seed=11)


# -- independent checkers (oracles for the vectorised generators) --------------------------

def ric_is_valid(number: str) -> bool:
    """GB 11643-1999 check, written plainly, or python-stdnum's when it is installed (which
    also checks that the district code was in use in the year of birth)."""
    try:
        from stdnum.cn import ric
    except ImportError:
        if len(number) != 18 or not number[:17].isdigit():
            return False
        total = sum(int(digit) * (2 ** (17 - i) % 11) for i, digit in enumerate(number[:17]))
        return "10X98765432"[total % 11] == number[17]
    return bool(ric.is_valid(number))


def luhn_is_valid(number: str) -> bool:
    digits = [int(digit) for digit in reversed(number)]
    total = sum(digits[0::2]) + sum(sum(divmod(2 * digit, 10)) for digit in digits[1::2])
    return total % 10 == 0


def test_checkers_agree_with_published_examples() -> None:
    # The example of the standard itself, and python-stdnum's documented example.
    assert ric_is_valid("11010519491231002X")
    assert ric_is_valid("360426199101010071")
    assert not ric_is_valid("110105194912310021")
    assert not ric_is_valid("11010519491231002")
    assert luhn_is_valid("79927398713")
    assert not luhn_is_valid("79927398710")


def windowed_counts(keys: NDArray[np.str_], ts: NDArray[np.int64], days: int) -> NDArray[np.int64]:
    """Events with the same key in the ``days`` days up to and including each event."""
    _, code = np.unique(keys, return_inverse=True)
    combined = code.astype(np.int64) * 10**13 + ts
    ordered = np.sort(combined)
    return (np.searchsorted(ordered, combined, side="right")
            - np.searchsorted(ordered, combined - days * DAY_MS, side="left"))


# -- identities ------------------------------------------------------------------------------

def test_id_numbers_are_valid_and_agree_with_age_gender_and_birth_date(data: SyntheticData) -> None:
    people = data.applicants
    assert len(set(people.id_number.tolist())) == len(people)
    start = dt.date(2025, 1, 1)
    for number, age, gender, birth in zip(people.id_number.tolist(), people.age.tolist(),
                                          people.gender.tolist(), people.birth_date.tolist(),
                                          strict=True):
        assert ric_is_valid(number), number
        born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
        assert born == birth
        assert start.year - born.year - ((start.month, start.day) < (born.month, born.day)) == age
        assert 18 <= age <= 60
        assert gender == ("M" if int(number[16]) % 2 else "F")


def test_age_is_exact_on_a_leap_day_start() -> None:
    people = generate(applicants=3_000, seed=3, start="2024-02-29", days=30).applicants
    start = dt.date(2024, 2, 29)
    for age, born in zip(people.age.tolist(), people.birth_date.tolist(), strict=True):
        assert start.year - born.year - ((start.month, start.day) < (born.month, born.day)) == age


def test_phones_cards_devices_and_names_look_real(data: SyntheticData) -> None:
    people = data.applicants
    for phone in people.phone.tolist():
        assert len(phone) == 11 and int(phone[:3]) in MOBILE_PREFIXES
    for card in people.card.tolist():
        assert len(card) == 19 and int(card[:6]) in CARD_BINS and luhn_is_valid(card)
    assert len(set(people.card.tolist())) == len(people)
    ordinary = people.ring_id == 0
    assert len(set(people.phone[ordinary].tolist())) == int(ordinary.sum())
    assert all(len(device) == 16 for device in people.device_id.tolist())
    assert all(2 <= len(name) <= 3 for name in people.name.tolist())
    income = people.monthly_income
    assert 3_000 < np.median(income) < 12_000 and income.min() > 0


def test_ip_addresses_mix_public_and_private(data: SyntheticData) -> None:
    addresses = [ipaddress.IPv4Address(ip) for ip in data.logins.ip.tolist()]
    private = np.mean([address.is_private for address in addresses])
    assert 0.03 < private < 0.15
    assert not any(ipaddress.IPv4Address(ip).is_private for ip in data.applicants.home_ip.tolist())


def test_identities_are_stable_over_time(data: SyntheticData) -> None:
    people = data.applicants
    apps = data.applications
    who = apps.applicant_id - 1
    assert (apps.id_number == people.id_number[who]).all()
    ordinary = people.ring_id[who] == 0
    assert (apps.card[ordinary] == people.card[who[ordinary]]).all()
    expected_phone = np.where(
        (people.phone_changed_ts[who] > 0) & (apps.ts >= people.phone_changed_ts[who]),
        people.new_phone[who], people.phone[who])
    assert (apps.phone[ordinary] == expected_phone[ordinary]).all()
    changed = people.phone_changed_ts > 0
    assert 0.02 < changed.mean() < 0.12
    assert (people.new_phone[~changed] == "").all()


def test_families_share_home_ip_and_often_a_device(data: SyntheticData) -> None:
    people = data.applicants
    ordinary = people.ring_id == 0
    households, size = np.unique(people.household_id[ordinary], return_counts=True)
    assert 0.1 < (size > 1).mean() < 0.5
    household_and_ip = np.unique(
        np.char.add(people.household_id[ordinary].astype(str), people.home_ip[ordinary]))
    assert len(household_and_ip) == len(households)  # one home IP per household
    devices_shared = len(people.device_id[ordinary]) - len(np.unique(people.device_id[ordinary]))
    assert devices_shared > 0.05 * (size > 1).sum()


def test_emergency_contacts_are_family_or_friends(data: SyntheticData) -> None:
    people, apps = data.applicants, data.applications
    who = apps.applicant_id - 1
    ordinary = people.ring_id[who] == 0
    household_of_phone = dict(zip(people.phone.tolist(), people.household_id.tolist(),
                                  strict=True))
    family_contact = 0
    for contact, household in zip(apps.contact_phone[ordinary].tolist(),
                                  people.household_id[who[ordinary]].tolist(), strict=True):
        relative = household_of_phone.get(contact)
        # A contact who applies too is family; anyone else is a friend outside the data.
        assert relative in (None, household)
        family_contact += relative == household
    assert 0.3 < family_contact / int(ordinary.sum()) < 0.7
    # Children share the family surname, so family members often share one.
    ordinary_people = people.ring_id == 0
    household = people.household_id[ordinary_people]
    surname = np.array([name[0] for name in people.name[ordinary_people].tolist()])
    in_family = np.bincount(household)[household] > 1
    _, same_surname, counts = np.unique(np.char.add(household.astype(str), surname),
                                        return_inverse=True, return_counts=True)
    assert (counts[same_surname] > 1)[in_family].mean() > 0.5


# -- event tables ----------------------------------------------------------------------------

def test_event_ids_are_unique_and_timestamps_sorted_inside_the_window(data: SyntheticData) -> None:
    ids = np.concatenate([getattr(data, name).event_id for name in EVENT_TABLES])
    assert len(np.unique(ids)) == len(ids)
    for name in EVENT_TABLES:
        table = getattr(data, name)
        assert len(table) > 0
        assert (np.diff(table.ts) >= 0).all(), name
        assert (np.diff(table.event_id) > 0).all(), name
        assert table.ts.min() >= data.start_ts and table.ts.max() < data.end_ts, name
    assert data.end_ts - data.start_ts == 365 * DAY_MS


def test_loans_repayments_and_labels_line_up(data: SyntheticData) -> None:
    apps, labels, paid, overdue = data.applications, data.labels, data.repayments, data.overdues
    assert (labels.loan_id == apps.event_id).all()
    assert (labels.applicant_id == apps.applicant_id).all()
    row = np.searchsorted(apps.event_id, paid.loan_id)
    assert (apps.event_id[row] == paid.loan_id).all()
    assert (paid.applicant_id == apps.applicant_id[row]).all()
    assert (paid.due_ts > apps.ts[row]).all()
    assert (paid.ts == paid.paid_ts).all()
    late = paid.paid_ts > paid.due_ts
    assert (paid.days_past_due[~late] == 0).all()
    expected = -((paid.due_ts[late] - paid.paid_ts[late]) // DAY_MS)
    assert (paid.days_past_due[late] == expected).all()
    assert (overdue.ts == overdue.due_ts + DAY_MS).all()
    assert set(apps.term.tolist()) <= {3, 6, 12}
    assert ((apps.amount >= 500) & (apps.amount <= 50_000)).all()
    # Defaults are reached within the performance window of 12 months.
    defaulted = labels.defaulted
    assert (labels.default_ts[defaulted] <= labels.ts[defaulted] + 365 * DAY_MS).all()
    assert (labels.default_ts[~defaulted] == 0).all()


def test_to_rows_and_describe(data: SyntheticData) -> None:
    for table in data.tables().values():
        first = table.to_rows()[0]
        assert list(first) == list(table.columns())
        assert all(isinstance(value, str | int | float | bool | dt.date)
                   for value in first.values())
    rows = data.applications.to_rows()
    assert len(rows) == len(data.applications)
    assert list(rows[0]) == ["event_id", "ts", "applicant_id", "id_number", "phone",
                             "contact_phone", "device_id", "ip", "card", "amount", "term",
                             "channel"]
    assert isinstance(rows[0]["ts"], int) and isinstance(rows[0]["phone"], str)
    summary = data.describe()
    assert summary["applicants"] == 5_000
    for name in EVENT_TABLES:
        assert summary[name] == len(getattr(data, name))
    assert summary["default_rate"] == round(float(data.labels.defaulted.mean()), 4)
    assert 0.02 < summary["default_rate"] < 0.15
    assert 0.01 < summary["fraud_rate"] < 0.05


def test_to_parquet_writes_one_file_per_table_or_asks_for_pyarrow(
    data: SyntheticData, tmp_path: Path
) -> None:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        with pytest.raises(ModuleNotFoundError, match="pyarrow"):
            data.to_parquet(tmp_path)
        return
    written = data.to_parquet(tmp_path)
    assert [path.stem for path in written] == list(data.tables())
    assert pq.read_table(written[1]).num_rows == len(data.applications)


# -- determinism and scale -------------------------------------------------------------------

def _fingerprint(data: SyntheticData) -> list[bytes]:
    return [array.tobytes() for table in data.tables().values()
            for array in table.columns().values()]


def test_same_seed_gives_byte_identical_tables() -> None:
    first = generate(applicants=2_000, seed=7)
    again = generate(applicants=2_000, seed=7)
    other = generate(applicants=2_000, seed=8)
    assert _fingerprint(first) == _fingerprint(again)
    assert _fingerprint(first) != _fingerprint(other)


@pytest.mark.parametrize(
    "arguments",
    [{"applicants": 0}, {"applicants": 2.5}, {"days": 0}, {"seed": -1}, {"fraud_ring_share": 1.0},
     {"fraud_ring_share": -0.1}, {"fraud_ring_share": "2%"}, {"start": "2025-13-01"},
     {"start": 20250101}],
)
def test_bad_parameters_are_named(arguments: dict[str, object]) -> None:
    with pytest.raises(FengkongError) as raised:
        generate(**arguments)  # type: ignore[arg-type]
    assert raised.value.field == next(iter(arguments))


def test_small_and_fraud_free_populations() -> None:
    tiny = generate(applicants=1, days=1, fraud_ring_share=0.0)
    assert len(tiny.applicants) == 1 and tiny.describe()["fraud_rings"] == 0
    assert len(tiny.applications) >= 1


@pytest.mark.slow
def test_a_million_events_in_well_under_a_minute() -> None:
    started = time.perf_counter()
    data = generate(applicants=40_000, seed=1)
    elapsed = time.perf_counter() - started
    assert sum(len(getattr(data, name)) for name in EVENT_TABLES) >= 1_000_000
    assert elapsed < 30


# -- behaviour -------------------------------------------------------------------------------

def test_fraud_rings_apply_in_bursts_with_high_velocity(data: SyntheticData) -> None:
    apps, labels = data.applications, data.labels
    fraud = labels.fraud
    rings, members = np.unique(data.applicants.ring_id[data.applicants.ring_id > 0],
                               return_counts=True)
    assert len(rings) >= 3 and members.min() >= 5 and members.max() <= 30
    for ring in rings:
        ts = apps.ts[labels.ring_id == ring]
        assert ts.max() - ts.min() < 6 * DAY_MS
    per_device = windowed_counts(apps.device_id, apps.ts, 7)
    per_phone = windowed_counts(apps.phone, apps.ts, 7)
    assert per_device[fraud].mean() >= 3 * per_device[~fraud].mean()
    assert per_phone[fraud].mean() >= 2 * per_phone[~fraud].mean()
    contacts = windowed_counts(apps.contact_phone, apps.ts, 7)
    assert contacts[fraud].mean() >= 3 * contacts[~fraud].mean()
    per_card = windowed_counts(apps.card, apps.ts, 7)
    assert per_card[fraud].mean() >= 2 * per_card[~fraud].mean()


def test_fraud_has_high_first_payment_default(data: SyntheticData) -> None:
    labels = data.labels
    assert labels.first_payment_default[labels.fraud].mean() > 0.7
    assert labels.first_payment_default[~labels.fraud].mean() < 0.1


def test_default_risk_follows_income_age_and_prior_overdue() -> None:
    data = generate(applicants=20_000, seed=5, fraud_ring_share=0.0)
    apps, labels, people = data.applications, data.labels, data.applicants
    who = apps.applicant_id - 1
    income = people.monthly_income[who]
    low, high = np.quantile(income, [0.25, 0.75])
    assert labels.defaulted[income <= low].mean() > 1.5 * labels.defaulted[income >= high].mean()
    age = people.age[who]
    assert labels.defaulted[age < 23].mean() > labels.defaulted[(age >= 30) & (age < 45)].mean()
    # An overdue seen before the application (from the overdues event table, as of then).
    overdue = data.overdues
    first_overdue = np.full(len(people), np.iinfo(np.int64).max)
    np.minimum.at(first_overdue, overdue.applicant_id - 1, overdue.ts)
    prior = first_overdue[who] < apps.ts
    assert prior.sum() > 100
    assert labels.defaulted[prior].mean() > 1.5 * labels.defaulted[~prior].mean()
