"""Minimal cases of bugs the differential suite found in fengkong's ZEN implementation.

Each case is the smallest expression and context that shows one class of difference from
zen-engine 2.1.3 that is *not* an intentional difference (docs/zen-compatibility.md). A case
fails until its bug is fixed; then delete the matching ``FIXME(bug)`` exclusion in grammar.py
or oracle.known_bug so the generated tests cover the class again, and keep the case here as
a regression test (most cases below are fixed already).

The expected outcome is always decided by zen-engine at test time, never copied here.
"""

from __future__ import annotations

import contextlib
import multiprocessing
from typing import Any

import oracle
import pytest

# (id, expression, context, unary)
CASES: list[tuple[str, str, dict[str, Any], bool]] = [
    # Closures iterate intervals in zen: [0.0, 1.0, 2.0, 3.0]; fengkong: "map() expects an array".
    ("closure-over-interval", "map([0..3], #)", {}, False),
    # An 'as' alias names the outer element inside a nested closure; fengkong reads the inner.
    ("nested-closure-alias", "map([1, 2] as p, map([10], p))", {}, False),
    # A computed key that is null becomes "null" in zen; fengkong raises.
    ("null-computed-key", "{[missing]: 1}", {}, False),
    # Out-of-range slice bounds on an empty string or array: zen raises, fengkong returns ''.
    ("slice-of-empty-string", "s[:2]", {"s": ""}, False),
    ("slice-of-empty-array", "a[0:1]", {"a": []}, False),
    # Regressions of the slice fix (5748a95): a start two past the end, bounds reversed by
    # more than one and null bounds are errors in zen; fengkong returns [], [] and [0, 1, 2].
    ("slice-start-past-end", "a[6:]", {"a": [0, 1, 2, 3, 4]}, False),
    ("slice-string-start-past-end", "s[3:]", {"s": "ab"}, False),
    ("slice-reversed-bounds", "a[3:1]", {"a": [0, 1, 2, 3, 4]}, False),
    ("slice-null-bound", "a[i:j]", {"a": [0, 1, 2, 3, 4], "i": None, "j": 2}, False),
    # 0 ^ -1: zen returns 0; fengkong raised "cannot evaluate: OverflowError".
    ("zero-to-negative-power", "0 ^ -1", {}, False),
    # A non-integer base to a large integer power: zen 229964.0526159302 (exact to 16 digits),
    # fengkong 229964.05427356533 (float pow, off by 7e-9 relative).
    ("power-with-large-exponent", "1.0000001 ^ 123456789", {}, False),
    # Interval bounds must be numbers (or dates): zen raises "Opcode Interval: Unsupported
    # type"; fengkong builds the interval: true here, '[0..a]' for [0..'a'], and an internal
    # "cannot evaluate: TypeError" for 1 in [0..'a'].
    ("interval-bound-bool", "1 in [0..x]", {"x": True}, False),
    ("interval-bound-string", "[0..'a']", {}, False),
    ("interval-bound-type-error", "1 in [0..'a']", {}, False),
    # Dates where a string is expected: zen uses the ISO text, fengkong raises.
    ("date-in-string-function", "trim(d('2024-01-01'))", {}, False),
    ("date-plus-string", "d('2024-01-01') + 'x'", {}, False),
    # An invalid date (2026-02-29) joined to a string: zen raises, fengkong 'xInvalid date'.
    ("invalid-date-plus-string", "'x' + d('2024-02-29').add(2, 'year')", {}, False),
    # Assigning $root: zen stores the context as it was ({a: {}}); fengkong stores the scope
    # being assigned into, a cycle, and crashes with RecursionError.
    ("assign-root", "a = $root", {}, False),
    ("assign-root-after-assignment", "n = 1; acc = $root", {"x": 1}, False),
    # A date tested against an interval of numbers: zen false, fengkong raises.
    ("date-in-number-interval", "d('2024-01-15') in [1..5]", {}, False),
    # '#' inside a name: zen reads n#ull as one identifier (null); fengkong raised.
    ("hash-inside-identifier", "n#ull == null", {"n": 0}, False),
    # $root inside an aliased closure saw the alias binding.
    ("root-in-aliased-closure", "map(loans as p, $root)", {"loans": [{"a": 1}]}, False),
    # A remainder whose integer quotient needs more than 28 digits raised DivisionImpossible.
    ("remainder-wide-quotient", "100 ^ 10 % 7.5", {}, False),
    # Results keep 28 decimal places: zen 0, fengkong kept 1e-30 (so ceil gave 1).
    ("underflow-to-zero", "ceil(0.001 ^ 10)", {}, False),
    # A negative power inverts x^n cut to 28 places: zen 1.6949152542372882e25.
    ("negative-power-of-small-base", "0.003 ^ -10", {}, False),
    # Dates slice and index as their ISO text.
    ("slice-of-date", "d('2024-01-15')[0:3]", {}, False),
    ("index-of-date", "d('2024-01-15')[0]", {}, False),
    # Template parts in a unary test use the unary grammar: 'and' ends the part (an error).
    ("unary-template-with-and", "`${true and true}`", {"$": "x"}, True),
    # A number tested against an interval of dates: zen false, fengkong raises.
    ("number-in-date-interval", "1705276800 in [d('2024-01-01')..d('2024-12-31')]", {}, False),
    # Unary tests: a string $ against a date operand is compared as a date in zen (true);
    # fengkong: "cannot compare string > date" / false.
    ("unary-string-vs-date", "> d('2024-01-01')", {"$": "2024-01-15"}, True),
    ("unary-string-equals-date", "== d('2024-01-15')", {"$": "2024-01-15"}, True),
    # evaluate_unary without "$" in the context: zen raises missingContextReference,
    # fengkong treats $ as null.
    ("unary-without-dollar", "$ == null", {}, True),
    # A unary test ending with a join: zen reports a parse error, fengkong an AssertionError.
    ("unary-trailing-comma", "> 1,", {"$": 2}, True),
    ("unary-trailing-and", "> 1 and", {"$": 2}, True),
]


@pytest.mark.parametrize(("expression", "context", "unary"),
                         [pytest.param(*case[1:], id=case[0]) for case in CASES])
def test_known_case_matches_zen(expression: str, context: dict[str, Any], unary: bool) -> None:
    zen_outcome = oracle.run_zen(expression, context, unary=unary)
    our_outcome = oracle.run_ours(expression, context, unary=unary)
    assert oracle.outcomes_match(zen_outcome, our_outcome), oracle.describe(
        expression, context, zen_outcome, our_outcome)


def _evaluate_in_child(expression: str) -> None:
    from fengkong.errors import FengkongError
    from fengkong.expr import evaluate

    with contextlib.suppress(FengkongError):
        evaluate(expression)


def test_huge_integer_power_is_bounded() -> None:
    """``9 ^ 5000000`` overflows in zen at once; fengkong computes a 4.7-million-digit integer
    (seconds of CPU; ``9 ^ 100000000`` effectively never returns): user text must not be able
    to stall an evaluation. Run in a child process so a regression cannot hang the suite."""
    context = multiprocessing.get_context("fork")
    child = context.Process(target=_evaluate_in_child, args=("9 ^ 5000000",))
    child.start()
    child.join(timeout=0.5)
    finished = not child.is_alive()
    if not finished:
        child.kill()
        child.join()
    assert finished, "9 ^ 5000000 took more than 0.5 s (zen-engine: Number overflow at once)"


# Intentional differences (docs/zen-compatibility.md): zen differs, and our answer is pinned
# here so that it cannot drift; the oracle must also recognise each one.
DOCUMENTED: list[tuple[str, str, dict[str, Any], bool, Any]] = [
    ("non-ascii-identifiers", "名字", {"名字": 1}, False, 1),
    ("templates-inside-templates", "`${`a`}`", {}, False, "a"),
    ("templates-inside-templates", "`${'a' in {a: 1}}`", {}, False, "true"),
    ("input-floats", "ratio <= 0.3", {"ratio": 0.30000000000000004}, False, False),
    ("input-floats", "<= 0.3", {"$": 0.30000000000000004}, True, False),
    ("input-floats", "x > 1000000000000000", {"x": 1000000000000000.2}, False, True),
]


@pytest.mark.parametrize(("anchor", "expression", "context", "unary", "expected"),
                         [pytest.param(*case, id=f"{case[0]}:{case[1]}") for case in DOCUMENTED])
def test_documented_difference(anchor: str, expression: str, context: dict[str, Any],
                               unary: bool, expected: Any) -> None:
    ours = oracle.run_ours(expression, context, unary=unary)
    assert ours.kind == oracle.VALUE and ours.value == expected
    zen_outcome = oracle.run_zen(expression, context, unary=unary)
    assert not oracle.outcomes_match(zen_outcome, ours)
    reason = oracle.intentional_difference(expression, context, zen_outcome, ours, unary=unary)
    assert reason is not None and reason.lower().replace("-", " ") == anchor.replace("-", " ")
