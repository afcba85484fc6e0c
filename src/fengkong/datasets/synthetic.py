"""Seeded synthetic lending data: applicants, their events, and the truth about them.

``generate`` builds a population of applicants with stable Chinese identities, lets them
apply for loans, log in and repay over a window of days, and records what really
happened: which loans defaulted and which applicants belong to fraud rings. Backtests,
feature backfills and anti-fraud work use it where real data is unavailable, too small,
or has no ground truth.

Everything is vectorised NumPy: the only Python loop runs over "n-th loan of an applicant"
levels (a handful), because a loan's risk depends on overdues of the applicant's earlier
loans. One seed gives byte-identical tables; each stage draws from its own child seed so a
change in one stage does not reshuffle the others.

The behaviour is chosen so that the usual credit and anti-fraud variables carry signal:

* default risk rises with low income, youth, a large loan relative to income, and an
  overdue on an earlier loan, plus a per-applicant frailty nobody observes;
* family members share a home IP and often a device, so some sharing is innocent;
* fraud rings (5-30 members) apply within a burst of a few days from a small pool of
  devices, IPs and phones, mostly at night, for large amounts, and never pay: their
  velocity per device and phone is high and their first-payment default near certain.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from fengkong.datasets import identities
from fengkong.datasets.identities import DAY_MS
from fengkong.datasets.tables import (
    Applicants,
    Applications,
    Bools,
    Floats,
    Ints,
    Labels,
    Logins,
    Overdues,
    Repayments,
    Strings,
    Table,
)
from fengkong.errors import FengkongError

HOUR_MS = 3_600_000
MINUTE_MS = 60_000
INSTALMENT_DAYS = 30
DEFAULT_DAYS_PAST_DUE = 90  # the usual "bad" definition: 90+ days past due ...
PERFORMANCE_DAYS = 365  # ... within 12 months of the application
CHANNELS = ("app", "h5", "mini_program", "partner_api")

# Share of activity per hour of day: people borrow after work and at lunch; fraud farms
# work through the night.
_HOURS_PEOPLE = np.array(
    [1, 0.6, 0.4, 0.3, 0.3, 0.5, 1, 2, 3, 4, 5, 5, 6, 5, 4, 4, 4, 4, 5, 6, 7, 7, 5, 3], float
)
_HOURS_FRAUD = np.array(
    [6, 7, 7, 6, 5, 4, 2, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 4, 5, 5, 6, 6], float
)


@dataclass(frozen=True)
class SyntheticData:
    """One generated data set: the applicants, four event tables and the ground truth."""

    start_ts: int  # window start, epoch milliseconds (inclusive)
    end_ts: int  # window end, epoch milliseconds (exclusive)
    applicants: Applicants
    applications: Applications
    logins: Logins
    repayments: Repayments
    overdues: Overdues
    labels: Labels

    def tables(self) -> dict[str, Table]:
        """Every table by name, applicants first."""
        return {
            "applicants": self.applicants,
            "applications": self.applications,
            "logins": self.logins,
            "repayments": self.repayments,
            "overdues": self.overdues,
            "labels": self.labels,
        }

    def describe(self) -> dict[str, int | float]:
        """Counts and rates: population, events per type, default and fraud rates."""
        labels = self.labels
        rings = self.applicants.ring_id
        return {
            "applicants": len(self.applicants),
            "fraud_rings": len(np.unique(rings[rings > 0])),
            "fraud_applicants": int((rings > 0).sum()),
            "applications": len(self.applications),
            "logins": len(self.logins),
            "repayments": len(self.repayments),
            "overdues": len(self.overdues),
            "default_rate": _rate(labels.defaulted),
            "first_payment_default_rate": _rate(labels.first_payment_default),
            "fraud_rate": _rate(labels.fraud),
            "login_failure_rate": _rate(~self.logins.success),
        }

    def to_parquet(self, directory: str | Path) -> list[Path]:
        """Write one Parquet file per table into ``directory``; needs ``pyarrow``."""
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError as missing:
            raise ModuleNotFoundError(
                "SyntheticData.to_parquet needs pyarrow (pip install pyarrow)"
            ) from missing
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for name, table in self.tables().items():
            path = folder / f"{name}.parquet"
            pq.write_table(pa.table(table.columns()), path)
            written.append(path)
        return written


def _rate(flags: Bools) -> float:
    return round(float(flags.mean()), 4) if len(flags) else 0.0


def generate(
    applicants: int = 10_000,
    days: int = 365,
    seed: int = 0,
    fraud_ring_share: float = 0.02,
    start: str = "2025-01-01",
) -> SyntheticData:
    """Generate a synthetic lending data set.

    ``applicants`` people act over ``days`` days from ``start`` (an ISO date, UTC); about
    ``fraud_ring_share`` of them are fraud-ring members (up to four fewer, as a ring has at
    least five). The same arguments give byte-identical tables under the same NumPy
    version (NumPy keeps its random streams stable within a version, not across them).
    """
    if isinstance(applicants, bool) or not isinstance(applicants, int) or applicants < 1:
        raise FengkongError(f"applicants must be a positive integer, got {applicants!r}",
                            field="applicants")
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise FengkongError(f"days must be a positive integer, got {days!r}", field="days")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise FengkongError(f"seed must be a non-negative integer, got {seed!r}", field="seed")
    if (isinstance(fraud_ring_share, bool) or not isinstance(fraud_ring_share, int | float)
            or not 0 <= fraud_ring_share < 1):
        raise FengkongError(f"fraud_ring_share must be in [0, 1), got {fraud_ring_share!r}",
                            field="fraud_ring_share")
    try:
        if not isinstance(start, str):
            raise ValueError(start)
        start_day = np.datetime64(start, "D")
    except ValueError as bad_date:
        raise FengkongError(f"start must be an ISO date, got {start!r}", field="start") from (
            bad_date
        )
    window = _Window(start_day, days)
    streams = [np.random.default_rng(child) for child in np.random.SeedSequence(seed).spawn(4)]
    people = _population(streams[0], applicants, fraud_ring_share, window)
    applications = _applications(streams[1], people, window)
    loans = _loans(streams[2], people, applications)
    instalments = _instalments(streams[2], applications, loans, window)
    logins = _logins(streams[3], people, applications, instalments, window)
    return _assemble(window, people, applications, loans, instalments, logins)


class _Window:
    """The observation window [start_ts, end_ts)."""

    def __init__(self, start_day: np.datetime64, days: int) -> None:
        self.start_day = start_day
        self.days = days
        self.start_ts = int(start_day.astype("datetime64[ms]").astype(np.int64))
        self.end_ts = self.start_ts + days * DAY_MS

    def times(self, rng: np.random.Generator, day: Ints, fraud: Bools) -> Ints:
        """Timestamps on the given day offsets, at hours typical of people or fraudsters."""
        hours = np.where(
            fraud,
            rng.choice(24, len(day), p=_HOURS_FRAUD / _HOURS_FRAUD.sum()),
            rng.choice(24, len(day), p=_HOURS_PEOPLE / _HOURS_PEOPLE.sum()),
        )
        return self.start_ts + day * DAY_MS + hours * HOUR_MS + rng.integers(0, HOUR_MS, len(day))


@dataclass(frozen=True)
class _Population:
    """Applicants plus what only the simulation knows: rings' shared pools, contacts."""

    table: Applicants
    frailty: Floats  # unobserved per-applicant risk
    contact_phone: Strings  # emergency contact of applicants outside rings
    ring_burst_day: Ints  # per ring (index 0 unused): first day of its application burst
    ring_burst_days: Ints
    ring_devices: _Pool
    ring_ips: _Pool
    ring_phones: _Pool
    ring_cards: _Pool  # money-mule cards that receive the ring's loans
    mobile_ips: Strings  # carrier NAT exits shared by everyone on mobile data

    @property
    def fraud(self) -> Bools:
        return self.table.ring_id > 0


@dataclass(frozen=True)
class _Pool:
    """Per-ring pools of shared values, flattened: ring r owns values[start[r]:start[r]+size[r]]."""

    values: Strings
    start: Ints
    size: Ints

    def pick(self, rng: np.random.Generator, ring: Ints) -> Strings:
        return self.values[self.start[ring] + rng.integers(0, self.size[ring])]


def _pool(values: Strings, size: Ints) -> _Pool:
    start = np.concatenate([[0], np.cumsum(size)[:-1]]).astype(np.int64)
    return _Pool(values, start, size)


def _group_rank(groups: Ints) -> Ints:
    """Position of each element within its run of equal ``groups`` values (sorted input)."""
    index = np.arange(len(groups))
    starts = np.flatnonzero(np.diff(groups, prepend=groups[:1] - 1))
    return index - np.repeat(starts, np.diff(np.append(starts, len(groups))))


def _birth_days(rng: np.random.Generator, start_day: np.datetime64, age: Ints) -> Ints:
    """Birth dates (days since epoch) that make each person exactly ``age`` at ``start_day``."""
    start_month = start_day.astype("datetime64[M]")
    day_of_month = int((start_day - start_month).astype(np.int64))

    def years_before(years: Ints) -> NDArray[np.datetime64]:
        # Same calendar day ``years`` earlier, clamped to the month's end (29 Feb).
        month = start_month - (years * 12).astype("timedelta64[M]")
        month_days = ((month + 1).astype("datetime64[D]") - month.astype("datetime64[D]"))
        offset = np.minimum(day_of_month, month_days.astype(np.int64) - 1)
        return month.astype("datetime64[D]") + offset.astype("timedelta64[D]")

    latest = years_before(age).astype(np.int64)
    earliest = years_before(age + 1).astype(np.int64) + 1
    return earliest + rng.integers(0, latest - earliest + 1)


def _fraud_rings(rng: np.random.Generator, count: int, fraud_ring_share: float) -> Ints:
    """Ring id of each applicant (0 outside rings).

    Rings have 5-30 members; the last one takes what is left of the requested share, unless
    fewer than five remain.
    """
    wanted = round(count * fraud_ring_share)
    sizes = rng.integers(5, 31, wanted // 5 + 1)
    sizes = sizes[np.cumsum(sizes) <= wanted]
    if wanted - sizes.sum() >= 5:
        sizes = np.append(sizes, wanted - sizes.sum())
    ring_id = np.zeros(count, np.int64)
    ring_id[rng.permutation(count)[: sizes.sum()]] = np.repeat(np.arange(1, len(sizes) + 1), sizes)
    return ring_id


@dataclass(frozen=True)
class _Households:
    """Families of 1-4 people outside the rings; ring members live alone as far as the data
    shows."""

    household_id: Ints  # 1-based; the first ``count`` ids are families, then ring members
    count: int  # families (ring members' one-person households not included)
    head: Ints  # 0-based applicant heading each applicant's household (themselves if alone)
    relative: Ints  # 0-based another member of the family, or -1 for people living alone


def _households(rng: np.random.Generator, ring_id: Ints) -> _Households:
    applicants = len(ring_id)
    people = rng.permutation(np.flatnonzero(ring_id == 0))
    sizes = rng.choice([1, 2, 3, 4], len(people), p=[0.7, 0.18, 0.08, 0.04])
    family = np.searchsorted(np.cumsum(sizes), np.arange(len(people)), side="right")
    families = int(family[-1]) + 1 if len(people) else 0
    household_id = np.zeros(applicants, np.int64)
    household_id[people] = family + 1
    household_id[ring_id > 0] = families + 1 + np.arange(int((ring_id > 0).sum()))
    first = np.searchsorted(family, family)  # position of the family's first member
    last = np.searchsorted(family, family, side="right") - 1
    head = np.arange(applicants)
    head[people] = people[first]
    # The head names the next member; everyone else names the head.
    relative = np.full(applicants, -1)
    position = np.arange(len(people))
    is_head = position == first
    relative[people] = np.where(is_head, people[np.minimum(position + 1, last)], people[first])
    relative[people[first == last]] = -1
    return _Households(household_id, families, head, relative)


@dataclass(frozen=True)
class _Documents:
    """What an ID card says, plus name and city."""

    id_number: Strings
    male: Bools
    birth_days: Ints
    age: Ints
    city: Strings


def _documents(rng: np.random.Generator, count: int, start_day: np.datetime64) -> _Documents:
    region_weights = np.array([weight for _, weight, _ in identities.REGIONS])
    region = rng.choice(len(identities.REGIONS), count, p=region_weights / region_weights.sum())
    city = np.array([city for city, _, _ in identities.REGIONS])[region]
    age = np.clip(np.round(rng.normal(33, 9, count)), 18, 60).astype(np.int64)
    birth_days = _birth_days(rng, start_day, age)
    birth_year = birth_days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    region_code = identities.region_codes(region, birth_year)
    male = rng.random(count) < 0.55  # online borrowers skew male
    # The 3-digit sequence code must be unique per region and birth date, odd for men:
    # number people within each (region, birth date) group from a random group offset.
    order = np.lexsort((birth_days, region_code))
    rank = np.empty(count, np.int64)
    rank[order] = _group_rank(region_code[order] * 100_000 + birth_days[order])
    offset = rng.integers(0, 499, count)
    group_offset = np.empty(count, np.int64)
    group_offset[order] = offset[order][np.arange(count) - rank[order]]
    sequence = 2 * ((group_offset + rank) % 499) + np.where(male, 1, 2)
    id_number = identities.resident_id_numbers(region_code, birth_days, sequence)
    return _Documents(id_number, male, birth_days, age, city)


def _population(
    rng: np.random.Generator, count: int, fraud_ring_share: float, window: _Window
) -> _Population:
    ring_id = _fraud_rings(rng, count, fraud_ring_share)
    fraud = ring_id > 0
    rings = int(ring_id.max())
    families = _households(rng, ring_id)
    documents = _documents(rng, count, window.start_day)
    in_family = families.relative >= 0
    not_head = families.head != np.arange(count)

    # Children take the family surname; spouses (and some others) keep their own.
    surname = identities.surnames(rng, count)
    takes_surname = not_head & (rng.random(count) < 0.6)
    surname[takes_surname] = surname[families.head[takes_surname]]
    name = np.char.add(surname, identities.given_names(rng, count))

    first_tier = np.isin(documents.city, ["北京", "上海", "广州", "深圳"])
    income_median = (5500 * np.where(first_tier, 1.35, 1.0)
                     * (1 + 0.02 * (np.minimum(documents.age, 45) - 30)))
    monthly_income = np.round(income_median * rng.lognormal(0, 0.55, count), -1)

    # Contact points, drawn distinct across everyone. A minority change phone or device
    # during the window.
    phone_changes = ~fraud & (rng.random(count) < 0.06)
    device_changes = ~fraud & (rng.random(count) < 0.15)
    ring_device_size = rng.integers(2, 5, rings + 1)
    ring_ip_size = rng.integers(1, 4, rings + 1)
    ring_phone_size = rng.integers(1, 4, rings + 1)
    ring_card_size = rng.integers(1, 3, rings + 1)
    living_alone = ~fraud & ~in_family
    phone, new_phones, ring_phones, friends = _split(
        identities.mobile_numbers(rng, count + int(phone_changes.sum())
                                  + int(ring_phone_size.sum()) + int(living_alone.sum())),
        count, int(phone_changes.sum()), int(ring_phone_size.sum()))
    new_phone = np.full(count, "", "U11")
    new_phone[phone_changes] = new_phones
    device_id, new_devices, ring_devices = _split(
        identities.device_ids(rng, count + int(device_changes.sum())
                              + int(ring_device_size.sum())),
        count, int(device_changes.sum()))
    new_device_id = np.full(count, "", "U16")
    new_device_id[device_changes] = new_devices
    # Families often share the phone or tablet they apply from.
    shares_device = in_family & not_head & (rng.random(count) < 0.5)
    device_id[shares_device] = device_id[families.head[shares_device]]
    mobile_exits = max(count // 10, 50)
    home_ips, ring_ips, mobile_ips = _split(
        identities.public_ips(rng, families.count + int(ring_ip_size.sum()) + mobile_exits),
        families.count, int(ring_ip_size.sum()))
    home_ip = np.empty(count, "U15")
    home_ip[~fraud] = home_ips[families.household_id[~fraud] - 1]

    # A family member is the natural emergency contact; people living alone give a friend.
    contact_phone = np.empty(count, "U11")
    contact_phone[in_family] = phone[families.relative[in_family]]
    contact_phone[living_alone] = friends

    # Ring members: identities are real people's (stolen or rented), but they operate from
    # the ring's devices and IPs and half of them register one of the ring's phones.
    ring_device_pool = _pool(ring_devices, ring_device_size)
    ring_ip_pool = _pool(ring_ips, ring_ip_size)
    ring_phone_pool = _pool(ring_phones, ring_phone_size)
    device_id[fraud] = ring_device_pool.pick(rng, ring_id[fraud])
    home_ip[fraud] = ring_ip_pool.pick(rng, ring_id[fraud])
    burner = fraud & (rng.random(count) < 0.5)
    phone[burner] = ring_phone_pool.pick(rng, ring_id[burner])
    card, ring_cards = _split(
        identities.bank_card_numbers(rng, count + int(ring_card_size.sum())), count)

    burst_days = rng.integers(1, 6, rings + 1)
    burst_day = rng.integers(0, max(window.days - 5, 1), rings + 1)
    burst_days = np.minimum(burst_days, window.days - burst_day)

    def change_time(changes: Bools) -> Ints:
        # From the second day on, so the old value is seen first.
        latest = max(window.days, 2) * DAY_MS
        return np.where(changes, window.start_ts + rng.integers(DAY_MS, latest, count), 0)

    table = Applicants(
        applicant_id=np.arange(1, count + 1, dtype=np.int64),
        name=name,
        id_number=documents.id_number,
        gender=np.where(documents.male, "M", "F"),
        birth_date=documents.birth_days.astype("datetime64[D]"),
        age=documents.age,
        city=documents.city,
        monthly_income=monthly_income,
        phone=phone,
        new_phone=new_phone,
        phone_changed_ts=change_time(phone_changes),
        device_id=device_id,
        new_device_id=new_device_id,
        device_changed_ts=change_time(device_changes),
        home_ip=home_ip,
        card=card,
        household_id=families.household_id,
        ring_id=ring_id,
    )
    return _Population(
        table=table,
        frailty=rng.normal(0, 0.6, count),
        contact_phone=contact_phone,
        ring_burst_day=burst_day,
        ring_burst_days=burst_days,
        ring_devices=ring_device_pool,
        ring_ips=ring_ip_pool,
        ring_phones=ring_phone_pool,
        ring_cards=_pool(ring_cards, ring_card_size),
        mobile_ips=mobile_ips,
    )


def _split(values: Strings, *sizes: int) -> list[Strings]:
    """Consecutive slices of ``sizes`` and the rest."""
    return np.split(values, np.cumsum(sizes))


@dataclass(frozen=True)
class _Contact:
    """Phone, device and IP an applicant shows in events."""

    phone: Strings
    device_id: Strings
    ip: Strings


def _contact_at(rng: np.random.Generator, people: _Population, who: Ints, ts: Ints) -> _Contact:
    """The phone, device and IP each applicant (0-based ``who``) uses at time ``ts``."""
    table = people.table
    count = len(who)
    changed_phone = (table.phone_changed_ts[who] > 0) & (ts >= table.phone_changed_ts[who])
    changed_device = (table.device_changed_ts[who] > 0) & (ts >= table.device_changed_ts[who])
    phone = np.where(changed_phone, table.new_phone[who], table.phone[who])
    device = np.where(changed_device, table.new_device_id[who], table.device_id[who])
    # At home on Wi-Fi (the household's IP), out on mobile data (a shared carrier exit), or
    # an SDK that reports the LAN address.
    network = rng.random(count)
    mobile = people.mobile_ips[rng.integers(0, len(people.mobile_ips), count)]
    ip = np.where(network < 0.62, table.home_ip[who], mobile)
    on_lan = network >= 0.93
    ip[on_lan] = identities.private_ips(rng, int(on_lan.sum()))

    ring = table.ring_id[who]
    fraud = ring > 0
    if fraud.any():
        device[fraud] = people.ring_devices.pick(rng, ring[fraud])
        ring_ip = people.ring_ips.pick(rng, ring[fraud])
        ip[fraud] = np.where(network[fraud] < 0.8, ring_ip, mobile[fraud])
    return _Contact(phone, device, ip)


@dataclass(frozen=True)
class _Applications:
    """Applications sorted by time, before event ids exist (``who`` is 0-based)."""

    who: Ints
    ts: Ints
    contact: _Contact
    contact_phone: Strings
    card: Strings  # where the loan is paid out
    amount: Floats
    term: Ints
    channel: Strings
    fraud: Bools


def _applications(rng: np.random.Generator, people: _Population, window: _Window) -> _Applications:
    table = people.table
    fraud_people = people.fraud

    # Ordinary applicants: a first application at any time, repeat borrowing weeks apart.
    ordinary = np.flatnonzero(~fraud_people)
    repeats = 1 + np.minimum(rng.poisson(0.7, len(ordinary)), 5)
    who_ordinary = np.repeat(ordinary, repeats)
    first_day = np.repeat(rng.integers(0, window.days, len(ordinary)), repeats)
    rank = _group_rank(who_ordinary)
    gaps = np.where(rank == 0, 0, rng.geometric(1 / 45, len(who_ordinary)))  # days
    elapsed = np.cumsum(gaps)
    day_ordinary = first_day + elapsed - np.repeat(elapsed[rank == 0], repeats)

    # Ring members: one to four applications inside their ring's burst.
    members = np.flatnonzero(fraud_people)
    tries = 1 + np.minimum(rng.poisson(1.0, len(members)), 3)
    who_fraud = np.repeat(members, tries)
    ring = table.ring_id[who_fraud]
    day_fraud = people.ring_burst_day[ring] + rng.integers(0, people.ring_burst_days[ring])

    who = np.concatenate([who_ordinary, who_fraud])
    day = np.concatenate([day_ordinary, day_fraud])
    inside = day < window.days
    who, day = who[inside], day[inside]
    fraud = fraud_people[who]
    ts = window.times(rng, day, fraud)
    order = np.lexsort((who, ts))
    who, ts, fraud = who[order], ts[order], fraud[order]
    count = len(who)

    contact = _contact_at(rng, people, who, ts)
    contact_phone = people.contact_phone[who]
    card = table.card[who]
    if fraud.any():
        ring = table.ring_id[who[fraud]]
        contact_phone[fraud] = people.ring_phones.pick(rng, ring)
        # Many ring loans are paid out to a mule card that collects for the organisers.
        mule = rng.random(len(ring)) < 0.5
        card[np.flatnonzero(fraud)[mule]] = people.ring_cards.pick(rng, ring[mule])

    income = table.monthly_income[who]
    ordinary_amount = np.clip(np.round(income * rng.lognormal(np.log(1.5), 0.5, count), -2),
                              500, 50_000)
    fraud_amount = np.round(rng.uniform(15_000, 50_000, count), -3)
    amount = np.where(fraud, fraud_amount, ordinary_amount)
    term = np.where(fraud, rng.choice([6, 12], count, p=[0.2, 0.8]),
                    rng.choice([3, 6, 12], count, p=[0.2, 0.3, 0.5]))
    channels = np.array(CHANNELS)
    channel = np.where(fraud, channels[rng.choice(4, count, p=[0.3, 0.35, 0.05, 0.3])],
                       channels[rng.choice(4, count, p=[0.6, 0.15, 0.15, 0.1])])
    return _Applications(who, ts, contact, contact_phone, card, amount.astype(np.float64),
                         term.astype(np.int64), channel, fraud)


@dataclass(frozen=True)
class _Loans:
    """Outcome of every application's loan, aligned with ``_Applications``."""

    bad: Bools  # stops paying for good
    default_instalment: Ints  # first instalment never paid (bad loans)
    first_late: Ints  # first instalment paid late (term + 1 if none)
    late_probability: Floats
    defaulted: Bools
    default_ts: Ints


def _due_ts(ts: Ints, instalment: Ints) -> Ints:
    return ts + instalment * INSTALMENT_DAYS * DAY_MS


def _loans(rng: np.random.Generator, people: _Population, apps: _Applications) -> _Loans:
    table = people.table
    count = len(apps.who)
    bad = np.zeros(count, bool)
    default_instalment = np.zeros(count, np.int64)
    first_late = np.zeros(count, np.int64)
    late_probability = np.zeros(count)
    # Loans are simulated in waves, the n-th loan of every applicant at once, because a
    # borrower's risk depends on overdues already seen on their earlier loans.
    order = np.lexsort((apps.ts, apps.who))
    wave = np.empty(count, np.int64)
    wave[order] = _group_rank(apps.who[order])
    overdue_seen_ts = np.full(len(table), np.iinfo(np.int64).max)
    for level in range(int(wave.max()) + 1 if count else 0):
        loans = np.flatnonzero(wave == level)
        who, ts, term = apps.who[loans], apps.ts[loans], apps.term[loans]
        income = table.monthly_income[who]
        age = table.age[who]
        prior_overdue = overdue_seen_ts[who] < ts
        score = (
            -3.4
            - 0.9 * np.log(income / 6000)
            + 0.06 * np.maximum(25 - age, 0)
            + 0.03 * np.maximum(age - 50, 0)
            + 0.4 * np.log(apps.amount[loans] / income)
            + 1.3 * prior_overdue
            + people.frailty[who]
        )
        default_probability = np.where(apps.fraud[loans], 0.92, 1 / (1 + np.exp(-score)))
        bad[loans] = rng.random(len(loans)) < default_probability
        # Fraud takes the money and vanishes; ordinary defaults happen anywhere in the term.
        default_instalment[loans] = np.where(
            apps.fraud[loans], np.where(rng.random(len(loans)) < 0.9, 1, 2),
            rng.integers(1, term + 1))
        late_probability[loans] = np.clip(3 * default_probability, 0.02, 0.5)
        first_late[loans] = np.minimum(rng.geometric(late_probability[loans]), term + 1)
        first_trouble = np.where(bad[loans], np.minimum(first_late[loans],
                                                        default_instalment[loans]),
                                 first_late[loans])
        went_overdue = first_trouble <= term
        known_ts = np.where(went_overdue, _due_ts(ts, first_trouble) + DAY_MS,
                            np.iinfo(np.int64).max)
        overdue_seen_ts[who] = np.minimum(overdue_seen_ts[who], known_ts)

    default_ts = _due_ts(apps.ts, default_instalment) + DEFAULT_DAYS_PAST_DUE * DAY_MS
    defaulted = bad & (default_ts <= apps.ts + PERFORMANCE_DAYS * DAY_MS)
    return _Loans(bad, default_instalment, first_late, late_probability, defaulted,
                  np.where(defaulted, default_ts, 0))


@dataclass(frozen=True)
class _Instalments:
    """Paid instalments (repayments) and instalments gone past due (overdues), by loan row."""

    paid_loan: Ints
    due_ts: Ints
    paid_ts: Ints
    days_past_due: Ints
    paid_amount: Floats
    overdue_loan: Ints
    overdue_due_ts: Ints
    overdue_amount: Floats


def _instalments(rng: np.random.Generator, apps: _Applications, loans: _Loans,
                 window: _Window) -> _Instalments:
    loan = np.repeat(np.arange(len(apps.who)), apps.term)
    number = _group_rank(loan) + 1
    due = _due_ts(apps.ts[loan], number)
    # A flat 1% monthly fee on the principal, the way consumer-finance instalments are quoted.
    instalment = np.round(apps.amount * (1 + 0.01 * apps.term) / apps.term, 2)[loan]
    unpaid = loans.bad[loan] & (number >= loans.default_instalment[loan])
    late_again = rng.random(len(loan)) < loans.late_probability[loan]
    late = ~unpaid & (
        (number == loans.first_late[loan]) | ((number > loans.first_late[loan]) & late_again)
    )
    days_late = np.where(late, np.minimum(rng.geometric(0.12, len(loan)), 89), 0)
    paid_ts = np.where(
        late,
        due + (days_late - 1) * DAY_MS + rng.integers(1, DAY_MS, len(loan)),
        due - rng.integers(0, 3 * DAY_MS, len(loan)),
    )
    paid = ~unpaid & (paid_ts < window.end_ts)
    overdue = (late | unpaid) & (due + DAY_MS < window.end_ts)
    return _Instalments(loan[paid], due[paid], paid_ts[paid], days_late[paid], instalment[paid],
                        loan[overdue], due[overdue], instalment[overdue])


@dataclass(frozen=True)
class _Logins:
    """Login attempts sorted by time (``who`` is 0-based)."""

    who: Ints
    ts: Ints
    contact: _Contact
    success: Bools


def _logins(rng: np.random.Generator, people: _Population, apps: _Applications,
            instalments: _Instalments, window: _Window) -> _Logins:
    table = people.table
    fraud_people = people.fraud
    count = len(table)

    # Everyday use of the app: about every 25 days; ring members rarely come back.
    visits = rng.poisson(np.where(fraud_people, window.days / 90, window.days / 25))
    who_visit = np.repeat(np.arange(count), visits)
    ts_visit = window.times(rng, rng.integers(0, window.days, len(who_visit)),
                            fraud_people[who_visit])
    contact_visit = _contact_at(rng, people, who_visit, ts_visit)
    success_visit = rng.random(len(who_visit)) < 0.97

    # Before applying: a successful login minutes before, sometimes failed attempts earlier;
    # rings cycle through many attempts (wrong passwords, SMS codes for other identities).
    attempts = 1 + rng.poisson(np.where(apps.fraud, 2.5, 0.3))
    app_row = np.repeat(np.arange(len(apps.who)), attempts)
    first_attempt = _group_rank(app_row) == 0
    before = np.where(first_attempt, rng.integers(MINUTE_MS, 5 * MINUTE_MS, len(app_row)),
                      rng.integers(5 * MINUTE_MS, 60 * MINUTE_MS, len(app_row)))
    ts_apply = apps.ts[app_row] - before
    success_apply = first_attempt | (
        rng.random(len(app_row)) < np.where(apps.fraud[app_row], 0.5, 0.9))
    contact_apply = _Contact(apps.contact.phone[app_row], apps.contact.device_id[app_row],
                             apps.contact.ip[app_row])

    # Most borrowers open the app to pay an instalment.
    pays_in_app = rng.random(len(instalments.paid_loan)) < 0.6
    who_pay = apps.who[instalments.paid_loan[pays_in_app]]
    ts_pay = instalments.paid_ts[pays_in_app] - rng.integers(MINUTE_MS, 10 * MINUTE_MS,
                                                             int(pays_in_app.sum()))
    contact_pay = _contact_at(rng, people, who_pay, ts_pay)

    who = np.concatenate([who_visit, apps.who[app_row], who_pay])
    ts = np.concatenate([ts_visit, ts_apply, ts_pay])
    success = np.concatenate([success_visit, success_apply, np.ones(len(who_pay), bool)])
    parts = (contact_visit, contact_apply, contact_pay)
    contact = _Contact(*(
        np.concatenate([getattr(part, name) for part in parts])
        for name in ("phone", "device_id", "ip")
    ))
    inside = ts >= window.start_ts
    order = np.lexsort((who[inside], ts[inside]))
    keep = np.flatnonzero(inside)[order]
    return _Logins(who[keep], ts[keep],
                   _Contact(contact.phone[keep], contact.device_id[keep], contact.ip[keep]),
                   success[keep])


def _assemble(window: _Window, people: _Population, apps: _Applications, loans: _Loans,
              instalments: _Instalments, logins: _Logins) -> SyntheticData:
    paid = np.lexsort((instalments.paid_loan, instalments.paid_ts))
    overdue_ts = instalments.overdue_due_ts + DAY_MS
    overdue = np.lexsort((instalments.overdue_loan, overdue_ts))

    # Event ids follow time across all event types, as in one event log.
    stamps = [apps.ts, logins.ts, instalments.paid_ts[paid], overdue_ts[overdue]]
    everything = np.concatenate(stamps)
    event_id = np.empty(len(everything), np.int64)
    event_id[np.argsort(everything, kind="stable")] = np.arange(1, len(everything) + 1)
    app_ids, login_ids, paid_ids, overdue_ids = np.split(
        event_id, np.cumsum([len(part) for part in stamps])[:-1])

    table = people.table
    applicant_id = table.applicant_id
    paid_loan = instalments.paid_loan[paid]
    overdue_loan = instalments.overdue_loan[overdue]
    return SyntheticData(
        start_ts=window.start_ts,
        end_ts=window.end_ts,
        applicants=table,
        applications=Applications(
            event_id=app_ids,
            ts=apps.ts,
            applicant_id=applicant_id[apps.who],
            id_number=table.id_number[apps.who],
            phone=apps.contact.phone,
            contact_phone=apps.contact_phone,
            device_id=apps.contact.device_id,
            ip=apps.contact.ip,
            card=apps.card,
            amount=apps.amount,
            term=apps.term,
            channel=apps.channel,
        ),
        logins=Logins(
            event_id=login_ids,
            ts=logins.ts,
            applicant_id=applicant_id[logins.who],
            phone=logins.contact.phone,
            device_id=logins.contact.device_id,
            ip=logins.contact.ip,
            success=logins.success,
        ),
        repayments=Repayments(
            event_id=paid_ids,
            ts=instalments.paid_ts[paid],
            applicant_id=applicant_id[apps.who[paid_loan]],
            loan_id=app_ids[paid_loan],
            due_ts=instalments.due_ts[paid],
            paid_ts=instalments.paid_ts[paid],
            amount=instalments.paid_amount[paid],
            days_past_due=instalments.days_past_due[paid],
        ),
        overdues=Overdues(
            event_id=overdue_ids,
            ts=overdue_ts[overdue],
            applicant_id=applicant_id[apps.who[overdue_loan]],
            loan_id=app_ids[overdue_loan],
            due_ts=instalments.overdue_due_ts[overdue],
            amount=instalments.overdue_amount[overdue],
        ),
        labels=Labels(
            loan_id=app_ids,
            ts=apps.ts,
            applicant_id=applicant_id[apps.who],
            defaulted=loans.defaulted,
            default_ts=loans.default_ts,
            first_payment_default=loans.bad & (loans.default_instalment == 1),
            fraud=apps.fraud,
            ring_id=table.ring_id[apps.who],
        ),
    )
