"""The core built-in functions of ZEN expressions (everything except dates and closures).

Each function receives already-evaluated arguments (``None``, ``bool``, ``int``, ``float``,
``str``, ``list``, ``dict``) and returns a value of the same kinds, integral numbers as ``int``.
Behaviour follows Zen 2.1.3 (the ``zen-engine`` package), probed case by case: argument types
are checked as strictly as Zen checks them, and a wrong type raises
:class:`~fengkong.errors.ExpressionEvaluationError` naming the function. As in Zen, a valid
date (:class:`fengkong.expr.dates.ZenDate`) stands for its RFC 3339 text where a string is
expected, and ``min``/``max`` also take an array of dates.

Numbers: anything beyond ``int`` arithmetic goes through :class:`decimal.Decimal` on the
operands' shortest decimal text (see :mod:`fengkong.expr.numbers`), so ``sum([0.1, 0.2])`` is
``0.3`` and ``round(1.005, 2)`` is ``1.01``, as in Zen's ``rust_decimal``.

Regular expressions (``matches``, ``extract``) use Rust's syntax and run in linear time, so
an applicant's text cannot make a pattern take exponential time (see
:mod:`fengkong.expr.regex`).

Intentional differences from Zen: ``len`` counts characters, not UTF-8 bytes (Chinese names);
``rand`` with a negative bound raises an error where Zen panics; a Unicode property or script
outside the supported set, and a pattern over the length or program-size caps above, are
evaluation errors.
"""

from __future__ import annotations

import math
import random
import re
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any, NoReturn

from fengkong.errors import ExpressionEvaluationError
from fengkong.expr.numbers import DECIMAL_CONTEXT, from_decimal, to_decimal
from fengkong.expr.regex import WHITE_SPACE, Program, compile_pattern
from fengkong.expr.registry import Builtin, builtin
from fengkong.expr.values import is_number, type_name

FUNCTIONS: dict[str, Builtin] = {}

Number = int | float

# --------------------------------------------------------------------------------------------
# Argument checking
# --------------------------------------------------------------------------------------------


def _fail(name: str, message: str) -> NoReturn:
    raise ExpressionEvaluationError(f"{name}: {message}")


def _number(name: str, value: Any, position: int = 1) -> Number:
    if not is_number(value):
        _fail(name, f"argument {position} must be a number, got {type_name(value)}")
    if type(value) is float and not math.isfinite(value):
        _fail(name, f"argument {position} must be a finite number, got {value}")
    return value


def _date_text(value: Any) -> str | None:
    """Where Zen expects a string, a valid date stands for its RFC 3339 text."""
    if type_name(value) == "date" and value.is_valid:
        text: str = value.to_json()
        return text
    return None


def _string(name: str, value: Any, position: int = 1) -> str:
    if type(value) is str:
        return value
    text = _date_text(value)
    if text is None:
        _fail(name, f"argument {position} must be a string, got {type_name(value)}")
    return text


def _array(name: str, value: Any, position: int = 1) -> list[Any]:
    if type(value) is not list:
        _fail(name, f"argument {position} must be an array, got {type_name(value)}")
    return value


def _object(name: str, value: Any, position: int = 1) -> dict[str, Any]:
    if type(value) is not dict:
        _fail(name, f"argument {position} must be an object, got {type_name(value)}")
    return value


def _numbers(name: str, value: Any, *, non_empty: bool) -> list[Number]:
    items = _array(name, value)
    for item in items:
        if not is_number(item) or (type(item) is float and not math.isfinite(item)):
            _fail(name, f"expects an array of numbers, found an element of type {type_name(item)}")
    if non_empty and not items:
        _fail(name, "expects a non-empty array")
    return items


def _integral(value: Number) -> Number:
    """Store integral results as ``int`` (the value model's convention)."""
    if type(value) is float and value.is_integer():
        return int(value)
    return value


# --------------------------------------------------------------------------------------------
# Math
# --------------------------------------------------------------------------------------------


@builtin(FUNCTIONS, "abs", 1)
def zen_abs(value: Any) -> Number:
    return _integral(abs(_number("abs", value)))


@builtin(FUNCTIONS, "floor", 1)
def zen_floor(value: Any) -> int:
    return math.floor(_number("floor", value))


@builtin(FUNCTIONS, "ceil", 1)
def zen_ceil(value: Any) -> int:
    return math.ceil(_number("ceil", value))


def _decimal_places(name: str, places: Any) -> int:
    # Zen converts the count to u32: negative or huge counts are errors, fractions truncate.
    count = _number(name, places, 2)
    if math.copysign(1, count) < 0 or count > 0xFFFFFFFF:  # -0.0 too, like Zen's decimal
        _fail(name, f"decimal places must be between 0 and 4294967295, got {count}")
    return int(count)


def _to_places(name: str, value: Any, places: Any, rounding: str) -> Number:
    number = _number(name, value)
    count = _decimal_places(name, places)
    if type(number) is int:
        return number
    exact = to_decimal(number)
    exponent = exact.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= -count:
        return _integral(number)  # already has no more than `count` decimals
    return from_decimal(exact.quantize(Decimal(1).scaleb(-count), rounding=rounding))


@builtin(FUNCTIONS, "round", 1, 2)
def zen_round(value: Any, places: Any = 0) -> Number:
    """Half away from zero, like rust_decimal: ``round(2.5) == 3``, ``round(-2.5) == -3``."""
    return _to_places("round", value, places, ROUND_HALF_UP)


@builtin(FUNCTIONS, "trunc", 1, 2)
def zen_trunc(value: Any, places: Any = 0) -> Number:
    return _to_places("trunc", value, places, ROUND_DOWN)


_I64_MAX = 2**63 - 1


@builtin(FUNCTIONS, "rand", 1)
def zen_rand(upper: Any) -> int:
    """A random integer in ``[0, round(upper)]`` (not for security: a rules' sampling aid)."""
    bound = _number("rand", upper)
    if not -_I64_MAX - 1 <= bound <= _I64_MAX:
        _fail("rand", f"upper bound out of range: {bound}")
    rounded = int(to_decimal(bound).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if rounded < 0:
        # Zen panics here; an error the rule author can read is the useful equivalent.
        _fail("rand", f"upper bound must not be negative, got {bound}")
    return random.randint(0, rounded)


def _all_dates(values: Any) -> bool:
    return type(values) is list and bool(values) and all(type_name(v) == "date" for v in values)


@builtin(FUNCTIONS, "min", 1)
def zen_min(values: Any) -> Any:
    """The least number; Zen also takes an array of dates (the invalid date is least)."""
    if _all_dates(values):
        return min(values)
    return _integral(min(_numbers("min", values, non_empty=True)))


@builtin(FUNCTIONS, "max", 1)
def zen_max(values: Any) -> Any:
    if _all_dates(values):
        return max(values)
    return _integral(max(_numbers("max", values, non_empty=True)))


def _decimal_sum(items: list[Number]) -> Decimal:
    total = Decimal(0)
    for item in items:
        total = DECIMAL_CONTEXT.add(total, to_decimal(item))
    return total


@builtin(FUNCTIONS, "sum", 1)
def zen_sum(values: Any) -> Number:
    items = _numbers("sum", values, non_empty=False)
    if all(type(item) is int for item in items):
        return sum(items)
    return from_decimal(_decimal_sum(items))


@builtin(FUNCTIONS, "avg", 1)
def zen_avg(values: Any) -> Number:
    items = _numbers("avg", values, non_empty=True)
    return from_decimal(DECIMAL_CONTEXT.divide(_decimal_sum(items), Decimal(len(items))))


@builtin(FUNCTIONS, "median", 1)
def zen_median(values: Any) -> Number:
    items = sorted(_numbers("median", values, non_empty=True))
    center = len(items) // 2
    if len(items) % 2:
        return _integral(items[center])
    pair = DECIMAL_CONTEXT.add(to_decimal(items[center - 1]), to_decimal(items[center]))
    return from_decimal(DECIMAL_CONTEXT.divide(pair, Decimal(2)))


@builtin(FUNCTIONS, "mode", 1)
def zen_mode(values: Any) -> Number:
    """The most frequent value; among equally frequent values Zen returns the largest."""
    counts: dict[Number, int] = {}
    for item in _numbers("mode", values, non_empty=True):
        counts[item] = counts.get(item, 0) + 1  # 1 and 1.0 hash alike: counted together
    best = max(counts.items(), key=lambda pair: (pair[1], pair[0]))
    return _integral(best[0])


# --------------------------------------------------------------------------------------------
# Strings
# --------------------------------------------------------------------------------------------

# Rust's str::trim strips Unicode White_Space; Python's str.strip also strips \x1c-\x1f.


@builtin(FUNCTIONS, "len", 1)
def zen_len(value: Any) -> int:
    """Length of a string in characters (Zen counts UTF-8 bytes; see the module notes)."""
    if type(value) is str or type(value) is list:
        return len(value)
    text = _date_text(value)
    if text is None:
        _fail("len", f"expects a string or an array, got {type_name(value)}")
    return len(text)


@builtin(FUNCTIONS, "upper", 1)
def zen_upper(value: Any) -> str:
    return _string("upper", value).upper()


@builtin(FUNCTIONS, "lower", 1)
def zen_lower(value: Any) -> str:
    return _string("lower", value).lower()


@builtin(FUNCTIONS, "trim", 1)
def zen_trim(value: Any) -> str:
    return _string("trim", value).strip(WHITE_SPACE)


@builtin(FUNCTIONS, "startsWith", 2)
def zen_starts_with(text: Any, prefix: Any) -> bool:
    return _string("startsWith", text).startswith(_string("startsWith", prefix, 2))


@builtin(FUNCTIONS, "endsWith", 2)
def zen_ends_with(text: Any, suffix: Any) -> bool:
    return _string("endsWith", text).endswith(_string("endsWith", suffix, 2))


def _same_scalar(item: Any, wanted: Any) -> bool:
    """Zen's ``contains`` equality: same kind of scalar and equal; arrays and objects never.
    A valid date equals a date at the same instant or a string that reads as one."""
    if type_name(item) == "date" or type_name(wanted) == "date":
        if _date_text(item) is None and type(item) is not str:
            return False
        if _date_text(wanted) is None and type(wanted) is not str:
            return False
        return bool(item == wanted)
    if is_number(item):
        return is_number(wanted) and item == wanted
    kind = type(item)
    if kind is str or kind is bool:
        return type(wanted) is kind and item == wanted
    return item is None and wanted is None


@builtin(FUNCTIONS, "contains", 2)
def zen_contains(haystack: Any, needle: Any) -> bool:
    text = haystack if type(haystack) is str else _date_text(haystack)
    part = needle if type(needle) is str else _date_text(needle)
    if text is not None and part is not None:
        return part in text
    if type(haystack) is list:
        return any(_same_scalar(item, needle) for item in haystack)
    _fail(
        "contains",
        "expects (string, string) or (array, any), "
        f"got {type_name(haystack)} and {type_name(needle)}",
    )


@builtin(FUNCTIONS, "split", 2)
def zen_split(text: Any, separator: Any) -> list[str]:
    value = _string("split", text)
    sep = _string("split", separator, 2)
    if sep == "":
        # Rust splits on every char boundary, including both ends: "ab" -> ["", "a", "b", ""].
        return ["", *value, ""]
    return value.split(sep)


@builtin(FUNCTIONS, "matches", 2)
def zen_matches(text: Any, pattern: Any) -> bool:
    value = _string("matches", text)
    program = _compile_regex("matches", _string("matches", pattern, 2))
    return program.search(value, captures=False) is not None


@builtin(FUNCTIONS, "extract", 2)
def zen_extract(text: Any, pattern: Any) -> list[str]:
    """The whole first match then each group that took part in it (others are left out)."""
    value = _string("extract", text)
    program = _compile_regex("extract", _string("extract", pattern, 2))
    slots = program.search(value, captures=True)
    if slots is None:
        return []
    spans = zip(slots[::2], slots[1::2], strict=True)
    return [value[start:end] for start, end in spans if start is not None and end is not None]


def _damerau_levenshtein(a: str, b: str) -> int:
    """Unrestricted Damerau-Levenshtein distance (transpositions may be edited further),
    the measure of Rust's ``strsim`` that Zen uses; ``ca`` -> ``abc`` is 2, not 3."""
    if not a or not b:
        return max(len(a), len(b))
    last_row: dict[str, int] = {}
    width = len(b) + 2
    infinity = len(a) + len(b)
    # Row-major matrix with a sentinel row and column of `infinity`.
    d = [infinity] * (width * (len(a) + 2))
    for i in range(len(a) + 1):
        d[(i + 1) * width + 1] = i
    for j in range(len(b) + 1):
        d[width + j + 1] = j
    for i in range(1, len(a) + 1):
        last_match_col = 0
        for j in range(1, len(b) + 1):
            last_match_row = last_row.get(b[j - 1], 0)
            previous_match_col = last_match_col
            cost = 1
            if a[i - 1] == b[j - 1]:
                cost = 0
                last_match_col = j
            d[(i + 1) * width + j + 1] = min(
                d[i * width + j] + cost,
                d[(i + 1) * width + j] + 1,
                d[i * width + j + 1] + 1,
                d[last_match_row * width + previous_match_col]
                + (i - last_match_row - 1)
                + 1
                + (j - previous_match_col - 1),
            )
        last_row[a[i - 1]] = i
    return d[(len(a) + 1) * width + len(b) + 1]


def _similarity(a: str, b: str) -> Number:
    if not a and not b:
        return 1
    return _integral(1.0 - _damerau_levenshtein(a, b) / max(len(a), len(b)))


@builtin(FUNCTIONS, "fuzzyMatch", 2)
def zen_fuzzy_match(candidates: Any, target: Any) -> Number | list[Number]:
    """Similarity in [0, 1] (1 - normalised Damerau-Levenshtein distance), per element for
    an array of strings."""
    wanted = _string("fuzzyMatch", target, 2)
    text = candidates if type(candidates) is str else _date_text(candidates)
    if text is not None:
        return _similarity(text, wanted)
    if type(candidates) is list:
        texts = []
        for item in candidates:
            if type(item) is not str and _date_text(item) is None:
                _fail("fuzzyMatch", f"expects an array of strings, found {type_name(item)}")
            texts.append(_string("fuzzyMatch", item))
        return [_similarity(item, wanted) for item in texts]
    _fail("fuzzyMatch", f"argument 1 must be a string or an array, got {type_name(candidates)}")


# --------------------------------------------------------------------------------------------
# Types and conversions
# --------------------------------------------------------------------------------------------

# rust_decimal's from_str_exact: digits may carry `_` after the first one, `.5` and `5.` are
# fine, exponents have plain digits and at most 28 either way; at most 28 decimals and a
# 96-bit mantissa.
_DECIMAL_TEXT = re.compile(
    r"([+-]?)(?:([0-9][0-9_]*)(?:\.([0-9_]*))?|\.([0-9][0-9_]*))(?:[eE]([+-]?[0-9]+))?",
    re.ASCII,
)
_MAX_SCALE = 28
_MAX_MANTISSA = 2**96


def _parse_decimal(text: str) -> Number | None:
    """The number a string spells for Zen (surrounding white space allowed), or None."""
    found = _DECIMAL_TEXT.fullmatch(text.strip(WHITE_SPACE))
    if found is None:
        return None
    sign, whole, fraction, bare_fraction, exponent = found.groups()
    whole = (whole or "").replace("_", "")
    fraction = (fraction if fraction is not None else bare_fraction or "").replace("_", "")
    mantissa = int(whole + fraction or "0")
    shift = int(exponent or "0")
    if mantissa >= _MAX_MANTISSA or abs(shift) > _MAX_SCALE:
        return None
    scale = len(fraction) - shift
    if scale > _MAX_SCALE:
        return None
    if scale < 0:
        mantissa *= 10**-scale
        scale = 0
        if mantissa >= _MAX_MANTISSA:
            return None
    return from_decimal(Decimal((1 if sign == "-" else 0, tuple(map(int, str(mantissa))), -scale)))


@builtin(FUNCTIONS, "number", 1)
def zen_number(value: Any) -> Number:
    if is_number(value):
        return value
    if type(value) is bool:
        return 1 if value else 0
    if type(value) is str:
        parsed = _parse_decimal(value)
        if parsed is None:
            _fail("number", f"cannot convert {value!r} to a number")
        return parsed
    _fail("number", f"cannot convert type {type_name(value)} to a number")


@builtin(FUNCTIONS, "isNumeric", 1)
def zen_is_numeric(value: Any) -> bool:
    if is_number(value):
        return True
    return type(value) is str and _parse_decimal(value) is not None


def _format_number(value: Number) -> str:
    """Plain decimal notation, never an exponent, as rust_decimal prints."""
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        _fail("string", f"cannot convert {value} to a string")
    if value.is_integer():
        return "-0" if value == 0 and math.copysign(1.0, value) < 0 else str(int(value))
    return format(Decimal(repr(value)), "f")


@builtin(FUNCTIONS, "string", 1)
def zen_string(value: Any) -> str:
    if value is None:
        return "null"
    if type(value) is bool:
        return "true" if value else "false"
    if is_number(value):
        return _format_number(value)
    if type(value) is str:
        return value
    if type_name(value) == "date":
        text: str = value.to_json()  # "Invalid date" for the invalid date, as in Zen
        return text
    _fail("string", f"cannot convert type {type_name(value)} to a string")


@builtin(FUNCTIONS, "bool", 1)
def zen_bool(value: Any) -> bool:
    """Zen's truthiness. Strings: "true"/"false" after trimming; any other text is false
    except the empty string, which is true — a Zen quirk kept for compatibility."""
    if value is None:
        return False
    if type(value) is bool:
        return value
    if is_number(value):
        return value != 0
    if type(value) is str:
        trimmed = value.strip(WHITE_SPACE)
        if trimmed in ("true", "false"):
            return trimmed == "true"
        return value == ""
    return True


@builtin(FUNCTIONS, "type", 1)
def zen_type(value: Any) -> str:
    return type_name(value)


# --------------------------------------------------------------------------------------------
# Arrays and objects
# --------------------------------------------------------------------------------------------


@builtin(FUNCTIONS, "keys", 1)
def zen_keys(value: Any) -> list[Any]:
    """Object keys, or the indices of an array."""
    if type(value) is dict:
        return list(value)
    if type(value) is list:
        return list(range(len(value)))
    _fail("keys", f"expects an object or an array, got {type_name(value)}")


@builtin(FUNCTIONS, "values", 1)
def zen_values(value: Any) -> list[Any]:
    return list(_object("values", value).values())


@builtin(FUNCTIONS, "flatten", 1)
def zen_flatten(value: Any) -> list[Any]:
    """Flattens one level: ``[1, [2, [3]]]`` -> ``[1, 2, [3]]``."""
    flat: list[Any] = []
    for item in _array("flatten", value):
        if type(item) is list:
            flat.extend(item)
        else:
            flat.append(item)
    return flat


@builtin(FUNCTIONS, "merge", 1)
def zen_merge(value: Any) -> dict[str, Any] | list[Any]:
    """Shallow merge of an array of objects (later keys win), or concatenation of an array of
    arrays; nulls are skipped and the first non-null element decides which."""
    parts = [item for item in _array("merge", value) if item is not None]
    if not parts:
        return {}
    kind = type(parts[0])
    if kind is not dict and kind is not list:
        _fail("merge", f"expects an array of arrays or objects, got {type_name(parts[0])}")
    for item in parts:
        if type(item) is not kind:
            expected = "objects" if kind is dict else "arrays"
            _fail("merge", f"expects an array of {expected}, found {type_name(item)}")
    if kind is list:
        return [element for part in parts for element in part]
    merged: dict[str, Any] = {}
    for part in parts:
        merged.update(part)
    return merged


def _merge_deep(into: dict[str, Any], source: dict[str, Any]) -> None:
    for key, new in source.items():
        old = into.get(key)
        if type(old) is dict and type(new) is dict:
            nested = dict(old)  # never mutate the caller's values
            _merge_deep(nested, new)
            into[key] = nested
        elif type(old) is list and type(new) is list:
            into[key] = old + new
        else:
            into[key] = new


@builtin(FUNCTIONS, "mergeDeep", 1)
def zen_merge_deep(value: Any) -> dict[str, Any]:
    """Recursive merge of an array of objects: nested objects merge, arrays concatenate,
    anything else (null included) replaces; null elements of the array are skipped."""
    merged: dict[str, Any] = {}
    for item in _array("mergeDeep", value):
        if item is None:
            continue
        if type(item) is not dict:
            _fail("mergeDeep", f"expects an array of objects, found {type_name(item)}")
        _merge_deep(merged, item)
    return merged


# --------------------------------------------------------------------------------------------
def _compile_regex(name: str, pattern: str) -> Program:
    program = compile_pattern(pattern)
    if isinstance(program, str):
        _fail(name, f"invalid regular expression {pattern!r}: {program}")
    return program
