"""ZEN dates, times and durations: ``d()``, the date methods and the legacy date functions.

The behaviour follows zen-engine 2.1.3, whose dates are chrono ``DateTime<Tz>`` values:

* A :class:`ZenDate` is an instant plus an IANA time zone, or the *invalid date* (what
  ``d('foo')`` gives: it prints as ``"Invalid date"``, its getters give null, it sorts first).
* Precision is the nanosecond; like chrono, a parsed leap second (``:60``) is kept as a
  sub-second part of one billion or more on second 59.
* Calendar operations (``set``, ``startOf``, ``endOf``, month and year steps of ``add``) work
  on the local wall time and re-resolve it in the zone one field at a time, exactly as chrono's
  ``with_*`` methods do: a wall time that falls in a DST gap or overlap makes the result
  invalid. Zen has the same quirks; they are reproduced on purpose so that both engines agree.
* Text parsing reproduces chrono's lenient ``parse_from_str`` rules (leading whitespace
  before numbers, 1-2 digit fields) plus Zen's list of accepted layouts.

"Now" is the UTC clock, overridable like Zen's with the ``__ZEN_MOCK_UTC_TIME`` environment
variable (read on use, so tests can set it at any time) or from Python with :func:`use_now`.
The default time zone is the host's IANA zone as ``iana-time-zone`` finds it (the target of
``/etc/localtime``, else ``/etc/timezone``, else UTC) unless :func:`set_default_timezone`
chose one; time zone data comes from :mod:`zoneinfo`.
"""

from __future__ import annotations

import math
import os
import time as _time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, available_timezones

from fengkong.errors import ExpressionEvaluationError
from fengkong.expr.numbers import to_decimal
from fengkong.expr.registry import Builtin, builtin
from fengkong.expr.values import type_name

NANOS = 1_000_000_000
_EPOCH = datetime(1970, 1, 1)
_EPOCH_ORDINAL = _EPOCH.toordinal()
_I32_MAX = 2**31 - 1
_I64_MAX = 2**63 - 1
_U32_MAX = 2**32 - 1
_U64_MAX = 2**64 - 1
_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

# Rust's char::is_whitespace (Unicode White_Space), which chrono and humantime skip; Python's
# str.isspace also accepts the \x1c-\x1f separators, so it is not used.
_WHITESPACE = frozenset(
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_DIGITS = frozenset("0123456789")


def _fail(where: str, message: str) -> ExpressionEvaluationError:
    return ExpressionEvaluationError(f"{where}: {message}")


def _is_number(value: Any) -> bool:
    kind = type(value)
    return kind is int or kind is float


def _seconds(delta: timedelta | None) -> int:
    # utcoffset() of a ZoneInfo-aware datetime is never None; the guard keeps mypy honest.
    return 0 if delta is None else delta.days * 86_400 + delta.seconds


def _naive_epoch(naive: datetime) -> int:
    """Seconds since 1970 of a wall time read as if it were UTC."""
    return ((naive.toordinal() - _EPOCH_ORDINAL) * 86_400 + naive.hour * 3600
            + naive.minute * 60 + naive.second)


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _days_in_month(year: int, month: int) -> int:
    return 29 if month == 2 and _is_leap(year) else _DAYS_IN_MONTH[month - 1]


def _truncate(value: int | float) -> int:
    """``Decimal::to_i64``-style conversion: drop the fraction, toward zero."""
    return value if type(value) is int else int(value)


# -- time zones -------------------------------------------------------------------------------


# chrono-tz (Zen's zone table) lists transitions up to the end of 2099 and keeps the last
# offset for ever after, where zoneinfo extrapolates the DST rules; we freeze it the same way.
_TABLE_END = 4_102_444_800  # 2100-01-01T00:00:00Z


class _Zone:
    """An IANA zone: its name (what ``offsetName()`` shows); for zones that never change
    offset (UTC and ``Etc/*``) that offset, so that the common case skips DST resolution;
    otherwise the offset and abbreviation frozen from 2100 on."""

    __slots__ = ("final_name", "final_offset", "fixed", "info", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self.info = ZoneInfo(name)
        fixed = name.startswith("Etc/") or name in _FIXED_ZONE_NAMES
        self.fixed = _seconds(self.info.utcoffset(_EPOCH)) if fixed else None
        last = self.info.fromutc(datetime(2099, 12, 31, 23, 59, 59, tzinfo=self.info))
        self.final_offset = _seconds(last.utcoffset())
        self.final_name = last.tzname() or ""


_FIXED_ZONE_NAMES = frozenset(
    {"UTC", "UCT", "GMT", "GMT0", "GMT+0", "GMT-0", "Greenwich", "Universal", "Zulu"}
)
# Files that zoneinfo can load but that are not zone names for chrono-tz (Zen's zone table).
_NOT_ZONES = frozenset({"Factory", "localtime", "posixrules"})
_zones: dict[str, _Zone] = {}
_zone_names: frozenset[str] | None = None


def _find_zone(name: str) -> _Zone | None:
    """The zone called ``name`` (case-sensitive, like chrono-tz), or None."""
    zone = _zones.get(name)
    if zone is not None:
        return zone
    global _zone_names
    if _zone_names is None:
        # Listing the tz database once is slow (~0.1 s) but makes the check exact: ZoneInfo()
        # alone would accept 'posix/UTC' or, on case-insensitive file systems, 'utc'.
        _zone_names = frozenset(available_timezones()) - _NOT_ZONES
    if name not in _zone_names:
        return None
    zone = _zones[name] = _Zone(name)
    return zone


def _trusted_zone(name: str) -> _Zone | None:
    """A zone whose name came from the host's tz files (exact spelling), loaded without
    listing the whole database."""
    zone = _zones.get(name)
    if zone is not None or not name or name in _NOT_ZONES:
        return zone
    try:
        zone = _zones[name] = _Zone(name)
    except (KeyError, ValueError, OSError):  # not found (a KeyError), not a TZif file
        return None
    return zone


def _host_zone() -> _Zone | None:
    """The host zone as iana-time-zone (used by Zen) finds it; Zen ignores $TZ, so do we."""
    try:
        target = os.readlink("/etc/localtime")
        marker = target.find("zoneinfo/")
        if marker >= 0:
            zone = _trusted_zone(target[marker + 9:])
            if zone is not None:
                return zone
    except OSError:
        pass
    try:
        with open("/etc/timezone", encoding="utf-8") as file:
            return _trusted_zone(file.read().strip())
    except OSError:
        return None


_default_zone: _Zone | None = None


def _zone_default() -> _Zone:
    global _default_zone
    if _default_zone is None:
        _default_zone = _host_zone() or _trusted_zone("UTC") or _Zone("UTC")
    return _default_zone


def set_default_timezone(name: str | None) -> None:
    """Use ``name`` as the zone of dates parsed without one (None: back to the host zone)."""
    global _default_zone
    if name is None:
        _default_zone = None
        return
    zone = _find_zone(name)
    if zone is None:
        raise ValueError(f"unknown time zone {name!r}")
    _default_zone = zone


def default_timezone() -> str:
    """The name of the zone used for dates parsed without one."""
    return _zone_default().name


# -- the clock --------------------------------------------------------------------------------

_MOCK_VARIABLE = "__ZEN_MOCK_UTC_TIME"
_pinned_now: ContextVar[tuple[int, int] | None] = ContextVar("fengkong_dates_now", default=None)
_mock_text: str | None = None
_mock_instant: tuple[int, int] | None = None


def _utc_now() -> tuple[int, int]:
    """(epoch seconds, nanoseconds) of "now": pinned, else mocked by the env var, else real."""
    pinned = _pinned_now.get()
    if pinned is not None:
        return pinned
    global _mock_text, _mock_instant
    text = os.environ.get(_MOCK_VARIABLE)
    if text is not None:
        if text != _mock_text:
            _mock_instant = _parse_rfc3339(text)
            _mock_text = text
        if _mock_instant is not None:
            return _mock_instant
    stamp = _time.time_ns()
    return stamp // NANOS, stamp % NANOS


@contextmanager
def use_now(instant: ZenDate | datetime | str | int) -> Iterator[None]:
    """Pin "now" (for ``d()``, ``isToday()``, ``date('now')``...) inside the ``with`` block.

    ``instant`` is a valid :class:`ZenDate`, an aware :class:`datetime`, an RFC 3339 string
    or epoch milliseconds. The pin is per context (thread / asyncio task)."""
    token = _pinned_now.set(_instant_of(instant))
    try:
        yield
    finally:
        _pinned_now.reset(token)


def _instant_of(instant: ZenDate | datetime | str | int) -> tuple[int, int]:
    if isinstance(instant, ZenDate) and instant._local is not None:
        return instant._epoch, instant._ns
    offset = instant.utcoffset() if isinstance(instant, datetime) else None
    if isinstance(instant, datetime) and offset is not None:
        utc = instant.replace(tzinfo=None) - offset
        return _naive_epoch(utc), utc.microsecond * 1000
    if type(instant) is int:
        return instant // 1000, instant % 1000 * 1_000_000
    if type(instant) is str:
        parsed = _parse_rfc3339(instant)
        if parsed is not None:
            return parsed
    raise ValueError(f"not an instant: {instant!r}")


def now() -> ZenDate:
    """The current instant in the default zone (what ``d()`` returns)."""
    epoch, ns = _utc_now()
    return _at_instant(epoch, ns, _zone_default())


# -- resolving wall times in a zone -----------------------------------------------------------


def _local_offsets(naive: datetime, zone: _Zone) -> tuple[int, ...]:
    """UTC offsets under which ``naive`` exists in ``zone``: one normally, two (earlier instant
    first) in a fall-back overlap, none in a spring-forward gap."""
    if zone.fixed is not None:
        return (zone.fixed,)
    info = zone.info
    aware = naive.replace(tzinfo=info, fold=0)  # fold may linger from an earlier conversion
    first = _seconds(aware.utcoffset())
    second = _seconds(aware.replace(fold=1).utcoffset())
    if first == second:
        offsets: tuple[int, ...] = (first,)
    else:
        offsets = tuple(offset for offset in (first, second) if _round_trips(naive, offset, info))
    return offsets if naive.year < 2099 else _frozen_offsets(naive, offsets, zone)


def _frozen_offsets(naive: datetime, offsets: tuple[int, ...], zone: _Zone) -> tuple[int, ...]:
    """Offsets of a wall time near or after 2100, when the zone's last offset is frozen."""
    wall = _naive_epoch(naive)
    kept = [offset for offset in offsets if wall - offset < _TABLE_END]
    if wall - zone.final_offset >= _TABLE_END and zone.final_offset not in kept:
        kept.append(zone.final_offset)
    return tuple(sorted(kept, reverse=True))  # the larger offset is the earlier instant


def _round_trips(naive: datetime, offset: int, info: ZoneInfo) -> bool:
    try:
        utc = naive - timedelta(seconds=offset)
        return info.fromutc(utc.replace(tzinfo=info)).replace(tzinfo=None) == naive
    except OverflowError:
        return False


def _at_instant(epoch: int, ns: int, zone: _Zone) -> ZenDate:
    """The instant ``epoch`` seconds (+ ``ns``) shown in ``zone``; invalid outside years
    1-9999 (Python's range; chrono's is wider)."""
    try:
        utc = _EPOCH + timedelta(seconds=epoch)
        if zone.fixed is not None:
            return ZenDate._make(utc + timedelta(seconds=zone.fixed), zone.fixed, epoch, ns, zone)
        if epoch >= _TABLE_END:
            offset = zone.final_offset
            return ZenDate._make(utc + timedelta(seconds=offset), offset, epoch, ns, zone)
        aware = zone.info.fromutc(utc.replace(tzinfo=zone.info))
    except (OverflowError, ValueError):
        return INVALID
    local = aware.replace(tzinfo=None, fold=0)
    return ZenDate._make(local, _seconds(aware.utcoffset()), epoch, ns, zone)


def _at_local(naive: datetime, ns: int, zone: _Zone) -> ZenDate | None:
    """chrono's ``from_local_datetime(..).single()``: None when the wall time is ambiguous
    or does not exist."""
    offsets = _local_offsets(naive, zone)
    if len(offsets) != 1:
        return None
    return ZenDate._make(naive, offsets[0], _naive_epoch(naive) - offsets[0], ns, zone)


def _at_local_lenient(naive: datetime, ns: int, zone: _Zone) -> ZenDate:
    """How ``d()`` places a parsed wall time: the earlier instant of an overlap; inside a gap,
    the offset in force three hours before (so 02:30 in a 02:00-03:00 gap becomes 03:30)."""
    offsets = _local_offsets(naive, zone)
    if offsets:
        return ZenDate._make(naive, offsets[0], _naive_epoch(naive) - offsets[0], ns, zone)
    try:
        before = _local_offsets(naive - timedelta(hours=3), zone)
    except OverflowError:
        return INVALID
    if not before:
        return INVALID
    return _at_instant(_naive_epoch(naive) - before[0], ns, zone)


# -- chrono-compatible text scanning ----------------------------------------------------------


class _Fields(NamedTuple):
    """A naive date time read from text: the wall time (seconds <= 59) and nanoseconds
    (one billion or more for a leap second, as in chrono)."""

    naive: datetime
    ns: int


_NUMERIC_WIDTH = {"Y": 4, "m": 2, "d": 2, "H": 2, "M": 2, "S": 2}
_NUMERIC_RANGE = {"m": (1, 12), "d": (1, 31), "H": (0, 23), "M": (0, 59), "S": (0, 60)}


def _skip_whitespace(text: str, index: int) -> int:
    while index < len(text) and text[index] in _WHITESPACE:
        index += 1
    return index


def _scan_digits(text: str, index: int, most: int) -> tuple[int, int] | None:
    end = index
    while end < len(text) and end - index < most and text[end] in _DIGITS:
        end += 1
    if end == index:
        return None
    return int(text[index:end]), end


def _scan_raw(text: str, pattern: str) -> dict[str, int] | None:
    """Read the fields of ``text`` with a strftime-like ``pattern`` the way chrono's parser
    does: pattern letters Y m d H M S, ``f`` for ``%.f``, a space for any run of whitespace,
    any other character a literal. Whitespace before a number is skipped, %Y takes up to
    four digits (any number after an explicit sign), the other numbers one or two; each
    field is range-checked on its own, the date is not validated here."""
    fields: dict[str, int] = {}
    index = 0
    for token in pattern:
        if token == " ":
            index = _skip_whitespace(text, index)
        elif token in _NUMERIC_WIDTH:
            index = _skip_whitespace(text, index)
            sign = 1
            most = _NUMERIC_WIDTH[token]
            if token == "Y" and index < len(text) and text[index] in "+-":
                sign = -1 if text[index] == "-" else 1
                index += 1
                most = len(text)
            scanned = _scan_digits(text, index, most)
            if scanned is None:
                return None
            value, index = scanned
            bounds = _NUMERIC_RANGE.get(token)
            if bounds is not None and not bounds[0] <= value <= bounds[1]:
                return None
            fields[token] = sign * value
        elif token == "f":
            if index < len(text) and text[index] == ".":
                scanned = _scan_digits(text, index + 1, 9)
                if scanned is None:
                    return None
                fields["f"] = int(text[index + 1:scanned[1]].ljust(9, "0"))
                index = scanned[1]
                while index < len(text) and text[index] in _DIGITS:  # beyond 9: ignored
                    index += 1
        elif index < len(text) and text[index] == token:
            index += 1
        else:
            return None
    return fields if index == len(text) else None


def _scan(text: str, pattern: str, *, date_only: bool = False) -> _Fields | None:
    """A valid naive date time from ``text`` (see :func:`_scan_raw`); with ``date_only`` the
    time fields are not required."""
    fields = _scan_raw(text, pattern)
    return None if fields is None else _build_fields(fields, date_only)


def _build_fields(fields: dict[str, int], date_only: bool) -> _Fields | None:
    if "H" not in fields and not date_only:
        return None
    second = fields.get("S", 0)
    ns = fields.get("f", 0)
    if second == 60:
        second, ns = 59, ns + NANOS
    try:
        naive = datetime(fields["Y"], fields.get("m", 1), fields.get("d", 1),
                         fields.get("H", 0), fields.get("M", 0), second)
    except ValueError:
        return None
    return _Fields(naive, ns)


def _time_of_day(text: str, pattern: str) -> int | None:
    """chrono's ``NaiveTime::parse_from_str``: seconds since midnight (a leap second counts
    as second 59). Date fields in the pattern are read but not validated (Feb 30 passes)."""
    fields = _scan_raw(text, pattern)
    if fields is None or "H" not in fields or "M" not in fields:
        return None
    return fields["H"] * 3600 + fields["M"] * 60 + min(fields.get("S", 0), 59)


def _parse_rfc3339(text: str) -> tuple[int, int] | None:
    """chrono's ``DateTime::parse_from_rfc3339``: (epoch seconds, nanoseconds). Accepts 'T',
    't' or ' ' between date and time, then 'Z', 'z' or ±hh:mm (at most 23:59)."""
    if len(text) < 20 or text[4] != "-" or text[7] != "-" or text[10] not in "Tt ":
        return None
    if text[13] != ":" or text[16] != ":":
        return None
    parts = (text[0:4], text[5:7], text[8:10], text[11:13], text[14:16], text[17:19])
    if not all(char in _DIGITS for part in parts for char in part):
        return None
    year, month, day, hour, minute, second = (int(part) for part in parts)
    index = 19
    ns = 0
    if index < len(text) and text[index] == ".":
        scanned = _scan_digits(text, index + 1, 9)
        if scanned is None:
            return None
        ns = int(text[index + 1:scanned[1]].ljust(9, "0"))
        index = scanned[1]
        while index < len(text) and text[index] in _DIGITS:
            index += 1
    rest = text[index:]
    if rest in ("Z", "z"):
        offset = 0
    elif len(rest) == 6 and rest[0] in "+-\u2212" and rest[3] == ":":
        hours, minutes = rest[1:3], rest[4:6]
        if not all(char in _DIGITS for char in hours + minutes):
            return None
        if int(hours) > 23 or int(minutes) > 59:
            return None
        offset = int(hours) * 3600 + int(minutes) * 60
        if rest[0] != "+":
            offset = -offset
    else:
        return None
    fields = _build_fields({"Y": year, "m": month, "d": day, "H": hour, "M": minute,
                            "S": second, "f": ns}, False)
    if fields is None:
        return None
    return _naive_epoch(fields.naive) - offset, fields.ns


# Zen 2.1.3 accepts these layouts besides RFC 3339 and the three lenient chrono formats; a
# value is matched on its "shape" (digits as 9, fractional seconds dropped) before parsing.
_SHAPES = {
    "9999-99-99T99:99:99": "Y-m-dTH:M:Sf",
    "9999-99-99T99:99": "Y-m-dTH:M",
    "9999-99-99 99:99:99": "Y-m-d H:M:Sf",
    "99999999T999999": "YmdTHMSf",
    "99999999T9999": "YmdTHM",
    "9999/99/99 99:99:99": "Y/m/d H:M:Sf",
    "9999/99/99 99:99": "Y/m/d H:M",
    "99999999": "Ymd",
    "9999/99/99": "Y/m/d",
    "9999-99": "Y-m",
    "9999": "Y",
}


def _parse_shaped(text: str) -> _Fields | None:
    core = text
    dot = text.rfind(".")
    if 0 <= dot < len(text) - 1 and all(char in _DIGITS for char in text[dot + 1:]):
        core = text[:dot]
    shape = "".join("9" if char in _DIGITS else char for char in core)
    pattern = _SHAPES.get(shape)
    if pattern is None:
        return None
    return _scan(text, pattern, date_only="H" not in pattern)


def _split_offset(text: str) -> tuple[str, int] | None:
    """A trailing 'Z' or ±hh[[:]mm] after the 'T' of a non-RFC 3339 text."""
    if text.endswith("Z"):
        return text[:-1], 0
    time_at = text.find("T")
    if time_at < 0:
        return None
    sign_at = max(text.rfind("+", time_at), text.rfind("-", time_at))
    if sign_at < 0:
        return None
    tail = text[sign_at + 1:]
    digits = tail.replace(":", "")
    if len(tail) not in (2, 4, 5) or len(digits) not in (2, 4):
        return None
    if not all(char in _DIGITS for char in digits):
        return None
    offset = int(digits[:2]) * 3600 + (int(digits[2:]) * 60 if digits[2:] else 0)
    if offset >= 86_400:
        return None
    return text[:sign_at], -offset if text[sign_at] == "-" else offset


@lru_cache(maxsize=4096)
def _parse_text_cached(text: str, zone: _Zone) -> ZenDate | None:
    rfc = _parse_rfc3339(text)
    if rfc is not None:
        return _at_instant(rfc[0], rfc[1], zone)
    fields = (_scan(text, "Y-m-d H:M:S") or _scan(text, "Y-m-d H:M")
              or _scan(text, "Y-m-d", date_only=True))
    if fields is not None:
        return _at_local_lenient(fields.naive, fields.ns, zone)
    split = _split_offset(text)
    if split is not None and "T" in split[0]:
        fields = _parse_shaped(split[0])
        if fields is None:
            return None
        return _at_instant(_naive_epoch(fields.naive) - split[1], fields.ns, zone)
    fields = _parse_shaped(text)
    if fields is None:
        return None
    return _at_local_lenient(fields.naive, fields.ns, zone)


def _parse_text(text: str, zone: _Zone) -> ZenDate | None:
    """A date from text in ``zone``, or None when the text is not a date Zen accepts."""
    result = _parse_text_cached(text, zone)
    return None if result is None or result._local is None else result


def parse_date(value: Any, zone: _Zone | None = None) -> ZenDate:
    """What ``d(value)`` / ``d(value, zone)`` returns (never raises)."""
    kind = type(value)
    if kind is str:
        target = zone or _zone_default()
        parsed = _parse_text(value, target)
        if parsed is not None:
            return parsed
        named = _find_zone(value)
        if named is None:
            return INVALID
        epoch, ns = _utc_now()
        return _at_instant(epoch, ns, named)
    if kind is int or kind is float:
        if kind is float and not math.isfinite(value):
            return INVALID
        millis = _truncate(value)
        if not -_I64_MAX - 1 <= millis <= _I64_MAX:
            return INVALID
        return _at_instant(millis // 1000, millis % 1000 * 1_000_000, zone or _zone_default())
    if kind is ZenDate:
        if zone is None or value._local is None:
            return value
        return _at_instant(value._epoch, value._ns, zone)
    return INVALID


# -- the date value ---------------------------------------------------------------------------

_Key = tuple[float, int]
_INVALID_KEY: _Key = (-math.inf, 0)  # chrono orders None (the invalid date) first


class ZenDate:
    """A ZEN date: an instant with its time zone, or the invalid date (``_local`` is None).

    Immutable. ``==`` compares instants (two invalid dates are equal); ordering puts the
    invalid date first. As in Zen, a date also equals (and orders against) a string that
    parses as a date; comparing with anything else orders raises, equality is False. (A
    date equal to a string does not hash like it: do not mix both as keys of one dict.)
    """

    __slots__ = ("_epoch", "_local", "_ns", "_offset", "_zone")
    zen_type = "date"

    _local: datetime | None  # wall time in the zone, whole seconds
    _offset: int  # seconds east of UTC at that instant
    _epoch: int  # seconds since 1970 (UTC)
    _ns: int  # sub-second nanoseconds; >= 1e9 marks a leap second, as in chrono
    _zone: _Zone | None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("ZenDate is immutable")

    __delattr__ = __setattr__  # type: ignore[assignment]

    @classmethod
    def _make(cls, local: datetime | None, offset: int, epoch: int, ns: int,
              zone: _Zone | None) -> ZenDate:
        date = object.__new__(cls)
        setter = object.__setattr__
        setter(date, "_local", local)
        setter(date, "_offset", offset)
        setter(date, "_epoch", epoch)
        setter(date, "_ns", ns)
        setter(date, "_zone", zone)
        return date

    @property
    def is_valid(self) -> bool:
        return self._local is not None

    @property
    def timezone(self) -> str | None:
        """The IANA name of the date's zone (None for the invalid date)."""
        return None if self._zone is None else self._zone.name

    def timestamp_ms(self) -> int | None:
        """Milliseconds since 1970 (None for the invalid date), as ``.timestamp()``."""
        if self._local is None:
            return None
        return self._epoch * 1000 + self._ns // 1_000_000

    def to_json(self) -> str:
        """RFC 3339 with whole seconds, 'Z' for a zero offset (chrono ``to_rfc3339_opts``)."""
        local = self._local
        if local is None:
            return "Invalid date"
        second = local.second + (1 if self._ns >= NANOS else 0)
        return (f"{local.year:04d}-{local.month:02d}-{local.day:02d}T{local.hour:02d}:"
                f"{local.minute:02d}:{second:02d}{_offset_text(self._offset, 'rfc3339')}")

    def __str__(self) -> str:
        return self.to_json()

    def __repr__(self) -> str:
        if self._local is None:
            return "ZenDate(invalid)"
        return f"ZenDate({self.to_json()!r}, {self.timezone!r})"

    def __hash__(self) -> int:
        return hash((self._epoch, self._ns) if self._local is not None else None)

    def _key(self) -> tuple[int, int] | None:
        return (self._epoch, self._ns) if self._local is not None else None

    def _sort_key(self) -> _Key:
        return (self._epoch, self._ns) if self._local is not None else _INVALID_KEY

    def _ordered_key(self, other: Any, operator: str) -> tuple[_Key, _Key]:
        """Both sides as comparable keys (the invalid date lowest); raises for a value a date
        cannot be ordered against. Keys are (seconds, nanoseconds) pairs, not one number,
        so that a leap second sorts before the next second as in chrono."""
        if type(other) is ZenDate:
            return self._sort_key(), other._sort_key()
        if type(other) is str and self._local is not None:
            parsed = _parse_text(other, _zone_default())
            if parsed is not None:
                return (self._epoch, self._ns), (parsed._epoch, parsed._ns)
        raise ExpressionEvaluationError(
            f"cannot compare date {operator} {type_name(other)}"
            + (" (not a valid date)" if type(other) is str else "")
        )

    def __eq__(self, other: object) -> bool:
        if type(other) is ZenDate:
            return self._key() == other._key()
        if type(other) is str and self._local is not None:
            parsed = _parse_text(other, _zone_default())
            return parsed is not None and parsed._key() == self._key()
        return False

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __lt__(self, other: Any) -> bool:
        mine, theirs = self._ordered_key(other, "<")
        return mine < theirs

    def __le__(self, other: Any) -> bool:
        mine, theirs = self._ordered_key(other, "<=")
        return mine <= theirs

    def __gt__(self, other: Any) -> bool:
        mine, theirs = self._ordered_key(other, ">")
        return mine > theirs

    def __ge__(self, other: Any) -> bool:
        mine, theirs = self._ordered_key(other, ">=")
        return mine >= theirs


INVALID = ZenDate._make(None, 0, 0, 0, None)


def _offset_text(offset: int, style: str) -> str:
    """chrono's OffsetFormat: 'rfc3339' (Z for zero, ±hh:mm), 'z' ±hhmm, ':z' ±hh:mm,
    '::z' ±hh:mm:ss, ':::z' ±hh. Minutes are rounded, hours truncated, like chrono."""
    if style == "rfc3339" and offset == 0:
        return "Z"
    sign = "-" if offset < 0 else "+"
    offset = abs(offset)
    if style == ":::z":
        return f"{sign}{offset // 3600:02d}"
    if style == "::z":
        return f"{sign}{offset // 3600:02d}:{offset // 60 % 60:02d}:{offset % 60:02d}"
    minutes = (offset + 30) // 60
    separator = "" if style == "z" else ":"
    return f"{sign}{minutes // 60:02d}{separator}{minutes % 60:02d}"


# -- durations and units ----------------------------------------------------------------------

SECOND, MINUTE, HOUR, DAY, WEEK, MONTH, QUARTER, YEAR = (
    "second", "minute", "hour", "day", "week", "month", "quarter", "year")

_UNITS = {
    **dict.fromkeys(("seconds", "second", "secs", "sec", "s"), SECOND),
    **dict.fromkeys(("minutes", "minute", "min", "mins", "m"), MINUTE),
    **dict.fromkeys(("hours", "hour", "hr", "hrs", "h"), HOUR),
    **dict.fromkeys(("days", "day", "d"), DAY),
    **dict.fromkeys(("weeks", "week", "w"), WEEK),
    **dict.fromkeys(("months", "month", "mo", "M"), MONTH),
    **dict.fromkeys(("quarters", "quarter", "qtr", "q"), QUARTER),
    **dict.fromkeys(("years", "year", "y"), YEAR),
}
_UNIT_SECONDS = {SECOND: 1, MINUTE: 60, HOUR: 3600, DAY: 86_400, WEEK: 604_800}


class Duration(NamedTuple):
    """A Zen duration: exact seconds plus calendar months and years (applied in that order)."""

    seconds: int = 0
    months: int = 0
    years: int = 0


def _byte_offset(text: str, index: int) -> int:
    # Zen reports positions in UTF-8 bytes
    return len(text[:index].encode())


def _is_ascii_letter(char: str) -> bool:
    return char.isascii() and char.isalpha()


def _unit_end(text: str, index: int, is_unit_char: Callable[[str], bool],
              invalid: str) -> tuple[int, int | None, int]:
    """Scan the rest of a unit name from ``index``: where it ends, the digit that follows it
    (or None), and the index to go on from."""
    length = len(text)
    while index < length:
        char = text[index]
        if char in _DIGITS:
            return index, ord(char) - 48, index + 1
        if char in _WHITESPACE:
            return index, None, index + 1
        if not is_unit_char(char):
            raise ValueError(f"{invalid} character at {_byte_offset(text, index)}")
        index += 1
    return length, None, index


def _first_digit(text: str, index: int, expected: str) -> tuple[int | None, int]:
    """The next digit at or after ``index`` past white space, and the index after it; any
    other character is an error worded as the parser being mirrored words it."""
    start, length = index, len(text)
    while index < length:
        char = text[index]
        index += 1
        if char in _DIGITS:
            return ord(char) - 48, index
        if char not in _WHITESPACE:
            raise ValueError(f"{expected} number at {_byte_offset(text, start)}")
    return None, index


@lru_cache(maxsize=1024)
def parse_duration(text: str) -> Duration:
    """Zen's duration strings ('1d 5h', '2w', '1M', '1q'): numbers followed by units, spaces
    allowed anywhere. A later month, quarter or year term replaces an earlier one (as in
    Zen); second-based terms add up. Raises ValueError with Zen's message. Cached: duration
    strings are nearly always literals of the expression."""
    seconds, months, years = 0, 0, 0
    index, length = 0, len(text)

    def first_digit() -> int | None:
        nonlocal index
        digit, index = _first_digit(text, index, "Expected")
        return digit

    def apply(number: int, unit_text: str) -> None:
        nonlocal seconds, months, years
        unit = _UNITS.get(unit_text)
        if unit is None:
            raise ValueError(f"Unknown time unit {unit_text}")
        if unit in (MONTH, QUARTER, YEAR):
            amount = number * 3 if unit == QUARTER else number
            if amount > _I32_MAX:
                raise ValueError("Number is too large")
            if unit == YEAR:
                years = amount
            else:
                months = amount
            return
        seconds += _UNIT_SECONDS[unit] * number
        if number > _I64_MAX or seconds > _I64_MAX:
            raise ValueError("Number is too large")

    number = first_digit()
    if number is None:
        raise ValueError("Value is empty")
    while True:
        unit_start = length
        while index < length:  # rest of the number
            char = text[index]
            if char in _DIGITS:
                number = number * 10 + ord(char) - 48
                if number > _U64_MAX:
                    raise ValueError("Number is too large")
            elif char.isascii() and char.isalpha():
                unit_start = index
                break
            elif char not in _WHITESPACE:
                raise ValueError(f"Invalid character at {_byte_offset(text, index)}")
            index += 1
        index = unit_start + 1 if unit_start < length else length
        unit_end, next_number, index = _unit_end(text, index, _is_ascii_letter, "Invalid")
        apply(number, text[unit_start:unit_end])
        if next_number is not None:
            number = next_number
            continue
        following = first_digit()
        if following is None:
            return Duration(seconds, months, years)
        number = following


def _duration_of(amount: int | float, unit: str) -> Duration | None:
    """``add(amount, unit)``: seconds-based units keep the decimal product truncated to whole
    seconds; months, quarters and years truncate the amount first (1.5 quarters: 3 months),
    as Zen does. None when out of Zen's range."""
    per_unit = _UNIT_SECONDS.get(unit)
    if per_unit is not None:
        seconds = (amount * per_unit if type(amount) is int
                   else int(to_decimal(amount) * per_unit))
        return Duration(seconds=seconds) if abs(seconds) <= _I64_MAX else None
    whole = _truncate(amount)
    if abs(whole) > _I32_MAX:
        return None
    if unit == YEAR:
        return Duration(years=whole)
    return Duration(months=whole * 3 if unit == QUARTER else whole)


# -- calendar arithmetic ----------------------------------------------------------------------


def _relocal(date: ZenDate, naive: datetime | None, ns: int) -> ZenDate | None:
    """One chrono ``with_*`` step: the new wall time, resolved uniquely in the date's zone."""
    if naive is None or date._zone is None:
        return None
    return _at_local(naive, ns, date._zone)


def _steps(date: ZenDate, walls: list[datetime | None], ns: int) -> ZenDate:
    """Apply successive wall times (each one a single chrono ``with_*`` call); any step that
    does not exist or is ambiguous in the zone makes the whole result invalid."""
    zone = date._zone
    if zone is not None and zone.fixed is not None:
        # a fixed-offset zone resolves every wall time, so only the last step matters
        last = walls[-1]
        return INVALID if last is None else ZenDate._make(
            last, zone.fixed, _naive_epoch(last) - zone.fixed, ns, zone)
    current: ZenDate | None = date
    previous: datetime | None = None
    for wall in walls:
        if wall is None or current is None:
            return INVALID
        if wall != previous:  # resolving the same wall time twice gives the same answer
            current = _relocal(current, wall, ns)
            previous = wall
    return INVALID if current is None else current


def _replace(naive: datetime | None, **fields: Any) -> datetime | None:
    if naive is None:
        return None
    try:
        return naive.replace(**fields)
    except (ValueError, OverflowError):
        return None


def _shift_days(naive: datetime, days: int) -> datetime | None:
    try:
        return naive + timedelta(days=days)
    except OverflowError:
        return None


def _add_months(naive: datetime, months: int) -> datetime | None:
    """chrono ``checked_add_months``: the day is clamped to the end of the target month."""
    total = naive.year * 12 + naive.month - 1 + months
    year, month = divmod(total, 12)
    if not 1 <= year <= 9999:
        return None
    return naive.replace(year=year, month=month + 1,
                         day=min(naive.day, _days_in_month(year, month + 1)))


def add_duration(date: ZenDate, duration: Duration) -> ZenDate:
    """``date.add(...)``: exact seconds on the instant, then months, then years on the wall
    time (each re-resolved in the zone, so an ambiguous result is invalid, as in Zen)."""
    local, zone = date._local, date._zone
    if local is None or zone is None:
        return INVALID
    epoch, ns = date._epoch, date._ns
    if ns >= NANOS and duration.seconds != 0:
        # leaving a leap second (chrono): forwards from its start, backwards from its end
        ns -= NANOS
        if duration.seconds < 0:
            epoch += 1
    moved = _at_instant(epoch + duration.seconds, ns, zone)
    if moved._local is None:
        return INVALID
    if duration.months == 0 and duration.years == 0:
        # Zen still re-resolves the unchanged wall time, which fails only if it is ambiguous
        unique = zone.fixed is not None or len(_local_offsets(moved._local, zone)) == 1
        return moved if unique else INVALID
    stepped = _relocal(moved, _add_months(moved._local, duration.months), ns)
    if stepped is None or stepped._local is None:
        return INVALID
    year = stepped._local.year + duration.years
    if not 1 <= year <= 9999:
        return INVALID
    return _relocal(stepped, _replace(stepped._local, year=year), ns) or INVALID


def start_of(date: ZenDate, unit: str) -> ZenDate:
    """``date.startOf(unit)``: chrono's field-by-field steps (weeks start on Monday)."""
    local = date._local
    if local is None:
        return INVALID
    walls: list[datetime | None] = []
    if unit == SECOND:
        walls.append(local)
    elif unit == MINUTE:
        walls.append(local.replace(second=0))
    elif unit == HOUR:
        walls += [local.replace(minute=0), local.replace(minute=0, second=0)]
    else:
        start: datetime | None = local
        if unit == WEEK:
            weekday = local.weekday()
            start = _shift_days(local, -weekday) if weekday else local
            if weekday:
                walls.append(start)
        elif unit == MONTH:
            start = local.replace(day=1)
            walls.append(start)
        elif unit in (QUARTER, YEAR):
            # chrono sets the month first: May 31 -> April 31 does not exist -> invalid
            month = _replace(local, month=1 if unit == YEAR else (local.month - 1) // 3 * 3 + 1)
            start = _replace(month, day=1)
            walls += [month, start]
        walls += _zero_time(start)
    return _steps(date, walls, 0)


def _zero_time(naive: datetime | None) -> list[datetime | None]:
    if naive is None:
        return [None]
    hour = naive.replace(hour=0)
    minute = hour.replace(minute=0)
    return [hour, minute, minute.replace(second=0)]


def _last_time(naive: datetime | None) -> list[datetime | None]:
    if naive is None:
        return [None]
    hour = naive.replace(hour=23)
    minute = hour.replace(minute=59)
    return [hour, minute, minute.replace(second=59)]


def end_of(date: ZenDate, unit: str) -> ZenDate:
    """``date.endOf(unit)``: the last nanosecond of the unit, chrono's steps (weeks end on
    Sunday)."""
    local = date._local
    if local is None:
        return INVALID
    walls: list[datetime | None] = [local]  # with_nanosecond(999_999_999) first
    if unit == MINUTE:
        walls.append(local.replace(second=59))
    elif unit == HOUR:
        walls += [local.replace(minute=59), local.replace(minute=59, second=59)]
    elif unit != SECOND:
        last: datetime | None = local
        if unit == WEEK:
            days = 6 - local.weekday()
            if days:
                last = _shift_days(local, days)
                walls.append(last)
        elif unit == MONTH:
            last = local.replace(day=_days_in_month(local.year, local.month))
            walls.append(last)
        elif unit in (QUARTER, YEAR):
            month = 12 if unit == YEAR else ((local.month - 1) // 3 + 1) * 3
            # chrono sets the month first: July 31 -> September 31 does not exist -> invalid
            moved = _replace(local, month=month)
            last = _replace(moved, day=_days_in_month(local.year, month))
            walls += [moved, last]
        walls += _last_time(last)
    return _steps(date, walls, 999_999_999)


def set_unit(date: ZenDate, unit: str, value: int) -> ZenDate:
    """``date.set(unit, value)``: one wall-time field; invalid if the result does not exist."""
    local = date._local
    if local is None:
        return INVALID
    field = {SECOND: "second", MINUTE: "minute", HOUR: "hour", DAY: "day",
             MONTH: "month", YEAR: "year"}.get(unit)
    if field is None:  # week and quarter: Zen ignores them
        return date
    return _relocal(date, _replace(local, **{field: value}), date._ns) or INVALID


def _millis(date: ZenDate) -> int:
    return date._epoch * 1000 + date._ns // 1_000_000


def _month_diff(a: ZenDate, b: ZenDate) -> float:
    """moment.js-style fractional month difference (Zen's port), a - b."""
    a_local, b_local = a._local, b._local
    assert a_local is not None and b_local is not None
    if a_local.day < b_local.day:
        return -_month_diff(b, a)
    whole = (b_local.year - a_local.year) * 12 + (b_local.month - a_local.month)
    anchor = _months_from(a, whole)
    behind = _millis(b) - _millis(anchor) < 0
    anchor2 = _months_from(a, whole + (-1 if behind else 1))
    numerator = _millis(b) - _millis(anchor)
    denominator = (_millis(anchor) - _millis(anchor2) if behind
                   else _millis(anchor2) - _millis(anchor))
    fractional = numerator / denominator if denominator != 0 else 0.0
    return -(whole + fractional)


def _months_from(date: ZenDate, months: int) -> ZenDate:
    assert date._local is not None
    moved = _relocal(date, _add_months(date._local, months), date._ns)
    return date if moved is None else moved


def diff(a: ZenDate, b: ZenDate, unit: str | None) -> int | None:
    """``a.diff(b, unit)``: a - b in whole units, truncated toward zero; milliseconds
    without a unit. Days and weeks ignore the offset difference of the two dates."""
    if a._local is None or b._local is None:
        return None
    diff_ms = _millis(a) - _millis(b)
    if unit is None:
        return diff_ms
    if unit in (YEAR, MONTH, QUARTER):
        result = _month_diff(a, b) / {YEAR: 12.0, MONTH: 1.0, QUARTER: 3.0}[unit]
    elif unit in (DAY, WEEK):
        zone_delta = (b._offset - a._offset) * 1000
        result = (diff_ms - zone_delta) / (_UNIT_SECONDS[unit] * 1000.0)
    else:
        result = diff_ms / (_UNIT_SECONDS[unit] * 1000.0)
    return math.ceil(result) if result < 0.0 else math.floor(result)


def is_same(a: ZenDate, b: ZenDate, unit: str | None) -> bool:
    if a._local is None or b._local is None:
        return False
    if unit is None:
        return _millis(a) == _millis(b)
    start, end = start_of(a, unit), end_of(a, unit)
    if start._local is None or end._local is None:
        return False
    return start._sort_key() <= b._sort_key() <= end._sort_key()


def is_before(a: ZenDate, b: ZenDate, unit: str | None) -> bool:
    if a._local is None or b._local is None:
        return False
    end = a if unit is None else end_of(a, unit)
    return end._local is not None and end._sort_key() < b._sort_key()


def is_after(a: ZenDate, b: ZenDate, unit: str | None) -> bool:
    if a._local is None or b._local is None:
        return False
    start = a if unit is None else start_of(a, unit)
    return start._local is not None and b._sort_key() < start._sort_key()


# -- formatting (chrono strftime) -------------------------------------------------------------

_SHORT_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                 "Dec")
_LONG_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
                "September", "October", "November", "December")
_SHORT_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_LONG_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# numeric specifiers: letter -> default width, default padding ("0" zero, " " space)
_NUMERIC_SPECS = {
    "Y": (4, "0"), "C": (2, "0"), "y": (2, "0"), "G": (4, "0"), "g": (2, "0"), "q": (1, "0"),
    "m": (2, "0"), "d": (2, "0"), "e": (2, " "), "U": (2, "0"), "W": (2, "0"), "V": (2, "0"),
    "w": (1, "0"), "u": (1, "0"), "j": (3, "0"), "H": (2, "0"), "k": (2, " "), "I": (2, "0"),
    "l": (2, " "), "M": (2, "0"), "S": (2, "0"), "f": (9, "0"), "s": (1, "0"),
}
_COMPOSITES = {
    "D": "%m/%d/%y", "x": "%m/%d/%y", "F": "%Y-%m-%d", "v": "%e-%b-%Y", "R": "%H:%M",
    "T": "%H:%M:%S", "X": "%H:%M:%S", "r": "%I:%M:%S %p", "c": "%a %b %e %H:%M:%S %Y",
}
_FIXED_SPECS = {"a": "a", "A": "A", "b": "b", "h": "b", "B": "B", "p": "p", "P": "P",
                "Z": "Z", "z": "z", "+": "+"}

class _Num(NamedTuple):
    """A numeric strftime item: specifier letter, minimum width, pad ('0', ' ' or none)."""

    letter: str
    width: int
    pad: str


class _Text(NamedTuple):
    """A non-numeric strftime item (names, offsets, fractions, RFC 3339)."""

    name: str


_FormatItem = str | _Num | _Text  # a str item is literal text


@lru_cache(maxsize=512)
def _compile_format(pattern: str) -> tuple[_FormatItem, ...] | None:
    """chrono's StrftimeItems; None when the pattern has an item chrono cannot format."""
    items: list[_FormatItem] = []
    index, length = 0, len(pattern)
    literal_start = 0
    while index < length:
        if pattern[index] != "%":
            index += 1
            continue
        if literal_start < index:
            items.append(pattern[literal_start:index])
        index += 1
        pad: str | None = None
        if index < length and pattern[index] in "-_0":
            pad = {"-": "", "_": " ", "0": "0"}[pattern[index]]
            index += 1
        if index >= length:
            return None
        spec = pattern[index]
        index += 1
        if spec in _NUMERIC_SPECS:
            width, default_pad = _NUMERIC_SPECS[spec]
            items.append(_Num(spec, width, default_pad if pad is None else pad))
        elif pad is not None:
            return None  # chrono: padding modifiers only apply to single numeric items
        elif spec in _COMPOSITES:
            expanded = _compile_format(_COMPOSITES[spec])
            assert expanded is not None
            items.extend(expanded)
        elif spec in _FIXED_SPECS:
            items.append(_Text(_FIXED_SPECS[spec]))
        elif spec == "%":
            items.append("%")
        elif spec == "t":
            items.append("\t")
        elif spec == "n":
            items.append("\n")
        elif spec == ":":
            colons = 1
            while index < length and pattern[index] == ":" and colons < 3:
                colons += 1
                index += 1
            if index >= length or pattern[index] != "z":
                return None
            index += 1
            items.append(_Text(":" * colons + "z"))
        elif spec == ".":
            if pattern.startswith("f", index):
                items.append(_Text(".f"))
                index += 1
            elif index + 1 < length and pattern[index] in "369" and pattern[index + 1] == "f":
                items.append(_Text("." + pattern[index]))
                index += 2
            else:
                return None
        elif spec in "369" and pattern.startswith("f", index):
            items.append(_Text(spec))
            index += 1
        else:
            return None  # unknown specifier, or '%#z' (parse-only in chrono)
        literal_start = index
    if literal_start < length:
        items.append(pattern[literal_start:])
    return tuple(items)


def _fraction(ns: int, digits: int) -> str:
    return f"{ns // 10 ** (9 - digits):0{digits}d}"


def _auto_fraction(ns: int) -> str:
    if ns == 0:
        return ""
    if ns % 1_000_000 == 0:
        return "." + _fraction(ns, 3)
    if ns % 1000 == 0:
        return "." + _fraction(ns, 6)
    return "." + _fraction(ns, 9)


def _number(letter: str, local: datetime, date: ZenDate) -> int:
    if letter == "Y":
        return local.year
    if letter == "m":
        return local.month
    if letter == "d" or letter == "e":
        return local.day
    if letter == "H" or letter == "k":
        return local.hour
    if letter == "M":
        return local.minute
    if letter == "S":
        return local.second + (1 if date._ns >= NANOS else 0)
    if letter == "I" or letter == "l":
        return (local.hour + 11) % 12 + 1
    if letter == "f":
        return date._ns % NANOS
    if letter == "C":
        return local.year // 100
    if letter == "y":
        return local.year % 100
    if letter == "q":
        return (local.month - 1) // 3 + 1
    if letter == "j":
        return local.timetuple().tm_yday
    if letter == "u":
        return local.isoweekday()
    if letter == "w":
        return local.isoweekday() % 7
    if letter == "U":
        return (local.timetuple().tm_yday - local.isoweekday() % 7 + 6) // 7
    if letter == "W":
        return (local.timetuple().tm_yday - local.weekday() + 6) // 7
    if letter == "V":
        return local.isocalendar()[1]
    if letter == "G":
        return local.isocalendar()[0]
    if letter == "g":
        return local.isocalendar()[0] % 100
    return date._epoch  # "s"


def _abbreviation(date: ZenDate) -> str:
    zone, local = date._zone, date._local
    assert zone is not None and local is not None
    if zone.fixed is None and date._epoch >= _TABLE_END:
        return zone.final_name
    utc = local - timedelta(seconds=date._offset)
    return zone.info.fromutc(utc.replace(tzinfo=zone.info)).tzname() or ""


def _fixed(name: str, local: datetime, date: ZenDate) -> str:
    ns = date._ns % NANOS
    if name == "a":
        return _SHORT_DAYS[local.weekday()]
    if name == "A":
        return _LONG_DAYS[local.weekday()]
    if name == "b":
        return _SHORT_MONTHS[local.month - 1]
    if name == "B":
        return _LONG_MONTHS[local.month - 1]
    if name == "p":
        return "AM" if local.hour < 12 else "PM"
    if name == "P":
        return "am" if local.hour < 12 else "pm"
    if name == "Z":
        return _abbreviation(date)
    if name.endswith("z"):
        return _offset_text(date._offset, name)
    if name == ".f":
        return _auto_fraction(ns)
    if name[0] == ".":
        return "." + _fraction(ns, int(name[1]))
    if name in "369":
        return _fraction(ns, int(name))
    # "+": RFC 3339 with automatic fraction and a numeric offset
    second = local.second + (1 if date._ns >= NANOS else 0)
    return (f"{local.year:04d}-{local.month:02d}-{local.day:02d}T{local.hour:02d}:"
            f"{local.minute:02d}:{second:02d}{_auto_fraction(ns)}"
            f"{_offset_text(date._offset, ':z')}")


def _naive_text(local: datetime, ns: int) -> str:
    """chrono's NaiveDateTime Display: 'YYYY-MM-DD HH:MM:SS[.fff|.ffffff|.fffffffff]'."""
    second = local.second + (1 if ns >= NANOS else 0)
    return (f"{local.year:04d}-{local.month:02d}-{local.day:02d} {local.hour:02d}:"
            f"{local.minute:02d}:{second:02d}{_auto_fraction(ns % NANOS)}")


def format_date(date: ZenDate, pattern: str | None) -> str:
    """``date.format(pattern)``: chrono strftime; without a pattern, chrono's Display
    ('2023-10-15 14:30:45.123 CEST'). Raises ExpressionEvaluationError for a bad pattern."""
    local = date._local
    if local is None:
        return "Invalid date"
    if pattern is None:
        return f"{_naive_text(local, date._ns)} {_abbreviation(date)}"
    items = _compile_format(pattern)
    if items is None:
        raise _fail("format", f"invalid format string {pattern!r}")
    parts = []
    for item in items:
        if isinstance(item, str):
            parts.append(item)
        elif isinstance(item, _Num):
            value = _number(item.letter, local, date)
            if item.pad == "0":
                parts.append(f"{value:0{item.width}d}")
            elif item.pad:
                parts.append(f"{value:>{item.width}d}")
            else:
                parts.append(str(value))
        else:
            parts.append(_fixed(item.name, local, date))
    return "".join(parts)


# -- date methods -----------------------------------------------------------------------------

METHODS: dict[str, tuple[int, int | None]] = {
    "add": (1, 2), "sub": (1, 2), "set": (2, 2), "format": (0, 1), "startOf": (1, 1),
    "endOf": (1, 1), "diff": (1, 2), "tz": (1, 1), "isSame": (1, 2), "isBefore": (1, 2),
    "isAfter": (1, 2), "isSameOrBefore": (1, 2), "isSameOrAfter": (1, 2),
    **dict.fromkeys(("second", "minute", "hour", "day", "dayOfYear", "week", "weekday",
                     "month", "quarter", "year", "timestamp", "offsetName", "isValid",
                     "isYesterday", "isToday", "isTomorrow", "isLeapYear"), (0, 0)),
}


def _unit_argument(method: str, value: Any) -> str:
    if type(value) is not str:
        raise _fail(f"date method {method}", f"unit must be a string, got {type_name(value)}")
    unit = _UNITS.get(value)
    if unit is None:
        raise _fail(f"date method {method}", f"invalid duration unit {value!r}")
    return unit


def _optional_unit(method: str, args: list[Any], index: int) -> str | None:
    return _unit_argument(method, args[index]) if len(args) > index else None


def _duration_argument(method: str, args: list[Any]) -> Duration:
    first = args[0]
    if type(first) is str:
        try:
            return parse_duration(first)
        except ValueError as error:
            raise _fail(f"date method {method}", f"invalid duration {first!r}: {error}") from None
    if _is_number(first):
        if len(args) < 2:
            raise _fail(f"date method {method}", "a number needs a unit as second argument")
        duration = _duration_of(first, _unit_argument(method, args[1]))
        if duration is None:
            raise _fail(f"date method {method}", f"duration {first!r} {args[1]} is out of range")
        return duration
    raise _fail(f"date method {method}", f"expects a duration string or a number and a unit, "
                                         f"got {type_name(first)}")


def _zone_argument(where: str, value: Any) -> _Zone:
    if type(value) is not str:
        raise _fail(where, f"time zone must be a string, got {type_name(value)}")
    zone = _find_zone(value)
    if zone is None:
        raise _fail(where, f"invalid time zone {value!r}")
    return zone


def _add(date: ZenDate, args: list[Any]) -> ZenDate:
    return add_duration(date, _duration_argument("add", args))


def _sub(date: ZenDate, args: list[Any]) -> ZenDate:
    seconds, months, years = _duration_argument("sub", args)
    return add_duration(date, Duration(-seconds, -months, -years))


def _set(date: ZenDate, args: list[Any]) -> ZenDate:
    unit = _unit_argument("set", args[0])
    value = args[1]
    if not _is_number(value):
        raise _fail("date method set", f"value must be a number, got {type_name(value)}")
    whole = _truncate(value)
    if not 0 <= whole <= _U32_MAX or (type(value) is float and value < 0):
        raise _fail("date method set", f"invalid value {value!r}")
    return set_unit(date, unit, whole)


def _format(date: ZenDate, args: list[Any]) -> str:
    if args and type(args[0]) is not str:
        raise _fail("date method format", f"format must be a string, got {type_name(args[0])}")
    return format_date(date, args[0] if args else None)


def _start_of(date: ZenDate, args: list[Any]) -> ZenDate:
    return start_of(date, _unit_argument("startOf", args[0]))


def _end_of(date: ZenDate, args: list[Any]) -> ZenDate:
    return end_of(date, _unit_argument("endOf", args[0]))


def _diff(date: ZenDate, args: list[Any]) -> int | None:
    unit = _optional_unit("diff", args, 1)
    return diff(date, parse_date(args[0]), unit)


def _tz(date: ZenDate, args: list[Any]) -> ZenDate:
    zone = _zone_argument("date method tz", args[0])
    return date if date._local is None else _at_instant(date._epoch, date._ns, zone)


def _comparison(name: str, check: Callable[[ZenDate, ZenDate, str | None], bool]) -> Callable[
        [ZenDate, list[Any]], bool]:
    def compare(date: ZenDate, args: list[Any]) -> bool:
        unit = _optional_unit(name, args, 1)
        return check(date, parse_date(args[0]), unit)

    return compare


def _same_or_before(a: ZenDate, b: ZenDate, unit: str | None) -> bool:
    return is_before(a, b, unit) or is_same(a, b, unit)


def _same_or_after(a: ZenDate, b: ZenDate, unit: str | None) -> bool:
    return is_after(a, b, unit) or is_same(a, b, unit)


def _relative_day(days: int) -> Callable[[ZenDate], bool]:
    def check(date: ZenDate) -> bool:
        today = now()
        other = today if days == 0 else add_duration(today, Duration(seconds=86_400 * days))
        return is_same(date, other, DAY)

    return check


def _getter(read: Callable[[ZenDate], Any]) -> Callable[[ZenDate, list[Any]], Any]:
    def get(date: ZenDate, args: list[Any]) -> Any:
        return None if date._local is None else read(date)

    return get


def _local(date: ZenDate) -> datetime:
    assert date._local is not None
    return date._local


_METHOD_IMPLEMENTATIONS: dict[str, Callable[[ZenDate, list[Any]], Any]] = {
    "add": _add,
    "sub": _sub,
    "set": _set,
    "format": _format,
    "startOf": _start_of,
    "endOf": _end_of,
    "diff": _diff,
    "tz": _tz,
    "isSame": _comparison("isSame", is_same),
    "isBefore": _comparison("isBefore", is_before),
    "isAfter": _comparison("isAfter", is_after),
    "isSameOrBefore": _comparison("isSameOrBefore", _same_or_before),
    "isSameOrAfter": _comparison("isSameOrAfter", _same_or_after),
    "second": _getter(lambda date: _local(date).second),
    "minute": _getter(lambda date: _local(date).minute),
    "hour": _getter(lambda date: _local(date).hour),
    "day": _getter(lambda date: _local(date).day),
    "dayOfYear": _getter(lambda date: _local(date).timetuple().tm_yday),
    "week": _getter(lambda date: _local(date).isocalendar()[1]),
    "weekday": _getter(lambda date: _local(date).isoweekday()),
    "month": _getter(lambda date: _local(date).month),
    "quarter": _getter(lambda date: (_local(date).month - 1) // 3 + 1),
    "year": _getter(lambda date: _local(date).year),
    "timestamp": _getter(lambda date: _millis(date)),
    "offsetName": _getter(lambda date: date.timezone),
    "isValid": lambda date, args: date._local is not None,
    "isYesterday": _getter(_relative_day(-1)),
    "isToday": _getter(_relative_day(0)),
    "isTomorrow": _getter(_relative_day(1)),
    "isLeapYear": _getter(lambda date: _is_leap(_local(date).year)),
}


def call_method(target: ZenDate, name: str, args: list[Any]) -> Any:
    """Evaluate ``target.name(*args)`` for a date method."""
    implementation = _METHOD_IMPLEMENTATIONS.get(name)
    if implementation is None:
        raise ExpressionEvaluationError(f"unknown date method {name}()")
    low, high = METHODS[name]
    if len(args) < low or (high is not None and len(args) > high):
        expected = str(low) if low == high else f"{low} to {high}"
        raise ExpressionEvaluationError(
            f"date method {name}() takes {expected} argument(s), got {len(args)}")
    return implementation(target, args)


# -- functions --------------------------------------------------------------------------------

FUNCTIONS: dict[str, Builtin] = {}


@builtin(FUNCTIONS, "d", 0, 2)
def zen_d(*args: Any) -> ZenDate:
    """``d()`` now, ``d(value)`` a date from text, epoch milliseconds or a date,
    ``d(value, zone)`` the same in an IANA zone (an unknown zone is an error)."""
    if not args:
        return now()
    if len(args) == 2:
        return parse_date(args[0], _zone_argument("d", args[1]))
    return parse_date(args[0])


# Legacy (deprecated) functions work on naive UTC date times and return epoch seconds.

_LEGACY_UNITS = {
    **dict.fromkeys(("s", "second", "seconds"), SECOND),
    **dict.fromkeys(("m", "minute", "minutes"), MINUTE),
    **dict.fromkeys(("h", "hour", "hours"), HOUR),
    **dict.fromkeys(("d", "day", "days"), DAY),
    **dict.fromkeys(("w", "week", "weeks"), WEEK),
    **dict.fromkeys(("M", "month", "months"), MONTH),
    **dict.fromkeys(("y", "year", "years"), YEAR),
}


def _utc_fields(epoch: int, ns: int) -> _Fields | None:
    try:
        return _Fields(_EPOCH + timedelta(seconds=epoch), ns)
    except OverflowError:
        return None


def _legacy_parse(text: str) -> _Fields | None:
    """Zen's legacy parser: 'now', 'YYYY-MM-DD HH:MM:SS', 'YYYY-MM-DD' or RFC 3339 (as UTC)."""
    if text == "now":
        return _utc_fields(*_utc_now())
    return _legacy_parse_text(text)


@lru_cache(maxsize=1024)
def _legacy_parse_text(text: str) -> _Fields | None:
    fields = _scan(text, "Y-m-d H:M:S") or _scan(text, "Y-m-d", date_only=True)
    if fields is not None:
        return fields
    rfc = _parse_rfc3339(text)
    return None if rfc is None else _utc_fields(*rfc)


def _legacy_datetime(name: str, value: Any) -> _Fields:
    fields: _Fields | None = None
    kind = type(value)
    if kind is str:
        fields = _legacy_parse(value)
    elif kind is int or kind is float:
        seconds = _truncate(value)
        if abs(seconds) <= _I64_MAX:
            fields = _utc_fields(seconds, 0)
    elif kind is ZenDate and value._local is not None:
        fields = _utc_fields(value._epoch, value._ns)
    if fields is None:
        raise _fail(name, f"cannot convert {_describe(value)} to a date time")
    return fields


def _describe(value: Any) -> str:
    if type(value) is str:
        return repr(value)
    if type(value) is ZenDate:
        return "an invalid date"
    return type_name(value)


@builtin(FUNCTIONS, "date", 1)
def zen_date(value: Any) -> int:
    """Deprecated: epoch seconds of a date text, a number (kept) or a date."""
    kind = type(value)
    if kind is str:
        fields = _legacy_parse(value)
        if fields is None:
            raise _fail("date", f"cannot parse {value!r} as a date time")
        return _naive_epoch(fields.naive)
    if kind is int or kind is float:
        seconds = _truncate(value)
        if abs(seconds) > _I64_MAX:
            raise _fail("date", f"number {value!r} is out of range")
        return seconds
    if kind is ZenDate and value._local is not None:
        return value._epoch
    raise _fail("date", f"unsupported argument type {_describe(value)}")


@builtin(FUNCTIONS, "time", 1)
def zen_time(value: Any) -> int:
    """Deprecated: seconds since midnight (UTC) of a time or date text, a number or a date."""
    kind = type(value)
    if kind is str:
        if value == "now":
            return _utc_now()[0] % 86_400
        for pattern in ("Y-m-d H:M:S", "H:M:S", "H:M"):
            seconds = _time_of_day(value, pattern)
            if seconds is not None:
                return seconds
        rfc = _parse_rfc3339(value)
        if rfc is None:
            raise _fail("time", f"cannot parse {value!r} as a time")
        return rfc[0] % 86_400
    if kind is int or kind is float:
        seconds = _truncate(value)
        if not 0 <= seconds <= _U32_MAX or (kind is float and value < 0):
            raise _fail("time", f"number {value!r} is out of range")
        return seconds
    if kind is ZenDate:
        if value._local is None:
            raise _fail("time", "cannot convert an invalid date to a date time")
        return value._epoch % 86_400
    raise _fail("time", f"unsupported argument type {type_name(value)}")


@builtin(FUNCTIONS, "duration", 1)
def zen_duration(value: Any) -> int:
    """Deprecated: whole seconds of a humantime duration text ('1h 30m', '2 days', '1.5h')."""
    kind = type(value)
    if kind is str:
        try:
            return _humantime_seconds(value)
        except ValueError as error:
            raise _fail("duration", f"invalid duration {value!r}: {error}") from None
    if kind is int or kind is float:
        seconds = _truncate(value)
        if not 0 <= seconds <= _U64_MAX or (kind is float and value < 0):
            raise _fail("duration", f"number {value!r} is out of range")
        return seconds
    raise _fail("duration", f"unsupported argument type {type_name(value)}")


_HUMANTIME_UNITS = {
    **dict.fromkeys(("nanos", "nsec", "ns"), (0, 1)),
    **dict.fromkeys(("usec", "us", "µs"), (0, 1000)),
    **dict.fromkeys(("millis", "msec", "ms"), (0, 1_000_000)),
    **dict.fromkeys(("seconds", "second", "secs", "sec", "s"), (1, 0)),
    **dict.fromkeys(("minutes", "minute", "min", "mins", "m"), (60, 0)),
    **dict.fromkeys(("hours", "hour", "hr", "hrs", "h"), (3600, 0)),
    **dict.fromkeys(("days", "day", "d"), (86_400, 0)),
    **dict.fromkeys(("weeks", "week", "wk", "wks", "w"), (604_800, 0)),
    **dict.fromkeys(("months", "month", "M"), (2_630_016, 0)),
    **dict.fromkeys(("years", "year", "yr", "yrs", "y"), (31_557_600, 0)),
}
_HUMANTIME_OVERFLOW = ("number is too large or cannot be represented without a lack of "
                       "precision (values below 1ns are not supported)")


def _u64(value: int) -> int:
    if value > _U64_MAX:
        raise ValueError(_HUMANTIME_OVERFLOW)
    return value


def _exact_division(numerator: int, denominator: int) -> int:
    # humantime refuses a fraction that does not give a whole number of its base unit
    if numerator % denominator:
        raise ValueError(_HUMANTIME_OVERFLOW)
    return numerator // denominator


def _is_unit_char(char: str) -> bool:
    return (char.isascii() and char.isalpha()) or char == "µ"


def _humantime_seconds(text: str) -> int:
    """The humantime 2.2 parser Zen's legacy ``duration()`` uses; returns whole seconds."""
    if text == "0":
        return 0
    total_seconds, total_nanos = 0, 0
    index, length = 0, len(text)

    def first_digit() -> int | None:
        nonlocal index
        digit, index = _first_digit(text, index, "expected")
        return digit

    def fraction() -> tuple[int, int]:
        nonlocal index
        numerator, denominator = 0, 1
        error_at = index - 1  # the '.'
        while index < length:
            char = text[index]
            if char in _DIGITS:
                denominator = _u64(denominator * 10)
                numerator = _u64(numerator * 10 + ord(char) - 48)
            elif _is_unit_char(char):
                break
            elif char not in _WHITESPACE:
                raise ValueError(f"invalid character at {_byte_offset(text, error_at)}")
            index += 1
            error_at = index
        if denominator == 1:
            raise ValueError(f"invalid character at {_byte_offset(text, error_at)}")
        return numerator, denominator

    def apply(number: int, parts: tuple[int, int] | None, unit_text: str) -> None:
        nonlocal total_seconds, total_nanos
        unit = _HUMANTIME_UNITS.get(unit_text)
        if unit is None:
            if not unit_text:
                raise ValueError(f"time unit needed, for example {number}sec or {number}ms")
            raise ValueError(f'unknown time unit "{unit_text}", supported units: ns, us/µs, '
                             "ms, sec, min, hours, days, weeks, months, years (and few "
                             "variations)")
        per_second, per_nano = unit
        seconds, nanos = _u64(number * per_second), _u64(number * per_nano)
        if parts is not None:
            numerator, denominator = parts
            if per_nano == 1:
                raise ValueError(_HUMANTIME_OVERFLOW)
            if per_nano:
                nanos += _exact_division(_u64(numerator * per_nano), denominator)
            elif per_second < 3600:
                nanos += _exact_division(_u64(numerator * per_second * NANOS), denominator)
            else:
                seconds += _exact_division(_u64(numerator * per_second), denominator)
        total_nanos = _u64(total_nanos + nanos)
        total_seconds = _u64(total_seconds + seconds + total_nanos // NANOS)
        total_nanos %= NANOS

    number = first_digit()
    if number is None:
        raise ValueError("value was empty")
    while True:
        parts: tuple[int, int] | None = None
        unit_start = length
        while index < length:
            char = text[index]
            if char in _DIGITS:
                number = _u64(number * 10 + ord(char) - 48)
            elif _is_unit_char(char):
                unit_start = index
                break
            elif char == ".":
                index += 1
                parts = fraction()
                unit_start = index
                break
            elif char not in _WHITESPACE:
                raise ValueError(f"invalid character at {_byte_offset(text, index)}")
            index += 1
        index = unit_start + 1 if unit_start < length else length
        unit_end, next_number, index = _unit_end(text, index, _is_unit_char, "invalid")
        apply(number, parts, text[unit_start:unit_end])
        if next_number is not None:
            number = next_number
            continue
        following = first_digit()
        if following is None:
            return total_seconds
        number = following


def _legacy_getter(name: str, read: Callable[[datetime, int], Any]) -> None:
    def get(value: Any) -> Any:
        fields = _legacy_datetime(name, value)
        return read(fields.naive, fields.ns)

    get.__name__ = f"zen_{name}"
    get.__doc__ = f"Deprecated ``{name}()`` on a date text, epoch seconds or a date (UTC)."
    builtin(FUNCTIONS, name, 1)(get)


_legacy_getter("year", lambda naive, ns: naive.year)
_legacy_getter("dayOfWeek", lambda naive, ns: naive.isoweekday())
_legacy_getter("dayOfMonth", lambda naive, ns: naive.day)
_legacy_getter("dayOfYear", lambda naive, ns: naive.timetuple().tm_yday)
_legacy_getter("weekOfYear", lambda naive, ns: naive.isocalendar()[1])
_legacy_getter("monthOfYear", lambda naive, ns: naive.month)
_legacy_getter("monthString", lambda naive, ns: _SHORT_MONTHS[naive.month - 1])
_legacy_getter("weekdayString", lambda naive, ns: _SHORT_DAYS[naive.weekday()])
_legacy_getter("dateString", _naive_text)


def _legacy_bound(name: str, value: Any, unit_name: Any, start: bool) -> int:
    fields = _legacy_datetime(name, value)
    if type(unit_name) is not str:
        raise _fail(name, f"unit must be a string, got {type_name(unit_name)}")
    unit = _LEGACY_UNITS.get(unit_name)
    if unit is None:
        raise _fail(name, f"invalid date unit {unit_name!r}")
    naive: datetime | None = fields.naive
    assert naive is not None
    if unit == SECOND:
        return _naive_epoch(naive)
    if start:
        naive = naive.replace(second=0)
        if unit != MINUTE:
            naive = naive.replace(minute=0)
        if unit not in (MINUTE, HOUR):
            naive = naive.replace(hour=0)
        if unit == WEEK:
            naive = _shift_days(naive, -naive.weekday())
        elif unit in (MONTH, YEAR):
            naive = naive.replace(day=1, month=1 if unit == YEAR else naive.month)
    else:
        naive = naive.replace(second=59)
        if unit != MINUTE:
            naive = naive.replace(minute=59)
        if unit not in (MINUTE, HOUR):
            naive = naive.replace(hour=23)
        if unit == WEEK:
            naive = _shift_days(naive, 6 - naive.weekday())
        elif unit in (MONTH, YEAR):
            # Zen keeps the current month's day count for the end of the year (Feb -> Dec 28)
            naive = naive.replace(day=_days_in_month(naive.year, naive.month))
            if unit == YEAR:
                naive = naive.replace(month=12)
    if naive is None:
        raise _fail(name, "the result is out of range")
    return _naive_epoch(naive)


@builtin(FUNCTIONS, "startOf", 2)
def zen_start_of(value: Any, unit: Any) -> int:
    """Deprecated: epoch seconds of the start of the unit ('d', 'week', 'M'...) in UTC."""
    return _legacy_bound("startOf", value, unit, True)


@builtin(FUNCTIONS, "endOf", 2)
def zen_end_of(value: Any, unit: Any) -> int:
    """Deprecated: epoch seconds of the last second of the unit in UTC."""
    return _legacy_bound("endOf", value, unit, False)


__all__ = [
    "FUNCTIONS",
    "INVALID",
    "METHODS",
    "Duration",
    "ZenDate",
    "call_method",
    "default_timezone",
    "now",
    "parse_date",
    "parse_duration",
    "set_default_timezone",
    "use_now",
]
