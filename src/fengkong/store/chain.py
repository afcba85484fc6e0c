"""The hash chain of the decision log: canonical JSON, entry hashes, verification.

Each entry of a tenant's log commits to the one before it::

    hash = sha256(canonical_json({kind, seq, prev_hash, decision_id, tenant, flow,
                                  strategy_version, application_id, idempotency_key,
                                  request, response, outcome, trace, features,
                                  latency_ms, decided_at})).hexdigest()

with ``prev_hash`` of seq 1 sixty-four zeros. Canonical JSON is RFC 8785 (JCS): object
keys sorted by their UTF-16 code units, no whitespace, strings with JSON's minimal
escapes, UTF-8, numbers as ECMAScript prints them (``1.0`` is ``1``, ``1e-7`` is
``1e-7``, ``1e21`` is ``1e+21``) — except that integers are written exactly, however
large (JCS would round those above 2**53). Times are text, ``2024-05-01T08:30:00.000000Z``
(UTC, always six fraction digits). So any JCS library re-verifies the chain; the
auditor's recipe is in ``docs/store.md``.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from fengkong.store.model import ChainProblem, iso

ZERO_HASH = "0" * 64

#: The fields an entry's hash covers (``recorded_at`` is bookkeeping and is not covered).
HASHED_FIELDS = ("kind", "seq", "prev_hash", "decision_id", "tenant", "flow",
                 "strategy_version", "application_id", "idempotency_key", "request",
                 "response", "outcome", "trace", "features", "latency_ms", "decided_at")
_ORDER = sorted(HASHED_FIELDS)  # ASCII names: code-point order is UTF-16 order


def canonical_json(value: Any) -> str:
    """``value`` (JSON: dict, list, str, int, float, bool, None; a ``Decimal`` counts as the
    number it is) in RFC 8785 form."""
    return canonical(value)[0]


def canonical(value: Any) -> tuple[str, Any]:
    """``value`` in RFC 8785 form, and a Python value that reads as that text does (what
    ``json.loads`` of it would give, without parsing it again: whole floats are ints). The
    second shares unchanged parts with ``value``."""
    try:
        # The C encoder prints exactly the canonical form once whole floats are ints and
        # no float needs an exponent (see _fast); that is nearly every decision.
        plain = _fast(value)
        return json.dumps(plain, ensure_ascii=False, allow_nan=False, sort_keys=True,
                          separators=(",", ":")), plain
    except _Fallback:
        parts: list[str] = []
        _write(value, parts)
        text = "".join(parts)
        return text, json.loads(text)


class _Fallback(Exception):
    """The value needs the pure-Python writer."""


def _fast(value: Any) -> Any:
    """``value`` with every whole float (below 1e21) an int; raises _Fallback for what the
    C encoder would print differently from RFC 8785: floats that Python prints with an
    exponent below 1e-4 or above 1e16, keys outside the BMP (whose UTF-16 order differs
    from code-point order), anything not plain JSON. Containers are copied only when
    something in them changes."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is float:
        if value.is_integer() and abs(value) < 1e21:
            return int(value)
        if 1e-4 <= abs(value) < 1e16:
            return value  # repr and ECMAScript agree here: same digits, no exponent
        raise _Fallback
    if kind is Decimal:
        return _fast(plain_json(value))
    if kind is dict:
        copy: dict[str, Any] | None = None
        for key, item in value.items():
            if type(key) is not str or (not key.isascii() and max(key) > "\uffff"):
                raise _Fallback
            plain = _fast(item)
            if plain is not item:
                if copy is None:
                    copy = dict(value)
                copy[key] = plain
        return value if copy is None else copy
    if kind is list or kind is tuple:
        items: list[Any] | None = None if kind is list else list(value)
        for index, item in enumerate(value):
            plain = _fast(item)
            if plain is not item:
                if items is None:
                    items = list(value)
                items[index] = plain
        return value if items is None else items
    raise _Fallback


def _write(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        out.append(format_number(value))
    elif isinstance(value, Decimal):
        _write(plain_json(value), out)
    elif isinstance(value, dict):
        out.append("{")
        for index, key in enumerate(sorted(value, key=_utf16)):
            if not isinstance(key, str):
                raise TypeError(f"object key {key!r} is not text")
            if index:
                out.append(",")
            out.append(json.dumps(key, ensure_ascii=False))
            out.append(":")
            _write(value[key], out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _write(item, out)
        out.append("]")
    else:
        raise TypeError(f"{type(value).__name__} is not JSON")


def _utf16(key: Any) -> bytes:
    return key.encode("utf-16-be", "surrogatepass") if isinstance(key, str) else b""


def format_number(number: float) -> str:
    """A float as ECMAScript's Number.prototype.toString prints it (RFC 8785, 3.2.2.3)."""
    if not math.isfinite(number):
        raise ValueError(f"{number} is not a JSON number")
    if number == 0:
        return "0"  # also -0.0
    if number.is_integer() and abs(number) < 1e21:
        return str(int(number))
    # repr gives the shortest digits that read back as the same double, which is what
    # ECMAScript asks for; only the layout differs.
    sign, digit_tuple, exponent = Decimal(repr(number)).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0") or "0"
    assert isinstance(exponent, int)
    point = len("".join(map(str, digit_tuple))) + exponent  # value = 0.digits * 10**point
    minus = "-" if sign else ""
    if len(digits) <= point <= 21:
        return minus + digits + "0" * (point - len(digits))
    if 0 < point <= 21:
        return minus + digits[:point] + "." + digits[point:]
    if -6 < point <= 0:
        return minus + "0." + "0" * -point + digits
    power = point - 1
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{minus}{mantissa}e{'+' if power >= 0 else '-'}{abs(power)}"


def plain_json(value: Any) -> Any:
    """``Decimal`` becomes a JSON number (an integer when it is whole); the store keeps
    numbers as JSON does, so the service's decimal results are stored like the response
    it sends."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def to_json_text(value: Any) -> str:
    """The stored text of a JSON field (compact, UTF-8, no NaN)."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"),
                      default=plain_json)


def entry_hash(fields: Mapping[str, str]) -> str:
    """SHA-256 of an entry, given the canonical JSON text of each hashed field."""
    body = ",".join(f'"{name}":{fields[name]}' for name in _ORDER)
    data = ("{" + body + "}").encode("utf-8")
    digest = hashlib.sha256()
    # hashlib lets go of the GIL for inputs over 2 kB; the writer thread would then queue
    # behind busy request threads to get it back (a few ms each time). Hashing in pieces
    # keeps the GIL: a 10 kB entry hashes in ~10 us.
    for start in range(0, len(data), _PIECE):
        digest.update(data[start:start + _PIECE])
    return digest.hexdigest()


_PIECE = 2000


@dataclass(frozen=True, slots=True)
class LogRow:
    """One row of the decision log as stored (JSON fields parsed)."""

    tenant: str
    seq: int
    kind: str
    decision_id: str
    flow: str
    strategy_version: str
    application_id: str | None
    idempotency_key: str | None
    request: Any
    response: Any
    outcome: str
    trace: Any
    features: Any
    latency_ms: float | None
    decided_at: datetime
    prev_hash: str
    hash: str

    def fields(self, seq: int | None = None) -> dict[str, str]:
        """Canonical text of each hashed field (``seq`` overrides the stored position)."""
        return {
            "kind": canonical_json(self.kind),
            "seq": str(self.seq if seq is None else seq),
            "prev_hash": canonical_json(self.prev_hash),
            "decision_id": canonical_json(self.decision_id),
            "tenant": canonical_json(self.tenant),
            "flow": canonical_json(self.flow),
            "strategy_version": canonical_json(self.strategy_version),
            "application_id": canonical_json(self.application_id),
            "idempotency_key": canonical_json(self.idempotency_key),
            "request": canonical_json(self.request),
            "response": canonical_json(self.response),
            "outcome": canonical_json(self.outcome),
            "trace": canonical_json(self.trace),
            "features": canonical_json(self.features),
            "latency_ms": canonical_json(self.latency_ms),
            "decided_at": canonical_json(iso(self.decided_at)),
        }

    def computed_hash(self, seq: int | None = None) -> str:
        return entry_hash(self.fields(seq))


@dataclass
class TenantResult:
    """The outcome of walking one tenant's chain."""

    checked: int
    last: LogRow | None
    problems: list[ChainProblem]


def verify_tenant(tenant: str, rows: Iterable[LogRow], head: tuple[int, str] | None,
                  rows_with_hashes: Callable[[set[str]], Iterable[LogRow]]) -> TenantResult:
    """Walk one tenant's rows in stored seq order and name every problem.

    The walk is streaming (memory grows with problems, not with the log). Rows whose hash
    does not match their content are then explained, where possible, as *moved*: following
    ``prev_hash`` back to an intact entry gives the position the row was recorded at, and
    if its hash matches there, it was reordered rather than altered. ``rows_with_hashes``
    fetches the rows those links point to (a second pass, only when something is wrong).
    """
    problems: list[ChainProblem] = []
    failing: list[LogRow] = []
    checked = 0
    expected = 1
    previous: LogRow | None = None
    previous_failed = False
    for row in rows:
        checked += 1
        gap = row.seq != expected
        if row.seq > expected:
            missing = (f"seq {expected}" if row.seq == expected + 1
                       else f"seqs {expected}..{row.seq - 1}")
            problems.append(ChainProblem(tenant, expected, "removed",
                                         f"{missing} missing: entries were deleted"))
        content_ok = row.computed_hash() == row.hash
        if not content_ok:
            failing.append(row)
        elif not gap and not previous_failed:
            want = previous.hash if previous is not None else ZERO_HASH
            if row.prev_hash != want:
                problems.append(ChainProblem(
                    tenant, row.seq, "broken_link",
                    f"prev_hash {row.prev_hash[:16]}... is not the hash of seq "
                    f"{row.seq - 1} ({want[:16]}...): that entry was replaced or re-hashed"))
        previous, previous_failed = row, not content_ok
        expected = row.seq + 1
    if failing:
        problems.extend(_explain(tenant, failing, rows_with_hashes))
    if previous is not None and head is None:
        problems.append(ChainProblem(tenant, previous.seq, "head_mismatch",
                                     "chain_heads has no head for this tenant"))
    elif head is not None:
        head_seq, head_hash = head
        last_seq, last_hash = (previous.seq, previous.hash) if previous else (0, ZERO_HASH)
        if head_seq > last_seq:
            problems.append(ChainProblem(
                tenant, last_seq + 1, "truncated",
                f"chain_heads records seq {head_seq} ({head_hash[:16]}...) but the log ends "
                f"at seq {last_seq}: entries were removed from the tail"))
        elif (head_seq, head_hash) != (last_seq, last_hash):
            problems.append(ChainProblem(
                tenant, last_seq, "head_mismatch",
                f"chain_heads records seq {head_seq} ({head_hash[:16]}...), the log ends at "
                f"seq {last_seq} ({last_hash[:16]}...)"))
    problems.sort(key=lambda problem: problem.seq)
    return TenantResult(checked, previous, problems)


def _explain(tenant: str, failing: list[LogRow],
             rows_with_hashes: Callable[[set[str]], Iterable[LogRow]]) -> list[ChainProblem]:
    by_hash = {row.hash: row for row in failing}
    wanted = {row.prev_hash for row in failing} - set(by_hash) - {ZERO_HASH}
    for row in rows_with_hashes(wanted) if wanted else ():
        by_hash.setdefault(row.hash, row)
    recorded_at: dict[str, int | None] = {}

    def position(row: LogRow, depth: int = 0) -> int | None:
        """The seq ``row`` was recorded at, or None when its content does not match."""
        if row.hash in recorded_at:
            return recorded_at[row.hash]
        recorded_at[row.hash] = None  # a cycle of links resolves to nothing
        found: int | None = None
        if row.computed_hash() == row.hash:
            found = row.seq
        elif depth < 10_000:
            before = 0 if row.prev_hash == ZERO_HASH else None
            linked = by_hash.get(row.prev_hash)
            if before is None and linked is not None:
                before = position(linked, depth + 1)
            if before is not None and row.computed_hash(before + 1) == row.hash:
                found = before + 1
        recorded_at[row.hash] = found
        return found

    problems = []
    for row in failing:
        original = position(row)
        if original is not None and original != row.seq:
            problems.append(ChainProblem(
                tenant, row.seq, "reordered",
                f"the entry recorded at seq {original} (decision {row.decision_id}) is stored "
                f"at seq {row.seq}"))
        else:
            problems.append(ChainProblem(
                tenant, row.seq, "altered",
                f"the content of {row.kind} {row.decision_id} does not match its hash "
                f"{row.hash[:16]}...: the entry was changed after it was recorded"))
    return problems
