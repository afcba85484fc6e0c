"""Indexed rule matching for decision tables.

A decision table is a list of rules, each a row of unary tests, one per input column. The
naive way evaluates the rules one by one, cell by cell — what Zen does, and why a
10,000-rule table is slow there. Here each column is turned into an index once, when the
graph loads:

* Cells that only compare ``$`` with constants (``>= 600``, ``[18..65]``, ``'A', 'B'``,
  ``true``, ``null``) are *structured*: the set of values they accept is a union of
  numeric intervals plus sets of strings, booleans and null.
* The column's numeric endpoints cut the number line into segments (each endpoint and each
  gap between endpoints). For every segment we store, as a Python integer used as a bit
  set, the rules whose cell accepts it. Strings, booleans and null get a mask each too.
* Matching a request is then one ``bisect`` (or dict lookup) per column and a bitwise AND
  across columns. The surviving bits are the candidate rules, lowest bit first.
* Cells that are not structured (they reference other fields, call functions...) are
  *general*: their rules stay candidates through the AND and the cell is evaluated only
  for those candidates, in rule order.

A cell that fails at run time on the value it meets (``> 5`` on a missing field) does not
match, as in Zen. Cells that do not parse are rejected when the table loads.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from fengkong.errors import ExpressionEvaluationError, ExpressionSyntaxError, FengkongError
from fengkong.expr import CompiledExpression, CompiledUnary, ast, compile_expression, compile_unary

# Above this many bits (segments x rules) for one column the numeric part of its cells is
# evaluated per candidate instead of indexed, to keep memory bounded (about 8 MB per column).
MAX_INDEX_BITS = 64_000_000

_INF = float("inf")


@dataclass
class _Accepts:
    """The values a structured cell accepts: numeric intervals plus exact non-numbers."""

    intervals: list[tuple[float, bool, float, bool]] = field(default_factory=list)
    strings: set[str] = field(default_factory=set)
    booleans: set[bool] = field(default_factory=set)
    null: bool = False

    def union(self, other: _Accepts) -> _Accepts:
        return _Accepts(self.intervals + other.intervals, self.strings | other.strings,
                        self.booleans | other.booleans, self.null or other.null)


def _constant(node: ast.Node) -> tuple[bool, Any]:
    """(True, value) when ``node`` is a literal, including negative numbers."""
    if isinstance(node, ast.Literal):
        return True, node.value
    if (isinstance(node, ast.Unary) and node.operator == "-" and isinstance(node.operand, ast.Literal)
            and type(node.operand.value) in (int, float)):
        return True, -node.operand.value
    return False, None


def _is_dollar(node: ast.Node) -> bool:
    return isinstance(node, ast.Identifier) and node.name == "$"


def _is_number(value: Any) -> bool:
    return type(value) in (int, float)


def _equal_to(value: Any) -> _Accepts | None:
    if value is None:
        return _Accepts(null=True)
    if type(value) is bool:
        return _Accepts(booleans={value})
    if type(value) is str:
        return _Accepts(strings={value})
    if _is_number(value):
        return _Accepts(intervals=[(value, True, value, True)])
    return None


def _structured(node: ast.Node) -> _Accepts | None:
    """The accepted set of a unary test tree, or None when it is not structured."""
    if isinstance(node, ast.Binary):
        if node.operator == "or":
            left, right = _structured(node.left), _structured(node.right)
            return left.union(right) if left is not None and right is not None else None
        if node.operator == "and":
            return _intersection(_structured(node.left), _structured(node.right))
        if not _is_dollar(node.left):
            return None
        is_constant, value = _constant(node.right)
        if node.operator == "==" and is_constant:
            return _equal_to(value)
        if node.operator in ("<", "<=", ">", ">=") and is_constant and _is_number(value):
            return _Accepts(intervals=[{
                "<": (-_INF, False, value, False), "<=": (-_INF, False, value, True),
                ">": (value, False, _INF, False), ">=": (value, True, _INF, False),
            }[node.operator]])
        if node.operator == "in":
            return _membership(node.right)
    return None


def _membership(node: ast.Node) -> _Accepts | None:
    if isinstance(node, ast.ArrayLiteral):
        accepted = _Accepts()
        for item in node.items:
            is_constant, value = _constant(item)
            part = _equal_to(value) if is_constant else None
            if part is None:
                return None
            accepted = accepted.union(part)
        return accepted
    if isinstance(node, ast.Interval):
        (low_const, low), (high_const, high) = _constant(node.low), _constant(node.high)
        if low_const and high_const and _is_number(low) and _is_number(high):
            return _Accepts(intervals=[(low, node.low_closed, high, node.high_closed)])
    return None


def _intersection(left: _Accepts | None, right: _Accepts | None) -> _Accepts | None:
    """``> 0 and < 10``: only pure numeric single intervals are intersected here."""
    if left is None or right is None:
        return None
    for accepts in (left, right):
        if accepts.strings or accepts.booleans or accepts.null or len(accepts.intervals) != 1:
            return None
    (low_a, low_closed_a, high_a, high_closed_a), = left.intervals
    (low_b, low_closed_b, high_b, high_closed_b), = right.intervals
    if low_a > low_b or (low_a == low_b and not low_closed_a):
        low, low_closed = low_a, low_closed_a
    else:
        low, low_closed = low_b, low_closed_b
    if high_a < high_b or (high_a == high_b and not high_closed_a):
        high, high_closed = high_a, high_closed_a
    else:
        high, high_closed = high_b, high_closed_b
    return _Accepts(intervals=[(low, low_closed, high, high_closed)])


class _NumericIndex:
    """Segment masks for the numeric parts of the structured cells of one column."""

    def __init__(self, cells: dict[int, list[tuple[float, bool, float, bool]]], base: int) -> None:
        endpoints = sorted({end for intervals in cells.values() for interval in intervals
                            for end in (interval[0], interval[2]) if end not in (_INF, -_INF)})
        self.endpoints = endpoints
        position = {value: index for index, value in enumerate(endpoints)}
        segment_count = 2 * len(endpoints) + 1
        # Segment 2k is the gap below endpoint k, 2k+1 is endpoint k itself.
        coverage: list[list[int]] = [[] for _ in range(segment_count + 1)]
        for rule, intervals in cells.items():
            for first, last in _covered_segments(intervals, position, len(endpoints)):
                coverage[first].append(rule)
                coverage[last + 1].append(rule)
        masks = []
        current = 0
        for segment in range(segment_count):
            for rule in coverage[segment]:
                current ^= 1 << rule  # toggles: each rule's segment runs are disjoint
            masks.append(current | base)
        self.masks = masks

    def lookup(self, value: float) -> int:
        endpoints = self.endpoints
        index = bisect_left(endpoints, value)
        if index < len(endpoints) and endpoints[index] == value:
            return self.masks[2 * index + 1]
        return self.masks[2 * index]


def _covered_segments(intervals: list[tuple[float, bool, float, bool]],
                      position: dict[float, int], count: int) -> list[tuple[int, int]]:
    """Disjoint, non-touching runs of segments covered by a union of intervals."""
    runs = []
    for low, low_closed, high, high_closed in intervals:
        first = 0 if low == -_INF else 2 * position[low] + (1 if low_closed else 2)
        last = 2 * count if high == _INF else 2 * position[high] + (1 if high_closed else 0)
        if first <= last:
            runs.append((first, last))
    runs.sort()
    merged: list[tuple[int, int]] = []
    for first, last in runs:
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


class ColumnIndex:
    """One input column: how to read its value and which rules each value leaves in play."""

    def __init__(self, getter: CompiledExpression | None, any_mask: int, base: int,
                 numeric: _NumericIndex | None, strings: dict[str, int], true_mask: int,
                 false_mask: int, null_mask: int) -> None:
        self.getter = getter
        self.any_mask = any_mask  # rules whose cell here is empty
        self.base = base  # empty cells plus general cells (checked later)
        self.numeric = numeric
        self.strings = strings
        self.true_mask = true_mask
        self.false_mask = false_mask
        self.null_mask = null_mask

    def mask(self, value: Any) -> int:
        kind = type(value)
        if kind is int or kind is float:
            return self.numeric.lookup(value) if self.numeric is not None else self.base
        if kind is str:
            return self.strings.get(value, self.base)
        if value is None:
            return self.null_mask
        if kind is bool:
            return self.true_mask if value else self.false_mask
        return self.base


class RuleMatcher:
    """Finds the rules of a decision table whose input cells all hold.

    ``inputs[j]`` is column j's field expression (``applicant.age``), or empty for a column
    whose cells are standard boolean expressions; ``rules[i][j]`` is the cell source of rule
    i in column j (empty matches anything).
    """

    def __init__(self, inputs: Sequence[str | None], rules: Sequence[Sequence[str]], *,
                 node_id: str | None = None, node_name: str | None = None) -> None:
        self.node_id, self.node_name = node_id, node_name
        self.rule_count = len(rules)
        self.all_rules = (1 << self.rule_count) - 1
        self.columns: list[ColumnIndex] = []
        # Per rule: the general cells still to check, as (column slot, test).
        self.general: list[list[tuple[int, Callable[[Any, Any], bool]]]] = [
            [] for _ in range(self.rule_count)]
        # The same cells as compiled tests, for the columnar matcher (table_vector.py).
        self.general_tests: list[list[tuple[int, CompiledUnary | CompiledExpression]]] = [
            [] for _ in range(self.rule_count)]
        # Columns with a field, evaluated per request; None marks expression columns.
        getters: list[CompiledExpression | None] = []
        for column, field_source in enumerate(inputs):
            field_source = (field_source or "").strip()
            cells = [(row[column] if column < len(row) else "") or "" for row in rules]
            cells = [cell.strip() for cell in cells]
            if not any(cells):
                continue  # an all-empty column constrains nothing; do not even read it
            slot = len(getters)
            getter = self._compile_field(field_source) if field_source else None
            getters.append(getter)
            self.columns.append(self._index_column(slot, getter, cells))
        self.getters = getters

    def _error(self, error: FengkongError, cell: str) -> FengkongError:
        error.in_expression(cell)
        return error.at_node(self.node_id or "", self.node_name)

    def _compile_field(self, source: str) -> CompiledExpression:
        try:
            return compile_expression(source)
        except ExpressionSyntaxError as error:
            raise self._error(error, source) from None

    def _index_column(self, slot: int, getter: CompiledExpression | None,
                      cells: list[str]) -> ColumnIndex:
        any_mask = 0
        general_mask = 0
        structured: dict[int, _Accepts] = {}
        for rule, cell in enumerate(cells):
            bit = 1 << rule
            if not cell:
                any_mask |= bit
                continue
            try:
                test: CompiledUnary | CompiledExpression = (
                    compile_unary(cell) if getter is not None else compile_expression(cell))
            except ExpressionSyntaxError as error:
                raise self._error(error, cell) from None
            accepts = _structured(test.tree) if getter is not None else None
            if accepts is not None:
                structured[rule] = accepts
                continue
            general_mask |= bit
            self._add_general(rule, slot, test)
        base = any_mask | general_mask
        numeric_cells = {rule: accepts.intervals for rule, accepts in structured.items()
                         if accepts.intervals}
        numeric = None
        if numeric_cells:
            endpoint_count = len({end for intervals in numeric_cells.values()
                                  for interval in intervals for end in (interval[0], interval[2])})
            if (2 * endpoint_count + 1) * len(cells) <= MAX_INDEX_BITS:
                numeric = _NumericIndex(numeric_cells, base)
            else:
                for rule in structured:
                    self._add_general(rule, slot, compile_unary(cells[rule]))
                base |= sum(1 << rule for rule in structured)
                structured = {}
        strings: dict[str, int] = {}
        true_mask = false_mask = null_mask = base
        for rule, accepts in structured.items():
            bit = 1 << rule
            for text in accepts.strings:
                strings[text] = strings.get(text, base) | bit
            if True in accepts.booleans:
                true_mask |= bit
            if False in accepts.booleans:
                false_mask |= bit
            if accepts.null:
                null_mask |= bit
        return ColumnIndex(getter, any_mask, base, numeric, strings, true_mask, false_mask, null_mask)

    def _add_general(self, rule: int, slot: int,
                     test: CompiledUnary | CompiledExpression) -> None:
        self.general[rule].append((slot, _cell_test(test)))
        self.general_tests[rule].append((slot, test))

    def _values(self, scope: Any) -> list[Any]:
        values: list[Any] = []
        for getter in self.getters:
            if getter is None:
                values.append(None)
                continue
            try:
                values.append(getter.fn(scope, None, None))
            except ExpressionEvaluationError:
                values.append(_UNREADABLE)
        return values

    def _candidates(self, scope: Any, values: list[Any]) -> int:
        candidates = self.all_rules
        for column, value in zip(self.columns, values, strict=True):
            if column.getter is None:
                candidates &= column.base
            elif value is _UNREADABLE:
                candidates &= column.any_mask
            else:
                candidates &= column.mask(value)
            if not candidates:
                return 0
        return candidates

    def _passes(self, rule: int, scope: Any, values: list[Any]) -> bool:
        return all(test(scope, values[slot]) for slot, test in self.general[rule])

    def first(self, scope: Any) -> int:
        """Index of the first matching rule, or -1 when none matches."""
        values = self._values(scope)
        candidates = self._candidates(scope, values)
        while candidates:
            lowest = candidates & -candidates
            rule = lowest.bit_length() - 1
            if not self.general[rule] or self._passes(rule, scope, values):
                return rule
            candidates ^= lowest
        return -1

    def all(self, scope: Any) -> list[int]:
        """Indices of all matching rules, in table order."""
        values = self._values(scope)
        candidates = self._candidates(scope, values)
        matched = []
        while candidates:
            lowest = candidates & -candidates
            rule = lowest.bit_length() - 1
            if not self.general[rule] or self._passes(rule, scope, values):
                matched.append(rule)
            candidates ^= lowest
        return matched


class _Unreadable:
    """Marks a column whose field expression failed for this request."""


_UNREADABLE = _Unreadable()


def _cell_test(test: CompiledUnary | CompiledExpression) -> Callable[[Any, Any], bool]:
    """A cell as ``test(scope, value) -> bool``; evaluation errors mean no match (as Zen)."""
    fn = test.fn

    def run(scope: Any, value: Any) -> bool:
        try:
            return fn(scope, value, None) is True
        except (ExpressionEvaluationError, TypeError, ValueError, ArithmeticError,
                RecursionError):
            return False

    return run
