"""Run an expression through zen-engine (the oracle) and through fengkong, and compare.

An *outcome* is what one engine did with one ``(expression, context)`` case: it returned a
value, raised an error, or — for fengkong only — crashed with a Python exception that is not
a :class:`fengkong.errors.FengkongError` (always a bug, whatever zen did). A stray Python
exception that ``fengkong.expr`` caught and re-raised as "cannot evaluate: TypeError: ..."
counts as a crash too: it is a case the implementation does not handle.

Outcomes match when both engines raised, or both returned equal values:

* numbers are compared with a relative tolerance of 1e-12: zen returns ``float`` converted
  from its 28-digit decimals, fengkong returns ``int``/``float`` (see docs/zen-compatibility.md);
* ``int`` and ``float`` are equal when numerically equal, but ``bool`` is never a number;
* arrays element by element, objects key by key (order ignored).

:func:`intentional_difference` recognises the documented, intentional differences
(docs/zen-compatibility.md) so that the differential tests can skip exactly those classes.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass
from typing import Any

# zen-engine prints a Rust backtrace into every error message when RUST_BACKTRACE is set;
# that is slow and noisy. anyhow reads RUST_LIB_BACKTRACE first, once, on the first error.
os.environ.setdefault("RUST_LIB_BACKTRACE", "0")

import zen

from fengkong.errors import FengkongError
from fengkong.expr import evaluate, evaluate_unary

REL_TOL = 1e-12

VALUE = "value"
ERROR = "error"
CRASH = "crash"  # fengkong raised something that is not a FengkongError: always a bug
UNAVAILABLE = "unavailable"  # fengkong's built-in functions have not landed yet


@dataclass(frozen=True)
class Outcome:
    kind: str  # VALUE, ERROR, CRASH or UNAVAILABLE
    value: Any = None  # the value, or the error text

    def __str__(self) -> str:
        if self.kind == VALUE:
            return f"value {_short_repr(self.value)}"
        return f"{self.kind} {str(self.value)[:300]}"


def _short_repr(value: Any) -> str:
    try:
        text = repr(value)
    except ValueError:  # an int with more digits than Python will print
        return "<an integer of more than 4300 digits>"
    return text if len(text) <= 300 else text[:300] + "..."


def _builtins_missing(error: BaseException) -> bool:
    text = str(error)
    return isinstance(error, ImportError) and "fengkong.expr" in text and (
        "builtins" in text or "dates" in text)


# The message fengkong.expr gives a Python exception it caught inside an expression.
_WRAPPED_PYTHON_ERROR = "cannot evaluate: "


def run_zen(expression: str, context: dict[str, Any], *, unary: bool = False) -> Outcome:
    """Evaluate with zen-engine; every exception it raises is an error outcome."""
    try:
        if unary:
            return Outcome(VALUE, zen.evaluate_unary_expression(expression, context))
        return Outcome(VALUE, zen.evaluate_expression(expression, context))
    except Exception as error:
        return Outcome(ERROR, str(error).split("\n", 1)[0])


def run_ours(expression: str, context: dict[str, Any], *, unary: bool = False) -> Outcome:
    """Evaluate with fengkong; only :class:`FengkongError` counts as a proper error."""
    try:
        if unary:
            return Outcome(VALUE, evaluate_unary(expression, context))
        return Outcome(VALUE, evaluate(expression, context))
    except FengkongError as error:
        if error.message.startswith(_WRAPPED_PYTHON_ERROR):
            # fengkong.expr wraps stray Python exceptions (TypeError...) so that users never
            # see a traceback; here they are what they are: an unhandled case, a bug.
            return Outcome(CRASH, f"{type(error).__name__}: {error}")
        return Outcome(ERROR, f"{type(error).__name__}: {error}")
    except Exception as error:
        if _builtins_missing(error):
            return Outcome(UNAVAILABLE, str(error))
        return Outcome(CRASH, f"{type(error).__name__}: {error}")


def _is_number(value: Any) -> bool:
    return type(value) in (int, float)


def values_equal(expected: Any, actual: Any) -> bool:
    """zen's value ``expected`` equals fengkong's value ``actual`` (see module docstring)."""
    if _is_number(expected) and _is_number(actual):
        if expected == actual:
            return True
        try:
            return math.isclose(expected, actual, rel_tol=REL_TOL, abs_tol=0.0)
        except OverflowError:  # an int too large for a float: zen cannot return it anyway
            return False
    if type(expected) is not type(actual):
        return False
    if isinstance(expected, list):
        return len(expected) == len(actual) and all(
            values_equal(a, b) for a, b in zip(expected, actual, strict=True))
    if isinstance(expected, dict):
        return expected.keys() == actual.keys() and all(
            values_equal(expected[key], actual[key]) for key in expected)
    return bool(expected == actual)


def outcomes_match(zen_outcome: Outcome, our_outcome: Outcome) -> bool:
    if our_outcome.kind == CRASH:
        return False
    if zen_outcome.kind == ERROR or our_outcome.kind == ERROR:
        return zen_outcome.kind == our_outcome.kind
    return values_equal(zen_outcome.value, our_outcome.value)


# -- intentional differences (docs/zen-compatibility.md) --------------------------------------

_NUMBER_IN_TEXT = re.compile(r"-?\d+(?:\.\d+)?(?:e[+-]?\d+)?")
_REVERSED_INTERVAL = re.compile(r"\][^\[\]()]*\.\.[^\[\]()]*[\[)\]]|[(\[][^\[\]()]*\.\.[^\[\]()]*\[")


def _same_text_up_to_decimals(expected: Any, actual: Any) -> bool:
    """Two strings that differ only in how a non-terminating decimal is printed."""
    if not (isinstance(expected, str) and isinstance(actual, str)) or expected == actual:
        return False
    if _NUMBER_IN_TEXT.sub("#", expected) != _NUMBER_IN_TEXT.sub("#", actual):
        return False
    pairs = zip(_NUMBER_IN_TEXT.findall(expected), _NUMBER_IN_TEXT.findall(actual), strict=True)
    return all(math.isclose(float(a), float(b), rel_tol=REL_TOL) for a, b in pairs)


def _only_decimal_precision(expected: Any, actual: Any, *, cancellation: bool) -> bool:
    """Values equal except for strings that print a decimal with more or fewer digits and,
    with ``cancellation``, numbers within 1e-12 of each other in absolute terms."""
    if isinstance(expected, str) and isinstance(actual, str):
        return expected == actual or _same_text_up_to_decimals(expected, actual)
    if cancellation and _is_number(expected) and _is_number(actual):
        try:
            scale = max(1.0, abs(expected), abs(actual))
            return abs(expected - actual) <= REL_TOL * scale
        except OverflowError:
            return False
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(
            _only_decimal_precision(a, b, cancellation=cancellation)
            for a, b in zip(expected, actual, strict=True))
    if isinstance(expected, dict) and isinstance(actual, dict):
        return expected.keys() == actual.keys() and all(
            _only_decimal_precision(expected[key], actual[key], cancellation=cancellation)
            for key in expected)
    return values_equal(expected, actual)


def _equal_up_to_order(expected: Any, actual: Any) -> bool:
    """Equal values, except that arrays may list the same elements in another order."""
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return False
        remaining = list(actual)
        for item in expected:
            match = next((index for index, other in enumerate(remaining)
                          if _equal_up_to_order(item, other)), None)
            if match is None:
                return False
            remaining.pop(match)
        return True
    if isinstance(expected, dict) and isinstance(actual, dict):
        return expected.keys() == actual.keys() and all(
            _equal_up_to_order(expected[key], actual[key]) for key in expected)
    return values_equal(expected, actual)


def _both_numbers(expected: Any, actual: Any) -> bool:
    return _is_number(expected) and _is_number(actual)


def _integer_step(expected: Any, actual: Any) -> bool:
    """floor/ceil/round/trunc of a quotient that lands on the other side of an integer."""
    return (_is_number(expected) and _is_number(actual) and abs(expected - actual) <= 1
            and float(expected).is_integer() and float(actual).is_integer())


def _equal_up_to(allowed: Any, expected: Any, actual: Any) -> bool:
    """Equal values, except where ``allowed(expected_part, actual_part)`` says otherwise."""
    if allowed(expected, actual):
        return True
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(
            _equal_up_to(allowed, a, b) for a, b in zip(expected, actual, strict=True))
    if isinstance(expected, dict) and isinstance(actual, dict):
        return expected.keys() == actual.keys() and all(
            _equal_up_to(allowed, expected[key], actual[key]) for key in expected)
    return values_equal(expected, actual)


def _round_floats(value: Any) -> Any:
    """The input as zen-engine reads it: floats rounded to 16 significant digits."""
    if type(value) is float:
        return float(f"{value:.16g}")
    if isinstance(value, list):
        return [_round_floats(item) for item in value]
    if isinstance(value, dict):
        return {key: _round_floats(item) for key, item in value.items()}
    return value


def _has_tiny_number(value: Any) -> bool:
    """A number below 1e-6 in magnitude (its powers pass zen's 1e-28 floor)."""
    if isinstance(value, float):
        return 0 < abs(value) < 1e-6
    if isinstance(value, dict):
        return any(_has_tiny_number(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_tiny_number(item) for item in value)
    return False


def _tiny_to_zero(value: Any) -> Any:
    if isinstance(value, float) and 0 < abs(value) < 1e-6:
        return 0
    if isinstance(value, dict):
        return {key: _tiny_to_zero(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_tiny_to_zero(item) for item in value]
    return value


def _has_long_float(value: Any) -> bool:
    if type(value) is float:
        return float(f"{value:.16g}") != value
    if isinstance(value, list):
        return any(_has_long_float(item) for item in value)
    if isinstance(value, dict):
        return any(_has_long_float(item) for item in value.values())
    return False


def _has_non_ascii(expression: str, context: dict[str, Any]) -> bool:
    text = expression + json.dumps(context, ensure_ascii=False)
    return any(ord(char) > 127 for char in text)


def _asciify(value: Any) -> Any:
    if isinstance(value, str):
        return "".join(char if ord(char) < 128 else "Q" for char in value)
    if isinstance(value, list):
        return [_asciify(item) for item in value]
    if isinstance(value, dict):
        return {_asciify(key): _asciify(item) for key, item in value.items()}
    return value


_ROOT_MEMBER = re.compile(r"\$root\s*\.\s*(?=[A-Za-z_])")
_ROOT_ASSIGNMENT = re.compile(r"(^|;)\s*\$root\s*=(?!=)")
_ROUNDING_CALL = re.compile(r"\b(floor|ceil|round|trunc)\(")
_ZEN_RANGE_ERRORS = ("Number overflow", "Failed to calculate exponent", "as u128", "as i128",
                     "invalid value: floating point")
# Zen's rust_decimal keeps 28 decimal places: anything smaller in magnitude becomes 0.
_DECIMAL_UNDERFLOW = 1e-28


def _equal_up_to_underflow(expected: Any, actual: Any) -> bool:
    if _is_number(expected) and _is_number(actual):
        try:
            if abs(expected - actual) <= _DECIMAL_UNDERFLOW:  # zen's last place is 1e-28
                return True
        except OverflowError:
            return False
        return values_equal(expected, actual)
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(
            _equal_up_to_underflow(a, b) for a, b in zip(expected, actual, strict=True))
    if isinstance(expected, dict) and isinstance(actual, dict):
        return expected.keys() == actual.keys() and all(
            _equal_up_to_underflow(expected[key], actual[key]) for key in expected)
    return values_equal(expected, actual)


_NEGATIVE_ZERO = re.compile(r"(?<![\w.])-\s*0(?![.\w])")


def intentional_difference(
    expression: str, context: dict[str, Any], zen_outcome: Outcome, our_outcome: Outcome,
    *, unary: bool = False,
) -> str | None:
    """The docs/zen-compatibility.md entry that explains a difference, or None (a bug)."""
    if our_outcome.kind == CRASH:
        return None
    theirs = str(zen_outcome.value)
    # Non-ASCII identifiers: zen's lexer rejects them, we read a variable.
    if (our_outcome.kind == VALUE and "Unmatched symbol" in theirs
            and _has_non_ascii(re.sub(r"'[^']*'|\"[^\"]*\"", "", expression), {})):
        return "non-ASCII identifiers"
    # Input numbers with 17 significant digits: zen keeps 16 (0.30000000000000004 is 0.3).
    # The difference must vanish when we get the input as zen reads it.
    if _has_long_float(context) and outcomes_match(
            zen_outcome, run_ours(expression, _round_floats(context), unary=unary)):
        return "input floats"
    # Template strings or braces inside ${...}: zen cannot lex them, we parse them.
    if (our_outcome.kind == VALUE and "parserError" in theirs
            and (_NESTED_TEMPLATE.search(expression) or _BRACE_IN_TEMPLATE.search(expression))):
        return "templates inside templates"
    # Reversed-bracket intervals ]a..b[: we reject them, zen accepts them inconsistently.
    if our_outcome.kind == ERROR and "Syntax" in str(our_outcome.value) and (
        _REVERSED_INTERVAL.search(expression)
    ):
        return "reversed-bracket intervals"
    # Numbers beyond rust_decimal's range: zen overflows (an error) or underflows (to 0).
    if our_outcome.kind == VALUE and zen_outcome.kind == ERROR and any(
            marker in str(zen_outcome.value) for marker in _ZEN_RANGE_ERRORS):
        return "number range"
    if (zen_outcome.kind == VALUE and our_outcome.kind == VALUE
            and _equal_up_to_underflow(zen_outcome.value, our_outcome.value)):
        return "number range"
    # ... also when a rounding function hides the underflow (ceil(1e-07 ^ 10): zen 0, we 1):
    # the difference must vanish once the power's tiny result is 0 on our side too.
    if ("^" in expression and _ROUNDING_CALL.search(expression)
            and our_outcome.kind == VALUE and zen_outcome.kind == VALUE
            and _has_tiny_number(context)
            and outcomes_match(zen_outcome, run_ours(expression, _tiny_to_zero(context),
                                                     unary=unary))):
        return "number range"
    # Object literals: zen builds them in reverse order, visible through keys() and values().
    if (zen_outcome.kind == VALUE and our_outcome.kind == VALUE
            and ("keys(" in expression or "values(" in expression)
            and _equal_up_to_order(zen_outcome.value, our_outcome.value)):
        return "object literal order"
    # $root.x after an assignment: zen reads the input's x (though $root itself shows the
    # assignment); we read the assigned x, as a plain x does in both engines.
    if _ROOT_MEMBER.search(expression) and "=" in expression:
        plain = _ROOT_MEMBER.sub("", expression)
        if outcomes_match(run_zen(plain, context, unary=unary), our_outcome):
            return "$root after an assignment"
    # Assigning to $root: zen creates a key named "$root"; we reject it.
    if our_outcome.kind == ERROR and _ROOT_ASSIGNMENT.search(expression) and (
            "Syntax" in str(our_outcome.value)):
        return "assigning to $root"
    # Unterminated template strings: zen reads them to the end of the text, we reject them.
    if (zen_outcome.kind == VALUE and our_outcome.kind == ERROR
            and "unterminated template string" in str(our_outcome.value)):
        return "unterminated template strings"
    # Decimal results printed as text: zen prints 28 digits, we print the float. And a
    # non-terminating quotient (1/3) cancelled to near zero (1 % (1/3)) keeps the float's
    # absolute error (1e-16) instead of the decimal's (1e-28).
    if (zen_outcome.kind == VALUE and our_outcome.kind == VALUE
            and _only_decimal_precision(zen_outcome.value, our_outcome.value,
                                        cancellation="/" in expression)):
        return "decimal precision"
    if (zen_outcome.kind == VALUE and our_outcome.kind == VALUE and "/" in expression
            and _ROUNDING_CALL.search(expression)
            and _equal_up_to(_integer_step, zen_outcome.value, our_outcome.value)):
        return "decimal precision"
    # Negative zero: zen's decimals keep the sign of zero when printed ("-0"); ours is 0.
    # The difference must vanish when the expression's "-0" is written "0".
    if _NEGATIVE_ZERO.search(expression) and outcomes_match(
            run_zen(_NEGATIVE_ZERO.sub("0", expression), context, unary=unary), our_outcome):
        return "decimal precision"
    # x % q with a non-terminating quotient q (2 % (2/3), or a power with a negative exponent):
    # the remainder depends on q's last digit, so float and 28-digit decimal give unrelated
    # numbers.
    if (zen_outcome.kind == VALUE and our_outcome.kind == VALUE and "%" in expression
            and ("/" in expression or "^" in expression)
            and _equal_up_to(_both_numbers, zen_outcome.value, our_outcome.value)):
        return "decimal precision"
    # Characters vs UTF-8 bytes (len, string slices and indexes): the difference must vanish
    # when every non-ASCII character is replaced by an ASCII one.
    if _has_non_ascii(expression, context) and ("len(" in expression or "[" in expression):
        ascii_expression, ascii_context = _asciify(expression), _asciify(context)
        if outcomes_match(run_zen(ascii_expression, ascii_context, unary=unary),
                          run_ours(ascii_expression, ascii_context, unary=unary)):
            return "characters, not UTF-8 bytes"
    return None


# -- known bugs ------------------------------------------------------------------------------
# Every class below is a bug in fengkong reported with a minimal case in test_known_cases.py.
# They are recognised here only so that the generated tests keep looking for *other*
# differences meanwhile; delete each entry once its test in test_known_cases.py passes.

_NESTED_TEMPLATE = re.compile(r"\$\{[^}]*`")
_BRACE_IN_TEMPLATE = re.compile(r"\$\{[^}`]*\{")


def known_bug(
    expression: str, context: dict[str, Any], zen_outcome: Outcome, our_outcome: Outcome,
    *, unary: bool = False,
) -> str | None:
    """The known-bug class (see test_known_cases.py) a difference belongs to, or None."""
    return None


def describe(expression: str, context: dict[str, Any], zen_outcome: Outcome,
             our_outcome: Outcome) -> str:
    return (f"\n  expression: {expression}\n  context:    {json.dumps(context, ensure_ascii=False)}"
            f"\n  zen:        {zen_outcome}\n  fengkong:   {our_outcome}")
