"""The hash chain: its canonical form, the append-only triggers, and verify_chain naming
each kind of tampering a database superuser could do."""

from __future__ import annotations

import hashlib
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from storekit import Raw, record

from fengkong.store import canonical_json, open_store
from fengkong.store.chain import _write, format_number


@pytest.mark.parametrize("number, text", [
    (0.0, "0"), (-0.0, "0"), (1.0, "1"), (-5.0, "-5"), (0.1, "0.1"), (1e-7, "1e-7"),
    (1e21, "1e+21"), (1e20, "100000000000000000000"), (123.456, "123.456"),
    (5e-324, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"),
    (0.000001, "0.000001"), (1.5e-6, "0.0000015"), (2.5e25, "2.5e+25"),
    (-0.1799, "-0.1799"),
])
def test_numbers_print_as_ecmascript_does(number: float, text: str) -> None:
    # Values from RFC 8785's and ECMAScript's own examples of Number.prototype.toString.
    assert format_number(number) == text
    assert float(text) == number


def test_canonical_json_sorts_keys_by_utf16_and_escapes_minimally() -> None:
    value = {"b": [1, 2.0, None, True], "a": "é\n\"\\\u0001", "\U0001F600": 1, "\uffff": 2}
    # U+1F600 is the surrogate pair D83D DE00, which sorts before U+FFFF in UTF-16.
    assert canonical_json(value) == \
        '{"a":"é\\n\\"\\\\\\u0001","b":[1,2,null,true],"\U0001F600":1,"\uffff":2}'
    assert canonical_json(10**30) == "1" + "0" * 30  # integers exactly
    with pytest.raises(ValueError):
        canonical_json(math.inf)


def test_an_auditor_recomputes_a_hash_with_stock_json(url: str, raw: Raw) -> None:
    """The documented recipe, with nothing of fengkong: for content without fractions,
    json.dumps with sorted keys is the canonical form."""
    with open_store(url) as store:
        stored = store.record_decision(record(1, request={"name": "张三", "amount": 20000},
                                              response={"outcome": "APPROVE"}, trace=None,
                                              features={"count": 2}, latency_ms=3))
    columns = ("kind, seq, prev_hash, decision_id, tenant, flow, strategy_version, "
               "application_id, idempotency_key, request, response, outcome, trace, "
               "features, latency_ms, decided_at")
    row = raw.execute(f"SELECT {columns}, hash FROM decision_log WHERE seq = 1")[0]
    entry = dict(zip(columns.split(", "), row[:-1], strict=True))
    for name in ("request", "response", "trace", "features"):
        entry[name] = None if entry[name] is None else json.loads(entry[name])
    entry["latency_ms"] = int(entry["latency_ms"])  # 3.0 prints as 3
    if not isinstance(entry["decided_at"], str):  # PostgreSQL gives a datetime
        entry["decided_at"] = entry["decided_at"].strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    text = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert hashlib.sha256(text.encode("utf-8")).hexdigest() == row[-1] == stored.hash


def _chain(url: str, count: int = 10) -> list[str]:
    with open_store(url) as store:
        hashes = [store.record_decision(record(n)).hash for n in range(1, count + 1)]
        assert store.verify_chain().ok
    return hashes


def _problems(url: str) -> list[tuple[int, str]]:
    with open_store(url) as store:
        report = store.verify_chain()
    assert not report.ok
    return [(problem.seq, problem.kind) for problem in report.problems]


def test_the_log_refuses_update_and_delete(url: str, raw: Raw) -> None:
    _chain(url, 3)
    for statement in ("UPDATE decision_log SET outcome = 'REJECT' WHERE seq = 2",
                      "DELETE FROM decision_log WHERE seq = 3",
                      "UPDATE chain_heads SET seq = 2",
                      "DELETE FROM chain_heads"):
        with pytest.raises(Exception, match=r"append-only|only moves forward|never deleted"):
            raw.execute(statement)
    if raw.dialect == "postgresql":
        with pytest.raises(Exception, match="append-only"):
            raw.execute("TRUNCATE decision_log")
    with open_store(url) as store:
        assert store.verify_chain().ok and store.count_decisions() == 3


def test_an_altered_field_is_named(url: str, raw: Raw) -> None:
    _chain(url)
    raw.drop_guards()
    raw.execute("UPDATE decision_log SET outcome = 'APPROVE', response = ? WHERE seq = 4",
                ('{"outcome":"APPROVE","limit":900000}',))
    assert _problems(url) == [(4, "altered")]


def test_an_altered_and_rehashed_entry_breaks_the_next_link(url: str, raw: Raw) -> None:
    _chain(url)
    raw.drop_guards()
    with open_store(url) as store:  # the forger recomputes entry 4's hash correctly
        entry = store.get_decision(store.find_decision("app-4").decision_id)  # type: ignore
    assert entry is not None
    from fengkong.store.chain import LogRow

    forged = LogRow(tenant="default", seq=4, kind="decision", decision_id=entry.decision_id,
                    flow="credit", strategy_version=entry.strategy_version,
                    application_id="app-4", idempotency_key=None, request=entry.request,
                    response=entry.response, outcome="REJECT", trace=entry.trace,
                    features=entry.features, latency_ms=entry.latency_ms,
                    decided_at=entry.decided_at, prev_hash=entry.prev_hash, hash="")
    raw.execute("UPDATE decision_log SET outcome = 'REJECT', hash = ? WHERE seq = 4",
                (forged.computed_hash(),))
    assert _problems(url) == [(5, "broken_link")]


def test_a_deleted_middle_entry_is_named(url: str, raw: Raw) -> None:
    _chain(url)
    raw.drop_guards()
    raw.execute("DELETE FROM decision_log WHERE seq = 5")
    assert _problems(url) == [(5, "removed")]


def test_two_swapped_entries_are_named_reordered(url: str, raw: Raw) -> None:
    _chain(url)
    raw.drop_guards()
    raw.execute("UPDATE decision_log SET seq = -1 WHERE seq = 6")
    raw.execute("UPDATE decision_log SET seq = 6 WHERE seq = 7")
    raw.execute("UPDATE decision_log SET seq = 7 WHERE seq = -1")
    assert _problems(url) == [(6, "reordered"), (7, "reordered")]


def test_a_truncated_tail_is_named_against_the_head(url: str, raw: Raw) -> None:
    hashes = _chain(url)
    raw.drop_guards()
    raw.execute("DELETE FROM decision_log WHERE seq > 8")
    assert _problems(url) == [(9, "truncated")]
    # The limit: rewind the head too and only an anchor kept outside the database shows it.
    raw.execute("UPDATE chain_heads SET seq = 8, hash = ?", (hashes[7],))
    with open_store(url) as store:
        report = store.verify_chain()
    assert report.ok and report.head_hash() == hashes[7] != hashes[-1]


def test_review_entries_are_part_of_the_chain(url: str, raw: Raw) -> None:
    with open_store(url) as store:
        decided = store.record_decision(record(1, outcome="REVIEW"))
        store.record_decision(record(2))
        store.resolve_review(decided.decision_id, "reject", "王审核", "income not verified")
        store.record_decision(record(3))
        report = store.verify_chain()
        assert report.ok and report.checked == 4
    raw.drop_guards()
    raw.execute("UPDATE decision_log SET outcome = 'APPROVE' WHERE kind = 'review'")
    assert _problems(url) == [(3, "altered")]


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=4), children, max_size=4),
    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(_json_values)
def test_the_fast_canonical_path_agrees_with_the_reference_writer(value: object) -> None:
    reference: list[str] = []
    _write(value, reference)
    text = canonical_json(value)
    assert text == "".join(reference)
    assert canonical_json(json.loads(text)) == text  # stored text re-canonicalizes to itself
