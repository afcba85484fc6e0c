"""The value model of ZEN expressions in Python.

Only JSON-like values flow through an expression: ``None``, ``bool``, ``int``, ``float``,
``str``, ``list`` and ``dict`` — plus :class:`fengkong.expr.dates.ZenDate` for the results of
``d(...)``. Python objects, attributes and callables are never reachable from user text.

Numbers are stored as ``int`` or ``float``. ZEN specifies decimal arithmetic
(``0.1 + 0.2 == 0.3``); :mod:`fengkong.expr.numbers` performs every non-integer operation in
:class:`decimal.Decimal` on the operands' shortest decimal text and stores the result back as
an ``int`` when it is integral, else as the nearest ``float``.
"""

from __future__ import annotations

from typing import Any

from fengkong.errors import ExpressionEvaluationError


def is_number(value: Any) -> bool:
    """True for ZEN numbers (``bool`` is not a number even though Python says it is)."""
    kind = type(value)
    return kind is int or kind is float


def type_name(value: Any) -> str:
    """The ZEN type name of a value, for messages and the ``type()`` built-in."""
    if value is None:
        return "null"
    kind = type(value)
    if kind is bool:
        return "bool"
    if kind is int or kind is float:
        return "number"
    if kind is str:
        return "string"
    if kind is list:
        return "array"
    if kind is dict:
        return "object"
    return getattr(value, "zen_type", "unknown")


def to_json(value: Any) -> Any:
    """Convert an expression result to plain JSON-ready Python (dates become ISO text)."""
    kind = type(value)
    if kind in (str, int, float, bool) or value is None:
        return value
    if kind is list:
        return [to_json(item) for item in value]
    if kind is dict:
        return {key: to_json(item) for key, item in value.items()}
    to_json_method = getattr(value, "to_json", None)
    if to_json_method is not None:
        return to_json_method()
    raise ExpressionEvaluationError(f"value of type {type_name(value)} cannot be output")
