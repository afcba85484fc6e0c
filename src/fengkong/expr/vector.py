"""Columnar evaluation of ZEN expressions over NumPy arrays, for backtests and batch scoring.

A batch is a :class:`Frame`: one column per dotted input path (``applicant.age``), each a
:class:`Column` of float64 numbers, booleans or Python objects (strings), with a null mask.
:func:`compile_vector` turns an expression tree into a function from a frame to a column,
applying each operator to whole arrays at once.

Semantics follow the row-by-row engine, with two deliberate limits:

* Rows where an operator meets types ZEN rejects (``null > 5``, ``'a' + 1``) are not
  computed here: they are flagged in :attr:`Batch.errors`, and the caller re-runs exactly
  those rows through the row engine, which raises the precise error. Branches not taken
  (``?:``, ``and``, ``or``) never flag rows that do not take them.
* Arithmetic is float64, rounded to 15 significant digits after each non-integer
  ``+ - * /`` so that decimal identities such as ``0.1 + 0.2 == 0.3`` hold as in ZEN. The
  row engine computes in decimal; the two agree to about 1e-15 relative.

Anything this module does not vectorize (date functions, closures over arrays, objects)
raises :class:`Unsupported` at compile time, and the caller evaluates that expression row by
row instead — slower, never different.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import itemgetter
from typing import Any

import numpy as np

from fengkong.expr import ast
from fengkong.expr.compiler import IntervalValue

NUMBER, BOOL, TEXT, OBJECT, NULL = "number", "bool", "text", "object", "null"


class Unsupported(Exception):
    """The expression needs the row-by-row engine."""


class Column:
    """A vector of values of one kind.

    ``null`` marks rows whose value is null (None: no nulls); ``absent``, a subset of those,
    marks rows where the field does not exist at all (None: it exists in every row). The
    difference matters where node outputs merge: a null output erases a field, an absent one
    leaves it alone (JSON merge patch, as in single evaluation).
    """

    __slots__ = ("absent", "data", "integral", "kind", "null")

    def __init__(self, kind: str, data: Any, null: np.ndarray | None = None,
                 integral: bool = False, absent: np.ndarray | None = None) -> None:
        self.kind = kind
        self.data = data
        self.null = null
        self.integral = integral
        self.absent = absent

    def take(self, rows: np.ndarray) -> Column:
        """The values at ``rows`` (constants stay constants), copied when first read."""
        if not np.ndim(self.data):
            return Column(self.kind, self.data,
                          self.null[rows] if self.null is not None else None, self.integral,
                          self.absent[rows] if self.absent is not None else None)
        return TakenColumn(self, rows)

    def absent_rows(self, length: int) -> np.ndarray:
        """Where the field does not exist (never None, for mask arithmetic)."""
        return self.absent if self.absent is not None else np.zeros(length, dtype=bool)

    @property
    def origin(self) -> tuple[Column, np.ndarray | None]:
        """The column this one was taken from and at which rows (itself, None if not)."""
        return self, None

    @staticmethod
    def constant(value: Any) -> Column:
        if value is None:
            return Column(NULL, None, None)
        if type(value) is bool:
            return Column(BOOL, np.bool_(value))
        if type(value) in (int, float):
            return Column(NUMBER, np.float64(value), integral=float(value).is_integer())
        if type(value) is str:
            return Column(TEXT, value)
        raise Unsupported(f"constant of type {type(value).__name__}")


class TakenColumn(Column):
    """Some rows of another column, gathered only if read.

    After a switch, each branch gets its rows of every column; most input columns are never
    read and pass through to the result unchanged, so copying them would be wasted work.
    """

    __slots__ = ("_data", "_null", "_rows", "_source")

    def __init__(self, source: Column, rows: np.ndarray) -> None:
        base, base_rows = source.origin
        # Taking from a taken column composes the row indices onto the original.
        self._source = base
        self._rows = rows if base_rows is None else base_rows[rows]
        self.kind, self.integral = source.kind, source.integral
        self.absent = base.absent[self._rows] if base.absent is not None else None
        self._data: Any = None
        self._null: Any = False

    @property
    def data(self) -> Any:
        if self._data is None:
            self._data = self._source.data[self._rows]
        return self._data

    @data.setter
    def data(self, value: Any) -> None:
        self._data = value

    @property
    def null(self) -> np.ndarray | None:
        if self._null is False:
            source_null = self._source.null
            self._null = source_null[self._rows] if source_null is not None else None
        return self._null

    @null.setter
    def null(self, value: np.ndarray | None) -> None:
        self._null = value

    @property
    def origin(self) -> tuple[Column, np.ndarray | None]:
        return self._source, self._rows


def column_from_values(values: list[Any] | np.ndarray) -> Column:
    """Build a column from Python values (JSON-like), choosing the narrowest kind."""
    if isinstance(values, np.ndarray) and values.dtype != object:
        if values.dtype == bool:
            return Column(BOOL, values)
        integral = values.dtype.kind in "iu"
        data = values.astype(np.float64, copy=False)
        null = np.isnan(data) if not integral else None
        return Column(NUMBER, data, null if null is not None and null.any() else None, integral)
    if isinstance(values, np.ndarray) and len(values) and type(values[0]) is str:
        text = _text_column(values)
        if text is not None:
            return text
    items = list(values)
    if items and type(items[0]) in (int, float, bool, str):
        fast = _uniform_column(items)
        if fast is not None:
            return fast
    null = np.fromiter((item is None for item in items), dtype=bool, count=len(items))
    present = [item for item in items if item is not None]
    kinds = {type(item) for item in present}
    has_null = bool(null.any())
    if not present:
        return Column(NULL, None, np.ones(len(items), dtype=bool))
    if kinds <= {int, float}:
        data = np.array([0.0 if item is None else item for item in items], dtype=np.float64)
        return Column(NUMBER, data, null if has_null else None, kinds == {int})
    if kinds == {bool}:
        data = np.array([False if item is None else item for item in items], dtype=bool)
        return Column(BOOL, data, null if has_null else None)
    data = np.empty(len(items), dtype=object)
    data[:] = items
    kind = TEXT if kinds == {str} else OBJECT
    return Column(kind, data, null if has_null else None)


def _uniform_column(items: list[Any]) -> Column | None:
    """The common case, values all of one JSON type and no nulls, in one NumPy call."""
    first = type(items[0])
    if first is str:
        return _text_column(items)
    try:
        array = np.array(items)
    except (ValueError, OverflowError):
        return None
    kind = array.dtype.kind
    if first is bool and kind == "b":
        return Column(BOOL, array)
    # np.array turns bools among numbers into 0/1; ZEN does not mix them, so check types.
    if first in (int, float) and kind in "if" and bool not in set(map(type, items)):
        return Column(NUMBER, array.astype(np.float64, copy=False), None, kind == "i")
    return None


def _text_column(items: list[Any] | np.ndarray) -> Column | None:
    """Strings without nulls, kept as an object array (no copy for an object ndarray)."""
    if set(map(type, items)) != {str}:
        return None
    if isinstance(items, np.ndarray):
        return Column(TEXT, items)
    data = np.empty(len(items), dtype=object)
    data[:] = items
    return Column(TEXT, data)


class Frame:
    """The input of a batch: columns by dotted path, all of the same length."""

    def __init__(self, columns: dict[str, Column], length: int) -> None:
        self.columns = columns
        self.length = length
        self._records: list[dict[str, Any]] | None = None

    def take(self, rows: np.ndarray) -> Frame:
        """The frame restricted to ``rows`` (positions), in that order."""
        return Frame({path: column.take(rows) for path, column in self.columns.items()},
                     len(rows))

    def originals(self, rows: list[dict[str, Any]]) -> None:
        """Remember the row dicts this frame was built from (exact for row fallbacks)."""
        self._records = rows

    def records(self) -> list[dict[str, Any]]:
        """The rows as nested dicts (built on first use, for row-by-row fallbacks)."""
        if self._records is None:
            length = self.length
            records: list[dict[str, Any]] = [{} for _ in range(length)]
            for path, column in self.columns.items():
                if path == "$":
                    continue
                keys = path.split(".")
                absent = column.absent.tolist() if column.absent is not None else None
                values = values_of(column, length)
                for row, (record, value) in enumerate(zip(records, values, strict=True)):
                    if absent is not None and absent[row]:
                        continue
                    set_nested(record, keys, value)
            self._records = records
        return self._records

    @classmethod
    def from_rows(cls, rows: list[dict[str, Any]]) -> Frame:
        if rows:
            regular = _regular_frame(rows)
            if regular is not None:
                return regular
        paths: dict[str, None] = {}
        flat_rows = [_flatten(row) for row in rows]
        for flat in flat_rows:
            paths.update(dict.fromkeys(flat))
        columns = {}
        for path in paths:
            column = column_from_values([flat.get(path) for flat in flat_rows])
            absent = np.fromiter((path not in flat for flat in flat_rows), dtype=bool,
                                 count=len(flat_rows))
            if absent.any():
                column.absent = absent
            columns[path] = column
        frame = cls(columns, len(rows))
        frame.originals(rows)
        return frame

    @classmethod
    def from_columns(cls, columns: dict[str, Any]) -> Frame:
        built = {path: column_from_values(values) for path, values in columns.items()}
        lengths = {len(values) for values in columns.values()}
        if len(lengths) > 1:
            raise ValueError(f"columns have different lengths: {sorted(lengths)}")
        return cls(built, lengths.pop() if lengths else 0)


def _regular_frame(rows: list[dict[str, Any]]) -> Frame | None:
    """Columns for rows that all have the first row's shape (the usual batch), or None.

    Each nested object is pulled out of all rows once, then its fields; a row with a missing
    key fails a lookup, a row with an extra key fails the size check, and either sends the
    batch to the general conversion.
    """
    columns: dict[str, Column] = {}

    def walk(objects: list[Any], template: dict[str, Any], prefix: str) -> None:
        if set(map(len, objects)) != {len(template)}:  # an extra or missing key somewhere
            raise KeyError(prefix)
        for key, example in template.items():
            # map/itemgetter: the field of every row in one C-level pass.
            values = list(map(itemgetter(key), objects))
            if type(example) is dict and example:
                walk(values, example, f"{prefix}{key}.")
                continue
            column = column_from_values(values)
            if column.kind == OBJECT and any(type(v) is dict and v for v in values):
                raise KeyError(key)
            columns[f"{prefix}{key}"] = column

    try:
        walk(rows, rows[0], "")
    except (KeyError, TypeError):
        return None
    frame = Frame(columns, len(rows))
    frame.originals(rows)
    return frame


def set_nested(record: dict[str, Any], keys: list[str], value: Any) -> None:
    """``record[k1][k2]...[kn] = value``, making objects on the way (replacing non-objects)."""
    for key in keys[:-1]:
        child = record.get(key)
        if type(child) is not dict:
            child = record[key] = {}
        record = child
    record[keys[-1]] = value


def values_of(column: Column, length: int) -> list[Any]:
    """A column as Python values (None where null; integral numbers as int)."""
    if column.kind == NULL:
        return [None] * length
    data = np.broadcast_to(column.data, (length,)).tolist() if np.ndim(column.data) else \
        [column.data.item() if isinstance(column.data, np.generic) else column.data] * length
    if column.kind == NUMBER and column.integral:
        data = [int(value) for value in data]
    if column.null is not None:
        data = [None if missing else item for item, missing in
                zip(data, column.null.tolist(), strict=True)]
    return data


def _flatten(row: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in row.items():
        path = f"{prefix}{key}"
        if type(value) is dict and value:
            flat.update(_flatten(value, f"{path}."))
        else:
            flat[path] = value
    return flat


class Batch:
    """Evaluation state: the frame, rows currently evaluated, and rows that failed."""

    def __init__(self, frame: Frame, active: np.ndarray | None = None) -> None:
        self.frame = frame
        self.active = active if active is not None else np.ones(frame.length, dtype=bool)
        self.errors = np.zeros(frame.length, dtype=bool)

    def fail(self, rows: Any) -> None:
        self.errors |= np.asarray(rows, dtype=bool) & self.active

    def restricted(self, rows: np.ndarray) -> Batch:
        inner = Batch(self.frame, self.active & rows)
        inner.errors = self.errors  # shared: failures anywhere are failures of the batch
        return inner


VectorFn = Callable[[Batch], Column]


def compile_vector(node: ast.Node) -> VectorFn:
    """Compile a tree to a columnar function; raises :class:`Unsupported` when it cannot."""
    compiler = _COMPILERS.get(type(node))
    if compiler is None:
        raise Unsupported(type(node).__name__)
    return compiler(node)


def _nulls(column: Column, length: int) -> np.ndarray:
    if column.kind == NULL:
        return np.ones(length, dtype=bool)
    if column.null is None:
        return np.zeros(length, dtype=bool)
    return column.null


def _any_null(a: Column, b: Column, length: int) -> np.ndarray | None:
    if a.kind == NULL or b.kind == NULL:
        return np.ones(length, dtype=bool)
    if a.null is None:
        return b.null
    if b.null is None:
        return a.null
    return a.null | b.null


def snap(values: np.ndarray, scale_of: np.ndarray | None = None) -> np.ndarray:
    """Round to 15 significant digits: float64's decimal precision, as ZEN's decimals print.

    For sums and differences the digits are counted on the larger operand (``scale_of``),
    not on the result, so that cancellation noise goes too: ``100 - 99.9`` is ``0.1``.
    """
    with np.errstate(all="ignore"):
        magnitude = np.abs(values if scale_of is None else scale_of)
        exponent = np.floor(np.log10(np.where(magnitude > 0, magnitude, 1.0)))
        scale = np.power(10.0, 14 - exponent)
        snapped = np.round(values * scale) / scale
        # Below 1e-13 the 15 digits reach past the 28th decimal place, which ZEN drops.
        snapped = np.where(np.abs(snapped) < 1e-13, np.round(snapped, 28), snapped)
    return np.where(np.isfinite(snapped), snapped, values)


def _literal(node: ast.Literal) -> VectorFn:
    column = Column.constant(node.value)
    return lambda batch: column


def _field(node: ast.Node) -> VectorFn:
    keys = ast.dotted_path(node)
    if keys is None:
        raise Unsupported("computed member access")
    path = ".".join(keys)
    missing = Column(NULL, None, None)

    def read(batch: Batch) -> Column:
        column = batch.frame.columns.get(path)
        if column is None:
            if any(key.startswith(path + ".") for key in batch.frame.columns):
                raise Unsupported(f"{path} is an object")
            return missing
        if column.kind == OBJECT:
            raise Unsupported(f"{path} holds mixed values")
        return column

    return read


def _dollar(node: ast.Identifier) -> VectorFn:
    if node.name != "$":
        return _field(node)

    def read(batch: Batch) -> Column:
        column = batch.frame.columns.get("$")
        if column is None:
            raise Unsupported("$ outside a unary test")
        return column

    return read


_ARITHMETIC = {
    "+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide,
    "%": np.fmod, "^": np.power,
}


def _arithmetic(node: ast.Binary) -> VectorFn:
    left, right = compile_vector(node.left), compile_vector(node.right)
    operator = node.operator
    ufunc = _ARITHMETIC[operator]

    def run(batch: Batch) -> Column:
        a, b = left(batch), right(batch)
        length = batch.frame.length
        if operator == "+" and a.kind == TEXT and b.kind == TEXT:
            null = _any_null(a, b, length)
            if null is not None:
                batch.fail(null)
            left_text = np.where(a.null, "", a.data) if a.null is not None else a.data
            right_text = np.where(b.null, "", b.data) if b.null is not None else b.data
            return Column(TEXT, np.add(left_text, right_text).astype(object), null)
        if a.kind != NUMBER or b.kind != NUMBER:
            if a.kind in (NUMBER, TEXT, BOOL, NULL) and b.kind in (NUMBER, TEXT, BOOL, NULL):
                batch.fail(np.ones(length, dtype=bool))
                return Column(NUMBER, np.zeros(length), None)
            raise Unsupported(f"{operator} on {a.kind} and {b.kind}")
        null = _any_null(a, b, length)
        if null is not None:
            batch.fail(null)
        integral = a.integral and b.integral and operator in ("+", "-", "*", "%")
        with np.errstate(all="ignore"):
            if operator == "%" and not integral:
                # Decimal remainder: a - b * trunc(a / b), each step snapped (1 % 0.1 == 0).
                quotient = np.trunc(snap(np.asarray(a.data / b.data, dtype=np.float64)))
                result = a.data - snap(np.asarray(b.data * quotient, dtype=np.float64))
            else:
                result = ufunc(a.data, b.data)
        result_null = None
        if operator in ("/", "%"):
            zero = np.broadcast_to(b.data == 0, (length,))
            if zero.any():
                result_null = zero.copy()
        if not integral:
            result = np.asarray(result, dtype=np.float64)
            if operator in ("+", "-", "%"):
                larger = np.maximum(np.abs(a.data), np.abs(b.data))
                result = snap(result, np.maximum(larger, np.abs(result)))
            else:
                result = snap(result)
        if operator == "^":
            integral = False
        return Column(NUMBER, np.broadcast_to(result, (length,)), result_null, integral)

    return run


def _comparison(node: ast.Binary) -> VectorFn:
    left, right = compile_vector(node.left), compile_vector(node.right)
    operator = node.operator
    ufunc = {"<": np.less, ">": np.greater, "<=": np.less_equal, ">=": np.greater_equal}[operator]

    def run(batch: Batch) -> Column:
        a, b = left(batch), right(batch)
        length = batch.frame.length
        if a.kind == NUMBER and b.kind == NUMBER:
            null = _any_null(a, b, length)
            if null is not None:
                batch.fail(null)
            return Column(BOOL, np.broadcast_to(ufunc(a.data, b.data), (length,)))
        if a.kind in (NUMBER, TEXT, BOOL, NULL) and b.kind in (NUMBER, TEXT, BOOL, NULL):
            batch.fail(np.ones(length, dtype=bool))
            return Column(BOOL, np.zeros(length, dtype=bool))
        raise Unsupported(f"{operator} on {a.kind} and {b.kind}")

    return run


def _equality(node: ast.Binary) -> VectorFn:
    left, right = compile_vector(node.left), compile_vector(node.right)
    negate = node.operator == "!="

    def run(batch: Batch) -> Column:
        a, b = left(batch), right(batch)
        length = batch.frame.length
        null_a, null_b = _nulls(a, length), _nulls(b, length)
        if a.kind == NULL or b.kind == NULL:
            equal = null_a & null_b
        elif a.kind != b.kind or a.kind == OBJECT:
            if OBJECT in (a.kind, b.kind):
                raise Unsupported("== on mixed values")
            equal = null_a & null_b
        else:
            same = np.broadcast_to(np.asarray(a.data == b.data, dtype=bool), (length,))
            equal = (same & ~null_a & ~null_b) | (null_a & null_b)
        return Column(BOOL, ~equal if negate else equal)

    return run


def _logical(node: ast.Binary) -> VectorFn:
    left, right = compile_vector(node.left), compile_vector(node.right)
    is_and = node.operator == "and"

    def run(batch: Batch) -> Column:
        length = batch.frame.length
        a = left(batch)
        a_bool = _require_bool(a, batch, length)
        # Short-circuit: the right side only runs (and only fails) where it is reached.
        reached = a_bool if is_and else ~a_bool
        b = right(batch.restricted(reached))
        if b.kind != BOOL:
            # ZEN returns a non-boolean right operand as it is (true and 5 == 5).
            raise Unsupported(f"'{node.operator}' with a {b.kind} right side")
        b_bool = _require_bool(b, batch.restricted(reached), length)
        result = (a_bool & b_bool) if is_and else (a_bool | b_bool)
        return Column(BOOL, result)

    return run


def _require_bool(column: Column, batch: Batch, length: int) -> np.ndarray:
    if column.kind == BOOL:
        if column.null is not None:
            batch.fail(column.null)
        return np.broadcast_to(np.asarray(column.data, dtype=bool), (length,))
    if column.kind == OBJECT:
        raise Unsupported("logic on mixed values")
    batch.fail(np.ones(length, dtype=bool))
    return np.zeros(length, dtype=bool)


def _coalesce(node: ast.Binary) -> VectorFn:
    left, right = compile_vector(node.left), compile_vector(node.right)

    def run(batch: Batch) -> Column:
        length = batch.frame.length
        a = left(batch)
        if a.kind != NULL and a.null is None:
            return a
        missing = _nulls(a, length)
        b = right(batch.restricted(missing))
        return _choose(missing, b, a, length)

    return run


def _choose(condition: np.ndarray, when_true: Column, when_false: Column, length: int) -> Column:
    """Row-wise pick between two columns of the same kind (null mixes with anything)."""
    kinds = {when_true.kind, when_false.kind} - {NULL}
    if len(kinds) > 1 or OBJECT in kinds:
        raise Unsupported("branches of different kinds")
    kind = kinds.pop() if kinds else NULL
    if kind == NULL:
        return Column(NULL, None, np.ones(length, dtype=bool))
    filler: Any = {NUMBER: 0.0, BOOL: False, TEXT: None}[kind]
    true_data = when_true.data if when_true.kind != NULL else filler
    false_data = when_false.data if when_false.kind != NULL else filler
    data: np.ndarray = np.asarray(np.where(condition, true_data, false_data))
    if kind == TEXT:
        data = data.astype(object)
    null = np.where(condition, _nulls(when_true, length), _nulls(when_false, length))
    return Column(kind, np.broadcast_to(data, (length,)), null if null.any() else None,
                  when_true.integral and when_false.integral)


def _conditional(node: ast.Conditional) -> VectorFn:
    condition = compile_vector(node.condition)
    when_true, when_false = compile_vector(node.when_true), compile_vector(node.when_false)

    def run(batch: Batch) -> Column:
        length = batch.frame.length
        chosen = _require_bool(condition(batch), batch, length)
        true_column = when_true(batch.restricted(chosen))
        false_column = when_false(batch.restricted(~chosen))
        return _choose(chosen, true_column, false_column, length)

    return run


def _membership(node: ast.Binary) -> VectorFn:
    left = compile_vector(node.left)
    negate = node.operator == "not in"
    right_node = node.right
    if isinstance(right_node, ast.Interval):
        low, high = compile_vector(right_node.low), compile_vector(right_node.high)
        low_closed, high_closed = right_node.low_closed, right_node.high_closed

        def in_interval(batch: Batch) -> Column:
            length = batch.frame.length
            value, low_column, high_column = left(batch), low(batch), high(batch)
            if value.kind != NUMBER or low_column.kind != NUMBER or high_column.kind != NUMBER:
                if value.kind == OBJECT:
                    raise Unsupported("in on mixed values")
                batch.fail(np.ones(length, dtype=bool))
                return Column(BOOL, np.zeros(length, dtype=bool))
            if value.null is not None:
                batch.fail(value.null)
            data = value.data
            above = data >= low_column.data if low_closed else data > low_column.data
            below = data <= high_column.data if high_closed else data < high_column.data
            inside = np.broadcast_to(above & below, (length,))
            return Column(BOOL, ~inside if negate else inside)

        return in_interval
    if isinstance(right_node, ast.ArrayLiteral) and all(
        isinstance(item, ast.Literal) for item in right_node.items
    ):
        constants = [item.value for item in right_node.items]  # type: ignore[attr-defined]
        numbers = np.array([c for c in constants if type(c) in (int, float)], dtype=np.float64)
        texts = frozenset(c for c in constants if type(c) is str)
        booleans = {c for c in constants if type(c) is bool}
        has_null = any(c is None for c in constants)

        def in_list(batch: Batch) -> Column:
            length = batch.frame.length
            value = left(batch)
            null = _nulls(value, length)
            if value.kind == NUMBER:
                found = np.isin(value.data, numbers) & ~null
            elif value.kind == TEXT:
                found = np.fromiter((item in texts for item in value.data), dtype=bool,
                                    count=length) & ~null
            elif value.kind == BOOL:
                found = np.isin(value.data, list(booleans)) & ~null
            elif value.kind == NULL:
                found = np.zeros(length, dtype=bool)
            else:
                raise Unsupported("in on mixed values")
            if has_null:
                found = found | null
            return Column(BOOL, ~found if negate else found)

        return in_list
    raise Unsupported("in with a computed right side")


def _unary(node: ast.Unary) -> VectorFn:
    operand = compile_vector(node.operand)
    operator = node.operator
    if operator == "+":
        return operand

    def run(batch: Batch) -> Column:
        length = batch.frame.length
        value = operand(batch)
        if operator == "-":
            if value.kind == NUMBER:
                if value.null is not None:
                    batch.fail(value.null)
                return Column(NUMBER, -value.data, None, value.integral)
            if value.kind == OBJECT:
                raise Unsupported("negation of mixed values")
            batch.fail(np.ones(length, dtype=bool))
            return Column(NUMBER, np.zeros(length))
        return Column(BOOL, ~_require_bool(value, batch, length))

    return run


def _binary(node: ast.Binary) -> VectorFn:
    operator = node.operator
    if operator in ("and", "or"):
        return _logical(node)
    if operator == "??":
        return _coalesce(node)
    if operator in ("==", "!="):
        return _equality(node)
    if operator in ("<", ">", "<=", ">="):
        return _comparison(node)
    if operator in ("in", "not in"):
        return _membership(node)
    return _arithmetic(node)


_NUMERIC_FUNCTIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "abs": np.abs, "floor": np.floor, "ceil": np.ceil, "trunc": np.trunc,
}


def _call(node: ast.Call) -> VectorFn:
    name = node.name
    if name == "bool" and len(node.arguments) == 1:
        inner = compile_vector(node.arguments[0])

        def as_bool(batch: Batch) -> Column:
            column = inner(batch)
            if column.kind != BOOL:
                raise Unsupported("bool() of a non-boolean")
            return column

        return as_bool
    if name == "round" and len(node.arguments) in (1, 2):
        value_fn = compile_vector(node.arguments[0])
        places_node = node.arguments[1] if len(node.arguments) == 2 else None
        if places_node is not None and not (
            isinstance(places_node, ast.Literal) and type(places_node.value) is int
        ):
            raise Unsupported("round() with computed places")
        places = places_node.value if isinstance(places_node, ast.Literal) else 0

        def round_(batch: Batch) -> Column:
            column = _number_argument(value_fn(batch), batch)
            scale = 10.0 ** places
            # Half away from zero, as decimal rounding in ZEN (NumPy rounds half to even).
            scaled = snap(column.data * scale)
            rounded = np.sign(scaled) * np.floor(np.abs(scaled) + 0.5) / scale
            return Column(NUMBER, rounded, column.null, places == 0)

        return round_
    if name in _ARRAY_REDUCERS and len(node.arguments) == 1 and isinstance(
            node.arguments[0], ast.ArrayLiteral) and node.arguments[0].items:
        return _reduce_array(name, node.arguments[0])
    function = _NUMERIC_FUNCTIONS.get(name)
    if function is None or len(node.arguments) != 1:
        raise Unsupported(f"{name}()")
    argument = compile_vector(node.arguments[0])

    def call(batch: Batch) -> Column:
        column = _number_argument(argument(batch), batch)
        return Column(NUMBER, function(column.data), column.null,
                      name != "abs" or column.integral)

    return call


_ARRAY_REDUCERS = ("min", "max", "sum", "avg")


def _reduce_array(name: str, array: ast.ArrayLiteral) -> VectorFn:
    """``max([a, b, 0])``: element-wise over the listed columns."""
    items = [compile_vector(item) for item in array.items]
    count = len(items)

    def reduce(batch: Batch) -> Column:
        columns = [_number_argument(item(batch), batch) for item in items]
        stacked = np.stack([column.data for column in columns])
        integral = all(column.integral for column in columns)
        if name == "min":
            return Column(NUMBER, stacked.min(axis=0), None, integral)
        if name == "max":
            return Column(NUMBER, stacked.max(axis=0), None, integral)
        total = stacked.sum(axis=0)
        if name == "sum":
            return Column(NUMBER, total if integral else snap(total), None, integral)
        return Column(NUMBER, snap(total / count), None, False)

    return reduce


def _number_argument(column: Column, batch: Batch) -> Column:
    length = batch.frame.length
    if column.kind != NUMBER:
        if column.kind == OBJECT:
            raise Unsupported("numeric function of mixed values")
        batch.fail(np.ones(length, dtype=bool))
        return Column(NUMBER, np.zeros(length))
    if column.null is not None:
        batch.fail(column.null)
    return Column(NUMBER, np.broadcast_to(column.data, (length,)), column.null, column.integral)


def _interval_value(node: ast.Interval) -> VectorFn:
    raise Unsupported("interval value outside 'in'")


_COMPILERS: dict[type, Callable[[Any], VectorFn]] = {
    ast.Literal: _literal,
    ast.Identifier: _dollar,
    ast.Member: _field,
    ast.Binary: _binary,
    ast.Unary: _unary,
    ast.Conditional: _conditional,
    ast.Call: _call,
    ast.Interval: _interval_value,
}

__all__ = ["Batch", "Column", "Frame", "IntervalValue", "Unsupported", "column_from_values",
           "compile_vector", "snap"]
