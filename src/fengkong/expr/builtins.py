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

Regular expressions (``matches``, ``extract``): Zen uses Rust's ``regex`` crate, whose syntax
differs from Python's ``re`` and which runs in linear time. Python's ``re`` backtracks and can
take exponential time on patterns such as ``(a+)+$`` — a denial of service when applicants
control the input text. So this module does not use ``re`` for user patterns: it parses the
Rust syntax itself (rejecting what Rust rejects: look-around, back-references, ``\\Z``...) and
runs the pattern on a Pike VM, a breadth-first NFA simulation whose cost is at most
proportional to ``len(text) * len(program)`` whatever the pattern. Compiled programs are
capped at ``_REGEX_MAX_PROGRAM`` instructions, patterns at ``_REGEX_MAX_LENGTH`` characters
and nesting at 250 levels (Rust's nest limit); compiled patterns are cached. Repetitions are laid out as Rust's compiler lays them out, so
``extract`` reports the same groups. Unicode classes (``\\w``, ``\\d``, ``\\p{L}``...) come
from :mod:`unicodedata`, whose Unicode version may be older than Zen's; scripts
(``\\p{Han}``...) from the table below, limited to common scripts.

Intentional differences from Zen: ``len`` counts characters, not UTF-8 bytes (Chinese names);
``rand`` with a negative bound raises an error where Zen panics; a Unicode property or script
outside the supported set, and a pattern over the length or program-size caps above, are
evaluation errors.
"""

from __future__ import annotations

import math
import random
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable, Iterable
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from functools import cache, lru_cache
from typing import Any, NoReturn

from fengkong.errors import ExpressionEvaluationError
from fengkong.expr.numbers import DECIMAL_CONTEXT, from_decimal, to_decimal
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
_WHITE_SPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


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
    return _string("trim", value).strip(_WHITE_SPACE)


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
    found = _DECIMAL_TEXT.fullmatch(text.strip(_WHITE_SPACE))
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
        trimmed = value.strip(_WHITE_SPACE)
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
# Regular expressions: Rust `regex` syntax, run on a linear-time Pike VM
# --------------------------------------------------------------------------------------------

_REGEX_MAX_PROGRAM = 50_000
_REGEX_MAX_LENGTH = 10_000  # bounds the time to parse a pattern that comes from input data
_REGEX_NEST_LIMIT = 250
_MAX_CODE_POINT = 0x10FFFF

CharTest = Callable[[str], bool]

# Script ranges (hex, inclusive), read off Zen 2.1.3's regex engine (Unicode 16).
_SCRIPTS = {
    "han": "2E80-2E99 2E9B-2EF3 2F00-2FD5 3005 3007 3021-3029 3038-303B 3400-4DBF 4E00-9FFF"
    " F900-FA6D FA70-FAD9 16FE2-16FE3 16FF0-16FF1 20000-2A6DF 2A700-2B739 2B740-2B81D"
    " 2B820-2CEA1 2CEB0-2EBE0 2EBF0-2EE5D 2F800-2FA1D 30000-3134A 31350-323AF",
    "hiragana": "3041-3096 309D-309F 1B001-1B11F 1B132 1B150-1B152 1F200",
    "katakana": "30A1-30FA 30FD-30FF 31F0-31FF 32D0-32FE 3300-3357 FF66-FF6F FF71-FF9D"
    " 1AFF0-1AFF3 1AFF5-1AFFB 1AFFD-1AFFE 1B000 1B120-1B122 1B155 1B164-1B167",
    "hangul": "1100-11FF 302E-302F 3131-318E 3200-321E 3260-327E A960-A97C AC00-D7A3"
    " D7B0-D7C6 D7CB-D7FB FFA0-FFBE FFC2-FFC7 FFCA-FFCF FFD2-FFD7 FFDA-FFDC",
    "bopomofo": "2EA-2EB 3105-312F 31A0-31BF",
    "latin": "41-5A 61-7A AA BA C0-D6 D8-F6 F8-2B8 2E0-2E4 1D00-1D25 1D2C-1D5C 1D62-1D65"
    " 1D6B-1D77 1D79-1DBE 1E00-1EFF 2071 207F 2090-209C 212A-212B 2132 214E 2160-2188"
    " 2C60-2C7F A722-A787 A78B-A7CD A7D0-A7D1 A7D3 A7D5-A7DC A7F2-A7FF AB30-AB5A AB5C-AB64"
    " AB66-AB69 FB00-FB06 FF21-FF3A FF41-FF5A 10780-10785 10787-107B0 107B2-107BA"
    " 1DF00-1DF1E 1DF25-1DF2A",
    "greek": "370-373 375-377 37A-37D 37F 384 386 388-38A 38C 38E-3A1 3A3-3E1 3F0-3FF"
    " 1D26-1D2A 1D5D-1D61 1D66-1D6A 1DBF 1F00-1F15 1F18-1F1D 1F20-1F45 1F48-1F4D 1F50-1F57"
    " 1F59 1F5B 1F5D 1F5F-1F7D 1F80-1FB4 1FB6-1FC4 1FC6-1FD3 1FD6-1FDB 1FDD-1FEF 1FF2-1FF4"
    " 1FF6-1FFE 2126 AB65 10140-1018E 101A0 1D200-1D245",
    "cyrillic": "400-484 487-52F 1C80-1C8A 1D2B 1D78 2DE0-2DFF A640-A69F FE2E-FE2F"
    " 1E030-1E06D 1E08F",
    "arabic": "600-604 606-60B 60D-61A 61C-61E 620-63F 641-64A 656-66F 671-6DC 6DE-6FF"
    " 750-77F 870-88E 890-891 897-8E1 8E3-8FF FB50-FBC2 FBD3-FD3D FD40-FD8F FD92-FDC7 FDCF"
    " FDF0-FDFF FE70-FE74 FE76-FEFC 10E60-10E7E 10EC2-10EC4 10EFC-10EFF 1EE00-1EE03"
    " 1EE05-1EE1F 1EE21-1EE22 1EE24 1EE27 1EE29-1EE32 1EE34-1EE37 1EE39 1EE3B 1EE42 1EE47"
    " 1EE49 1EE4B 1EE4D-1EE4F 1EE51-1EE52 1EE54 1EE57 1EE59 1EE5B 1EE5D 1EE5F 1EE61-1EE62"
    " 1EE64 1EE67-1EE6A 1EE6C-1EE72 1EE74-1EE77 1EE79-1EE7C 1EE7E 1EE80-1EE89 1EE8B-1EE9B"
    " 1EEA1-1EEA3 1EEA5-1EEA9 1EEAB-1EEBB 1EEF0-1EEF1",
    "hebrew": "591-5C7 5D0-5EA 5EF-5F4 FB1D-FB36 FB38-FB3C FB3E FB40-FB41 FB43-FB44 FB46-FB4F",
    "thai": "E01-E3A E40-E5B",
    "devanagari": "900-950 955-963 966-97F A8E0-A8FF 11B00-11B09",
}
_SCRIPT_ALIASES = {
    "hani": "han", "hira": "hiragana", "kana": "katakana", "hang": "hangul",
    "bopo": "bopomofo", "latn": "latin", "grek": "greek", "cyrl": "cyrillic",
    "arab": "arabic", "hebr": "hebrew", "deva": "devanagari",
}  # fmt: skip

_CATEGORY_GROUPS = {
    "l": "Lu Ll Lt Lm Lo", "lc": "Lu Ll Lt", "m": "Mn Mc Me", "n": "Nd Nl No",
    "p": "Pc Pd Ps Pe Pi Pf Po", "s": "Sm Sc Sk So", "z": "Zs Zl Zp", "c": "Cc Cf Cs Co Cn",
}  # fmt: skip
_CATEGORY_NAMES = {
    "letter": "l", "casedletter": "lc", "uppercaseletter": "lu", "lowercaseletter": "ll",
    "titlecaseletter": "lt", "modifierletter": "lm", "otherletter": "lo", "mark": "m",
    "combiningmark": "m", "nonspacingmark": "mn", "spacingmark": "mc", "enclosingmark": "me",
    "number": "n", "decimalnumber": "nd", "digit": "nd", "letternumber": "nl",
    "othernumber": "no", "punctuation": "p", "punct": "p", "connectorpunctuation": "pc",
    "dashpunctuation": "pd", "openpunctuation": "ps", "closepunctuation": "pe",
    "initialpunctuation": "pi", "finalpunctuation": "pf", "otherpunctuation": "po",
    "symbol": "s", "mathsymbol": "sm", "currencysymbol": "sc", "modifiersymbol": "sk",
    "othersymbol": "so", "separator": "z", "spaceseparator": "zs", "lineseparator": "zl",
    "paragraphseparator": "zp", "other": "c", "control": "cc", "cntrl": "cc", "format": "cf",
    "surrogate": "cs", "privateuse": "co", "unassigned": "cn",
}  # fmt: skip
_ALL_CATEGORIES = {
    code.lower(): code for group in _CATEGORY_GROUPS.values() for code in group.split()
}

# ASCII classes of `[[:name:]]`, as inclusive code point ranges.
_POSIX_CLASSES: dict[str, tuple[tuple[int, int], ...]] = {
    "alnum": ((0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)),
    "alpha": ((0x41, 0x5A), (0x61, 0x7A)),
    "ascii": ((0x00, 0x7F),),
    "blank": ((0x09, 0x09), (0x20, 0x20)),
    "cntrl": ((0x00, 0x1F), (0x7F, 0x7F)),
    "digit": ((0x30, 0x39),),
    "graph": ((0x21, 0x7E),),
    "lower": ((0x61, 0x7A),),
    "print": ((0x20, 0x7E),),
    "punct": ((0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E)),
    "space": ((0x09, 0x0D), (0x20, 0x20)),
    "upper": ((0x41, 0x5A),),
    "word": ((0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)),
    "xdigit": ((0x30, 0x39), (0x41, 0x46), (0x61, 0x66)),
}
_POSIX_SYNTAX = re.compile(r":(\^?)([a-z]+):\]")


def _ranges_test(ranges: Iterable[tuple[int, int]]) -> CharTest:
    """Membership in a union of inclusive code point ranges (merged, then bisected)."""
    merged: list[list[int]] = []
    for low, high in sorted(ranges):
        if merged and low <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], high)
        else:
            merged.append([low, high])
    starts = [low for low, _ in merged]
    ends = [high for _, high in merged]

    def test(ch: str) -> bool:
        index = bisect_right(starts, ord(ch)) - 1
        return index >= 0 and ord(ch) <= ends[index]

    return test


@cache
def _script_test(name: str) -> CharTest:
    ranges = []
    for item in _SCRIPTS[name].split():
        low, _, high = item.partition("-")
        ranges.append((int(low, 16), int(high or low, 16)))
    return _ranges_test(ranges)


def _is_word(ch: str) -> bool:
    """Unicode word character: Alphabetic, marks, decimal digits, connectors, joiners."""
    category = unicodedata.category(ch)
    if category[0] in "LM" or category in ("Nd", "Nl", "Pc") or ch in "\u200c\u200d":
        return True
    # Other_Alphabetic symbols: the circled and squared Latin letters.
    code = ord(ch)
    return 0x24B6 <= code <= 0x24E9 or 0x1F130 <= code <= 0x1F189


def _is_ascii_word(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch == "_")


def _is_digit(ch: str) -> bool:
    return unicodedata.category(ch) == "Nd"


def _is_space(ch: str) -> bool:
    return ch in _WHITE_SPACE


def _is_ascii_digit(ch: str) -> bool:
    return "0" <= ch <= "9"


def _is_ascii_space(ch: str) -> bool:
    return ch in "\t\n\x0b\x0c\r "


@lru_cache(maxsize=1)
def _case_groups() -> dict[str, tuple[str, ...]]:
    """Simple case folding classes: characters that match each other under ``(?i)``.

    Built once, on first use, from planes 0 and 1 (no cased letters lie beyond).
    The key is the simple case fold: ``casefold`` when it is one character, else ``lower``
    (so ``ẞ`` joins ``ß``, ``K`` (Kelvin) joins ``k``, and ``ſ`` joins ``s``).
    """
    by_key: dict[str, list[str]] = {}
    for code in range(0x20000):
        ch = chr(code)
        key = ch.casefold()
        if len(key) != 1:
            key = ch.lower() if len(ch.lower()) == 1 else ch
        if key != ch or ch.upper() != ch:
            by_key.setdefault(key, [key]).append(ch)
    groups: dict[str, tuple[str, ...]] = {}
    for members in by_key.values():
        group = tuple(dict.fromkeys(members))
        if len(group) > 1:
            for ch in group:
                groups[ch] = group
    return groups


def _case_variants(ch: str) -> tuple[str, ...]:
    return _case_groups().get(ch, (ch,))


def _fold_test(test: CharTest) -> CharTest:
    return lambda ch: any(test(variant) for variant in _case_variants(ch))


# Program instructions: (opcode, a, b).
_CHAR, _SET, _TEST, _SPLIT, _JMP, _SAVE, _ASSERT, _MATCH = range(8)

# Assertion kinds.
(_START_TEXT, _END_TEXT, _START_LINE, _END_LINE, _START_LINE_CRLF, _END_LINE_CRLF,
 _WORD_B, _NOT_WORD_B, _ASCII_WORD_B, _ASCII_NOT_WORD_B, _WORD_START, _WORD_END,
 _WORD_START_HALF, _WORD_END_HALF) = range(14)  # fmt: skip


def _assertion_holds(kind: int, text: str, pos: int) -> bool:
    n = len(text)
    if kind == _START_TEXT:
        return pos == 0
    if kind == _END_TEXT:
        return pos == n
    if kind == _START_LINE:
        return pos == 0 or text[pos - 1] == "\n"
    if kind == _END_LINE:
        return pos == n or text[pos] == "\n"
    if kind == _START_LINE_CRLF:
        if pos == 0 or text[pos - 1] == "\n":
            return True
        return text[pos - 1] == "\r" and (pos == n or text[pos] != "\n")
    if kind == _END_LINE_CRLF:
        if pos == n or text[pos] == "\r":
            return True
        return text[pos] == "\n" and (pos == 0 or text[pos - 1] != "\r")
    word = _is_ascii_word if kind in (_ASCII_WORD_B, _ASCII_NOT_WORD_B) else _is_word
    before = pos > 0 and word(text[pos - 1])
    after = pos < n and word(text[pos])
    if kind in (_WORD_B, _ASCII_WORD_B):
        return before != after
    if kind in (_NOT_WORD_B, _ASCII_NOT_WORD_B):
        return before == after
    if kind == _WORD_START:
        return not before and after
    if kind == _WORD_END:
        return before and not after
    if kind == _WORD_START_HALF:
        return not before
    return not after  # _WORD_END_HALF


class _RegexError(Exception):
    """A pattern Rust's regex crate would reject (reported as an evaluation error)."""


# Parsed pattern nodes (tuples): ("char", ch) ("set", frozenset) ("test", CharTest)
# ("assert", kind) ("cat", [nodes]) ("alt", [nodes]) ("group", index, node)
# ("repeat", node, minimum, maximum or None, greedy).
Node = tuple[Any, ...]


class _Flags:
    """The flags in force at a point of the pattern: ``(?imsUuxR)``."""

    __slots__ = ("crlf", "dot_all", "ignore_case", "multi_line", "swap_greed", "unicode",
                 "verbose")  # fmt: skip

    def __init__(self) -> None:
        self.ignore_case = self.multi_line = self.dot_all = self.swap_greed = False
        self.verbose = self.crlf = False
        self.unicode = True

    def copy(self) -> _Flags:
        other = _Flags()
        for name in self.__slots__:
            setattr(other, name, getattr(self, name))
        return other


_FLAG_NAMES = {"i": "ignore_case", "m": "multi_line", "s": "dot_all", "U": "swap_greed",
               "u": "unicode", "x": "verbose", "R": "crlf"}  # fmt: skip
_SIMPLE_ESCAPES = {"a": "\x07", "f": "\x0c", "t": "\t", "n": "\n", "r": "\r", "v": "\x0b"}
_HEX_WIDTHS = {"x": 2, "u": 4, "U": 8}
_BOUNDARY_NAMES = {"start": _WORD_START, "end": _WORD_END, "start-half": _WORD_START_HALF,
                   "end-half": _WORD_END_HALF}  # fmt: skip
_GROUP_NAME = re.compile(r"[^\W\d][\w.\[\]]*")


class _Parser:
    """Recursive-descent parser for the syntax of Rust's ``regex`` crate."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.pos = 0
        self.flags = _Flags()
        self.groups = 0
        self.names: set[str] = set()
        self.depth = 0

    def error(self, message: str) -> NoReturn:
        raise _RegexError(f"{message} at position {self.pos}")

    def peek(self, offset: int = 0) -> str | None:
        index = self.pos + offset
        return self.pattern[index] if index < len(self.pattern) else None

    def next(self) -> str:
        ch = self.peek()
        if ch is None:
            self.error("unexpected end of pattern")
        self.pos += 1
        return ch

    def skip_verbose(self) -> None:
        """In ``(?x)`` mode white space and ``#`` comments are not part of the pattern."""
        while self.flags.verbose and self.pos < len(self.pattern):
            ch = self.pattern[self.pos]
            if ch == "#":
                end = self.pattern.find("\n", self.pos)
                self.pos = len(self.pattern) if end < 0 else end + 1
            elif ch.isspace():
                self.pos += 1
            else:
                return

    def nest(self) -> None:
        self.depth += 1
        if self.depth > _REGEX_NEST_LIMIT:
            self.error(f"pattern nests deeper than {_REGEX_NEST_LIMIT} levels")

    def parse(self) -> Node:
        node = self.alternation()
        if self.pos < len(self.pattern):
            self.error("unopened group")
        return node

    def alternation(self) -> Node:
        """Branches up to a closing parenthesis (left in place) or the end."""
        branches: list[Node] = []
        items: list[Node] = []
        repeatable = False
        stacked = 0  # repetitions applied to the last item, which count as nesting
        while True:
            self.skip_verbose()
            ch = self.peek()
            if ch is None or ch == ")":
                break
            if ch == "|":
                self.pos += 1
                branches.append(self.sequence(items))
                items, repeatable, stacked = [], False, 0
                continue
            if ch in "*+?{":
                if not repeatable:
                    self.error("repetition operator missing expression")
                stacked += 1
                if self.depth + stacked > _REGEX_NEST_LIMIT:
                    self.error(f"pattern nests deeper than {_REGEX_NEST_LIMIT} levels")
                items[-1] = self.repetition(items[-1])
                continue
            atom = self.atom()
            stacked = 0
            repeatable = atom is not None
            if atom is not None:
                items.append(atom)
        branches.append(self.sequence(items))
        return branches[0] if len(branches) == 1 else ("alt", branches)

    @staticmethod
    def sequence(items: list[Node]) -> Node:
        return items[0] if len(items) == 1 else ("cat", items)

    def repetition(self, node: Node) -> Node:
        ch = self.next()
        if ch == "*":
            low, high = 0, None
        elif ch == "+":
            low, high = 1, None
        elif ch == "?":
            low, high = 0, 1
        else:
            low, high = self.counted()
        greedy = True
        if self.peek() == "?":
            self.pos += 1
            greedy = False
        if self.flags.swap_greed:
            greedy = not greedy
        return ("repeat", node, low, high, greedy)

    def counted(self) -> tuple[int, int | None]:
        """``{n}``, ``{n,}`` or ``{n,m}``, spaces allowed inside the braces."""
        end = self.pattern.find("}", self.pos)
        if end < 0:
            self.error("unclosed counted repetition")
        body = self.pattern[self.pos : end]
        found = re.fullmatch(r"\s*([0-9]+)\s*(?:(,)\s*([0-9]*)\s*)?", body, re.ASCII)
        if found is None:
            self.error("invalid counted repetition")
        self.pos = end + 1
        low = int(found.group(1))
        high: int | None = low
        if found.group(2):
            high = int(found.group(3)) if found.group(3) else None
        if low > 0xFFFFFFFF or (high is not None and high > 0xFFFFFFFF):
            self.error("repetition count too large")
        if high is not None and high < low:
            self.error("invalid repetition range")
        return low, high

    def atom(self) -> Node | None:
        """One atom, or None after a bare flag group such as ``(?i)``."""
        ch = self.next()
        if ch == "(":
            return self.group()
        if ch == "[":
            return ("test", self.char_class())
        if ch == ".":
            if self.flags.dot_all:
                return ("test", lambda _ch: True)
            excluded = "\r\n" if self.flags.crlf else "\n"
            return ("test", lambda c: c not in excluded)
        if ch == "^":
            kind = _START_LINE_CRLF if self.flags.crlf else _START_LINE
            return ("assert", kind if self.flags.multi_line else _START_TEXT)
        if ch == "$":
            kind = _END_LINE_CRLF if self.flags.crlf else _END_LINE
            return ("assert", kind if self.flags.multi_line else _END_TEXT)
        if ch == "\\":
            return self.escape(in_class=False)
        return self.literal(ch)

    def literal(self, ch: str) -> Node:
        if self.flags.ignore_case:
            variants = _case_variants(ch)
            if len(variants) > 1:
                return ("set", frozenset(variants))
        return ("char", ch)

    def group(self) -> Node | None:
        index: int | None = None
        saved = self.flags
        if self.peek() == "?":
            self.pos += 1
            if self.pattern.startswith("P<", self.pos) or self.peek() == "<":
                self.pos += 2 if self.peek() == "P" else 1
                end = self.pattern.find(">", self.pos)
                name = self.pattern[self.pos : end] if end >= 0 else ""
                if not _GROUP_NAME.fullmatch(name) or name in self.names:
                    self.error("invalid or duplicate capture group name")
                self.names.add(name)
                self.pos = end + 1
                self.groups += 1
                index = self.groups
            else:
                flags = self.flag_directive()
                if self.next() == ")":
                    self.flags = flags  # `(?i)`: applies to the rest of the enclosing group
                    return None
                self.flags = flags
        else:
            self.groups += 1
            index = self.groups
        self.nest()
        self.flags = self.flags.copy()
        body = self.alternation()
        if self.peek() != ")":
            self.error("unclosed group")
        self.pos += 1
        self.depth -= 1
        self.flags = saved
        return body if index is None else ("group", index, body)

    def flag_directive(self) -> _Flags:
        """Flags of ``(?flags)`` or ``(?flags:``, leaving the ``)`` or ``:`` unread."""
        flags = self.flags.copy()
        seen: set[str] = set()
        negate = False
        dangling = False
        while self.peek() not in (":", ")"):
            ch = self.next()
            if ch == "-":
                if negate:
                    self.error("repeated negation in flags")
                negate = dangling = True
                continue
            if ch not in _FLAG_NAMES or ch in seen:
                self.error(f"invalid or repeated flag {ch!r}")
            seen.add(ch)
            setattr(flags, _FLAG_NAMES[ch], not negate)
            dangling = False
        if dangling or (not seen and self.peek() == ")") or (negate and not seen):
            self.error("empty or dangling flag group")
        return flags

    def hex_escape(self, kind: str) -> str:
        if self.peek() == "{":
            end = self.pattern.find("}", self.pos)
            if end < 0:
                self.error("unclosed hexadecimal escape")
            digits = self.pattern[self.pos + 1 : end]
            self.pos = end + 1
        else:
            digits = self.pattern[self.pos : self.pos + _HEX_WIDTHS[kind]]
            self.pos += _HEX_WIDTHS[kind]
            if len(digits) != _HEX_WIDTHS[kind]:
                self.error("incomplete hexadecimal escape")
        if not digits or not all(c in "0123456789abcdefABCDEF" for c in digits):
            self.error("invalid hexadecimal escape")
        code = int(digits, 16)
        if code > _MAX_CODE_POINT or 0xD800 <= code <= 0xDFFF:
            self.error("escape is not a Unicode scalar value")
        return chr(code)

    def escape(self, in_class: bool) -> Node:
        """An escape; in a class, literals stay unfolded (the class folds as a whole)."""
        literal = (lambda c: ("char", c)) if in_class else self.literal
        ch = self.next()
        if ch in _SIMPLE_ESCAPES:
            return ("char", _SIMPLE_ESCAPES[ch])
        if ch in _HEX_WIDTHS:
            return literal(self.hex_escape(ch))
        if ch in "dDsSwW":
            return ("test", self.perl_class(ch))
        if ch in "pP":
            test = self.unicode_class()
            return ("test", (lambda c: not test(c)) if ch == "P" else test)
        if not in_class:
            assertion = self.assertion_escape(ch)
            if assertion is not None:
                return ("assert", assertion)
        if ch.isascii() and not ch.isalnum() and ch not in "<>":
            return literal(ch)  # any ASCII punctuation or space may be escaped
        self.error(f"unsupported escape \\{ch}")

    def assertion_escape(self, ch: str) -> int | None:
        if ch == "b":
            end = self.pattern.find("}", self.pos)
            if self.peek() == "{" and end > 0:
                kind = _BOUNDARY_NAMES.get(self.pattern[self.pos + 1 : end])
                if kind is not None:
                    self.pos = end + 1
                    return kind
            # `\b{2}` is a repeated `\b`: the braces are left for the repetition.
            return _WORD_B if self.flags.unicode else _ASCII_WORD_B
        if ch == "B":
            return _NOT_WORD_B if self.flags.unicode else _ASCII_NOT_WORD_B
        return {"A": _START_TEXT, "z": _END_TEXT, "<": _WORD_START, ">": _WORD_END}.get(ch)

    def perl_class(self, ch: str) -> CharTest:
        unicode = self.flags.unicode
        if ch in "dD":
            test = _is_digit if unicode else _is_ascii_digit
        elif ch in "sS":
            test = _is_space if unicode else _is_ascii_space
        else:
            test = _is_word if unicode else _is_ascii_word
        return test if ch.islower() else (lambda c: not test(c))

    def unicode_class(self) -> CharTest:
        """``\\pL`` or ``\\p{Name}`` / ``\\p{key=value}`` / ``\\p{key!=value}``."""
        if self.peek() != "{":
            return self.property_test(self.next())
        end = self.pattern.find("}", self.pos)
        if end < 0:
            self.error("unclosed Unicode class")
        body = self.pattern[self.pos + 1 : end]
        self.pos = end + 1
        negate = "!=" in body
        key, _, value = body.replace("!=", "=").replace(":", "=").rpartition("=")
        test = self.property_test(value, key)
        return (lambda c: not test(c)) if negate else test

    def property_test(self, name: str, key: str = "") -> CharTest:
        loose = re.sub(r"[\s_-]", "", name).lower()
        kind = re.sub(r"[\s_-]", "", key).lower()
        if kind in ("", "gc", "generalcategory"):
            code = _CATEGORY_NAMES.get(loose, loose)
            if code in _CATEGORY_GROUPS:
                categories = frozenset(_CATEGORY_GROUPS[code].split())
                return lambda c: unicodedata.category(c) in categories
            if code in _ALL_CATEGORIES:
                category = _ALL_CATEGORIES[code]
                return lambda c: unicodedata.category(c) == category
        if kind == "":
            if loose == "any":
                return lambda _c: True
            if loose == "ascii":
                return str.isascii
            if loose == "assigned":
                return lambda c: unicodedata.category(c) != "Cn"
            if loose in ("whitespace", "wspace", "space"):
                return _is_space
        if kind in ("", "sc", "script", "scx", "scriptextensions"):
            script = _SCRIPT_ALIASES.get(loose, loose)
            if script in _SCRIPTS:
                return _script_test(script)
        self.error(f"unsupported Unicode property {name!r}")

    def char_class(self) -> CharTest:
        """A bracketed class, the opening ``[`` already read."""
        self.nest()
        negated = self.peek() == "^"
        if negated:
            self.pos += 1
        # Dashes right after the opening are literals (`[--a]`); so is a `]` (`[]a]`), but
        # only when no dash came first.
        leading = []
        while self.peek() == "-":
            leading.append(ord("-"))
            self.pos += 1
        if not leading and self.peek() == "]":
            leading.append(ord("]"))
            self.pos += 1
        test = self.class_union(leading)
        while True:
            operator = self.pattern[self.pos : self.pos + 2]
            if operator not in ("&&", "--", "~~"):
                break
            self.pos += 2
            left, right = test, self.class_union([])
            if operator == "&&":
                test = _both(left, right)
            elif operator == "--":
                test = _minus(left, right)
            else:
                test = _either_not_both(left, right)
        self.skip_verbose()
        if self.peek() != "]":
            self.error("unclosed character class")
        self.pos += 1
        self.depth -= 1
        return (lambda c: not test(c)) if negated else test

    def class_union(self, leading: list[int]) -> CharTest:
        """Items up to ``]`` or a set operator (``&&``, ``--``, ``~~``), after the ``leading``
        literal code points."""
        ranges = [(code, code) for code in leading]
        tests: list[CharTest] = []
        while True:
            self.skip_verbose()
            ch = self.peek()
            if ch is None:
                self.error("unclosed character class")
            if ch == "]" or self.pattern.startswith(("&&", "--", "~~"), self.pos):
                break
            if ch == "[":
                self.pos += 1
                tests.append(self.posix_class() or self.char_class())
                continue
            item = self.class_atom()
            if isinstance(item, str) and self.peek() == "-" and self.peek(1) not in ("]", None):
                if self.peek(1) == "-":
                    ranges.append((ord(item), ord(item)))  # `a--b`: a difference follows
                    continue
                self.pos += 1
                end = self.class_atom()  # may be `[`: a literal in this position
                if not isinstance(end, str) or end < item:
                    self.error("invalid range in character class")
                ranges.append((ord(item), ord(end)))
            elif isinstance(item, str):
                ranges.append((ord(item), ord(item)))
            else:
                if self.peek() == "-" and self.peek(1) not in ("]", None, "-"):
                    self.error("a class cannot start a range")
                tests.append(item)
        if ranges:
            tests.append(_ranges_test(ranges))
        union = _any_of(tests)
        return _fold_test(union) if self.flags.ignore_case else union

    def class_atom(self) -> str | CharTest:
        """A literal character or a class escape (``\\d``, ``\\pL``...) inside brackets."""
        ch = self.next()
        if ch != "\\":
            return ch
        node = self.escape(in_class=True)
        return node[1]  # a "char" or a "test" node

    def posix_class(self) -> CharTest | None:
        """``[:alpha:]`` or ``[:^alpha:]`` (the ``[`` read); None if this is a nested class."""
        found = _POSIX_SYNTAX.match(self.pattern, self.pos)
        if found is None or found.group(2) not in _POSIX_CLASSES:
            return None
        self.pos = found.end()
        test = _ranges_test(_POSIX_CLASSES[found.group(2)])
        return (lambda c: not test(c)) if found.group(1) else test


def _any_of(tests: list[CharTest]) -> CharTest:
    if len(tests) == 1:
        return tests[0]
    return lambda c: any(test(c) for test in tests)


def _both(left: CharTest, right: CharTest) -> CharTest:
    return lambda c: left(c) and right(c)


def _minus(left: CharTest, right: CharTest) -> CharTest:
    return lambda c: left(c) and not right(c)


def _either_not_both(left: CharTest, right: CharTest) -> CharTest:
    return lambda c: left(c) != right(c)


def _is_void(node: Node) -> bool:
    """Whether a parsed pattern compiles to no instruction at all (``(?:)``, ``(?:){9}``)."""
    if node[0] == "cat":
        return all(_is_void(item) for item in node[1])
    return node[0] == "repeat" and (node[3] == 0 or _is_void(node[1]))


def _can_be_empty(node: Node) -> bool:
    """Whether a parsed pattern can match the empty string."""
    kind = node[0]
    if kind in ("char", "set", "test"):
        return False
    if kind == "cat":
        return all(_can_be_empty(item) for item in node[1])
    if kind == "alt":
        return any(_can_be_empty(item) for item in node[1])
    if kind == "group":
        return _can_be_empty(node[2])
    if kind == "repeat":
        return node[2] == 0 or _can_be_empty(node[1])
    return True  # assertions


class _Program:
    """A compiled pattern: instructions for the Pike VM and the number of capture slots."""

    def __init__(self, node: Node, groups: int) -> None:
        self.code: list[list[Any]] = []
        self.slots = 2 * (groups + 1)
        self.emit([_SAVE, 0, None])
        self.compile(node)
        self.emit([_SAVE, 1, None])
        self.emit([_MATCH, None, None])
        self.anchored, self.first = self.analyse_start()

    def analyse_start(self) -> tuple[bool, CharTest | None]:
        """Whether every match must start at position 0 (``^`` or ``\\A`` first), and a test
        that the first character of any non-empty match passes (None if a match can be
        empty). Both let the search skip positions where no match can start."""
        anchored = True
        chars: set[str] = set()
        tests: list[CharTest] = []
        can_be_empty = False
        stack = [0]
        seen: set[int] = set()
        while stack:
            pc = stack.pop()
            if pc in seen:
                continue
            seen.add(pc)
            op, a, b = self.code[pc]
            if op == _JMP:
                stack.append(a)
            elif op == _SPLIT:
                stack.extend((a, b))
            elif op == _SAVE or (op == _ASSERT and a != _START_TEXT):
                stack.append(pc + 1)  # other assertions only narrow the first characters
            elif op == _MATCH:
                anchored, can_be_empty = False, True
            elif op != _ASSERT:  # a consuming instruction reached without `\A`
                anchored = False
                if op == _CHAR:
                    chars.add(a)
                elif op == _SET:
                    chars.update(a)
                else:
                    tests.append(a)
        if can_be_empty:
            return anchored, None
        frozen = frozenset(chars)
        return anchored, _any_of([frozen.__contains__, *tests])

    def emit(self, instruction: list[Any]) -> list[Any]:
        if len(self.code) >= _REGEX_MAX_PROGRAM:
            raise _RegexError(f"compiled pattern exceeds {_REGEX_MAX_PROGRAM} instructions")
        self.code.append(instruction)
        return instruction

    def compile(self, node: Node) -> None:
        kind = node[0]
        if kind == "char":
            self.emit([_CHAR, node[1], None])
        elif kind == "set":
            self.emit([_SET, node[1], None])
        elif kind == "test":
            self.emit([_TEST, node[1], None])
        elif kind == "assert":
            self.emit([_ASSERT, node[1], None])
        elif kind == "cat":
            for item in node[1]:
                self.compile(item)
        elif kind == "alt":
            jumps = []
            for branch in node[1][:-1]:
                split = self.emit([_SPLIT, len(self.code) + 1, None])
                self.compile(branch)
                jumps.append(self.emit([_JMP, None, None]))
                split[2] = len(self.code)
            self.compile(node[1][-1])
            for jump in jumps:
                jump[1] = len(self.code)
        elif kind == "group":
            self.emit([_SAVE, 2 * node[1], None])
            self.compile(node[2])
            self.emit([_SAVE, 2 * node[1] + 1, None])
        else:
            self.compile_repeat(node[1], node[2], node[3], node[4])

    def split(self, greedy: bool) -> list[Any]:
        """A split whose preferred branch is the next instruction when greedy."""
        here = len(self.code)
        return self.emit([_SPLIT, here + 1, None] if greedy else [_SPLIT, None, here + 1])

    @staticmethod
    def patch(split: list[Any], target: int) -> None:
        split[2 if split[2] is None else 1] = target

    def compile_repeat(self, node: Node, low: int, high: int | None, greedy: bool) -> None:
        """Repetitions laid out as Rust's Thompson compiler does: the layout decides which
        thread wins a tie, and so which text the groups capture."""
        if _is_void(node):
            return  # `(?:){4294967295}` is nothing, and must not loop four billion times
        if high is None and low == 0 and not _can_be_empty(node):
            loop = len(self.code)  # `e*`: one split that the body jumps back to
            split = self.split(greedy)
            self.compile(node)
            self.emit([_JMP, loop, None])
            self.patch(split, len(self.code))
            return
        if high is None:
            # `e*` for an `e` that can match "" is `(e+)?`, and `e{n,}` is `e{n-1}e+`: the loop
            # test comes after the body, so an empty iteration still sets its groups (`(a*)*`
            # on "x" captures "" for the group).
            skip = self.split(greedy) if low == 0 else None
            for _ in range(max(low - 1, 0)):
                self.compile(node)
            loop = len(self.code)
            self.compile(node)
            here = len(self.code)
            self.emit([_SPLIT, loop, here + 1] if greedy else [_SPLIT, here + 1, loop])
            if skip is not None:
                self.patch(skip, len(self.code))
            return
        for _ in range(low):
            self.compile(node)
        splits = []
        for _ in range(high - low):
            splits.append(self.split(greedy))
            self.compile(node)
        for split in splits:
            self.patch(split, len(self.code))

    def add_thread(
        self,
        threads: list[tuple[int, Any]],
        seen: set[int],
        pc: int,
        slots: Any,
        text: str,
        pos: int,
    ) -> bool:
        """Follow empty transitions from ``pc`` in priority order; True if MATCH is reached."""
        code = self.code
        stack = [(pc, slots)]
        while stack:
            pc, slots = stack.pop()
            if pc in seen:
                continue
            seen.add(pc)
            op, a, b = code[pc]
            if op == _JMP:
                stack.append((a, slots))
            elif op == _SPLIT:
                stack.append((b, slots))
                stack.append((a, slots))
            elif op == _SAVE:
                if slots is not None:
                    slots = (*slots[:a], pos, *slots[a + 1 :])
                stack.append((pc + 1, slots))
            elif op == _ASSERT:
                if _assertion_holds(a, text, pos):
                    stack.append((pc + 1, slots))
            else:
                threads.append((pc, slots))
                if op == _MATCH and slots is None:
                    return True
        return False

    def search(self, text: str, captures: bool) -> tuple[int | None, ...] | None:
        """Leftmost-first match: its capture slots, or () if ``captures`` is false; None if
        there is no match."""
        code = self.code
        start_slots = (None,) * self.slots if captures else None
        threads: list[tuple[int, Any]] = []
        seen: set[int] = set()
        found: tuple[int | None, ...] | None = None
        first = self.first
        pos = 0
        while pos <= len(text):
            if not threads and found is None and pos > 0:
                # Nothing alive: go to the next position where a match can start (position 0
                # is always tried: `\A` paths, left out of `first`, live there).
                if self.anchored:
                    break
                if first is not None:
                    while pos < len(text) and not first(text[pos]):
                        pos += 1
                    if pos == len(text):
                        break  # a non-empty match cannot start at the end
                seen = set()
            seed = found is None and (pos == 0 or not self.anchored)
            if seed and self.add_thread(threads, seen, 0, start_slots, text, pos):
                return ()
            if not threads:
                if found is not None:
                    break
                pos += 1
                continue
            ch = text[pos] if pos < len(text) else None
            next_threads: list[tuple[int, Any]] = []
            next_seen: set[int] = set()
            for pc, slots in threads:
                op, a, _ = code[pc]
                if op == _MATCH:
                    found = slots  # lower-priority threads are cut off
                    break
                if ch is None:
                    continue
                consumed = (
                    (op == _CHAR and ch == a) or (op == _SET and ch in a) or (op == _TEST and a(ch))
                )
                # Without captures a thread reaching MATCH means the pattern matched.
                if consumed and self.add_thread(
                    next_threads, next_seen, pc + 1, slots, text, pos + 1
                ):
                    return ()
            threads, seen = next_threads, next_seen
            pos += 1
        return found


@lru_cache(maxsize=256)
def _compile_pattern(pattern: str) -> _Program | str:
    """Compiled program, or the reason Rust's regex crate would reject the pattern."""
    if len(pattern) > _REGEX_MAX_LENGTH:
        return f"pattern longer than {_REGEX_MAX_LENGTH} characters"
    try:
        parser = _Parser(pattern)
        return _Program(parser.parse(), parser.groups)
    except _RegexError as error:
        return str(error)
    except RecursionError:
        return "pattern nests too deeply"


def _compile_regex(name: str, pattern: str) -> _Program:
    program = _compile_pattern(pattern)
    if isinstance(program, str):
        _fail(name, f"invalid regular expression {pattern!r}: {program}")
    return program
