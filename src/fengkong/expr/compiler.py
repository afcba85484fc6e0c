"""Compile ZEN syntax trees to Python closures.

Each node becomes a closure ``fn(scope, dollar, pointer)``: ``scope`` is the evaluation
context (a dict), ``dollar`` the value of ``$`` (the column value in a unary test) and
``pointer`` the element ``#`` inside a closure body. Nothing is ``eval``-ed: user text only
ever selects among the closures below, and values are only ever looked up in dicts and
lists, so an expression cannot reach Python attributes or callables.

The closures keep fast paths for what credit rules mostly do — compare a number field with a
constant, test membership in a list of strings, read a dotted path — and send every other
case to a general routine that applies ZEN's typing rules and raises
:class:`~fengkong.errors.ExpressionEvaluationError` with the position of the operator.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from operator import ge, gt, le, lt
from typing import Any

from fengkong.errors import ExpressionEvaluationError
from fengkong.expr import ast, numbers
from fengkong.expr.values import to_json, type_name

Closure = Callable[[Any, Any, Any], Any]


class IntervalValue:
    """The value of an interval literal such as ``[1..10]`` (used with ``in``)."""

    __slots__ = ("high", "high_closed", "low", "low_closed")
    zen_type = "interval"

    def __init__(self, low: Any, high: Any, low_closed: bool, high_closed: bool) -> None:
        self.low, self.high = low, high
        self.low_closed, self.high_closed = low_closed, high_closed

    def contains(self, value: Any) -> bool:
        low_ok = value >= self.low if self.low_closed else value > self.low
        if not low_ok:
            return False
        return value <= self.high if self.high_closed else value < self.high

    def to_json(self) -> str:
        # Zen prints an interval as it was written, e.g. "[1..5]".
        left = "[" if self.low_closed else "("
        right = "]" if self.high_closed else ")"
        return f"{left}{_text(self.low)}..{_text(self.high)}{right}"


def _text(value: Any) -> str:
    converted = to_json(value)
    return str(converted) if not isinstance(converted, bool) else str(converted).lower()


def _fail(message: str, node: ast.Node) -> ExpressionEvaluationError:
    """An evaluation error at the node's operator (or its start when it has none)."""
    position = node.at if isinstance(node, ast.Binary) and node.at >= 0 else node.start
    return ExpressionEvaluationError(message, position=position)


def _is_num(value: Any) -> bool:
    kind = type(value)
    return kind is int or kind is float


# -- operator semantics (the slow, fully checked paths) ---------------------------------------

def equals(a: Any, b: Any) -> bool:
    """ZEN ``==``: same-type primitives by value; numbers across int/float; dates by instant.
    Arrays and objects never compare equal (zen-engine 2.1 behaviour)."""
    kind_a, kind_b = type(a), type(b)
    if (kind_a is int or kind_a is float) and (kind_b is int or kind_b is float):
        return a == b
    if _is_date(a) or _is_date(b):
        return bool(a == b)  # a date equals a date, or a string naming the same instant
    if kind_a is not kind_b or kind_a is list or kind_a is dict:
        return False
    return bool(a == b)


def _is_date(value: Any) -> bool:
    return getattr(value, "zen_type", None) == "date"


def _is_text(value: Any) -> bool:
    """A string, or a valid date (which stands for its ISO text where text is expected)."""
    return type(value) is str or (_is_date(value) and value.is_valid)


def _order(a: Any, b: Any, operator: str, node: ast.Node) -> bool:
    # Dates order against dates and against strings naming an instant; the date's own
    # comparison raises for anything else.
    if (_is_num(a) and _is_num(b)) or _is_date(a) or _is_date(b):
        try:
            if operator == "<":
                return bool(a < b)
            if operator == ">":
                return bool(a > b)
            if operator == "<=":
                return bool(a <= b)
            return bool(a >= b)
        except (ExpressionEvaluationError, TypeError):
            pass
    raise _fail(f"cannot compare {type_name(a)} {operator} {type_name(b)}", node)


def membership(item: Any, container: Any, node: ast.Node) -> bool:
    kind = type(container)
    if kind is list:
        if type(item) in (list, dict):
            raise _fail(f"'in' cannot look for an {type_name(item)} in an array", node)
        return any(equals(item, element) for element in container)
    if kind is IntervalValue:
        if (_is_num(item) and _is_num(container.low)) or (
            _is_date(item) and _is_date(container.low)
        ):
            return container.contains(item)
        if (_is_num(item) and _is_date(container.low)) or (
            _is_date(item) and _is_num(container.low)
        ):
            return False  # as zen-engine: a number and a date are never inside each other's
        raise _fail(f"'in' needs a {type_name(container.low)} to test an interval, got "
                    f"{type_name(item)}", node)
    if kind is dict:
        if type(item) is str:
            return item in container
        if _is_date(item):  # as zen-engine: a date looks for its ISO text as the key
            return to_json(item) in container
        raise _fail(f"'in' on an object needs a string key, got {type_name(item)}", node)
    raise _fail(f"'in' needs an array, interval or object on the right, got "
                f"{type_name(container)}", node)


def _arithmetic(operator: str, a: Any, b: Any, node: ast.Node) -> Any:
    if _is_num(a) and _is_num(b):
        if operator == "+":
            return numbers.add(a, b)
        if operator == "-":
            return numbers.subtract(a, b)
        if operator == "*":
            return numbers.multiply(a, b)
        if operator == "/":
            return numbers.divide(a, b)
        if operator == "%":
            return numbers.modulo(a, b)
        try:
            return numbers.power(a, b)
        except OverflowError:
            raise _fail(f"number overflow: {_text(a)} ^ {_text(b)}", node) from None
    if operator == "+" and _is_text(a) and _is_text(b):
        return _text(a) + _text(b)  # a valid date joins text as its ISO form, as in Zen
    raise _fail(f"cannot apply {operator!r} to {type_name(a)} and {type_name(b)}", node)


def member(target: Any, key: Any, node: ast.Node) -> Any:
    """``target.key`` / ``target[key]``: null when absent, as ZEN does."""
    kind = type(target)
    if kind is dict:
        return target.get(key) if type(key) is str else None
    if _is_date(target) and target.is_valid and _is_num(key):
        target, kind = _text(target), str  # a date indexes as its ISO text, as in Zen
    if kind is list or kind is str:
        if not _is_num(key):
            return None
        index = int(key)
        if index < 0:
            raise _fail(f"index {key} is negative", node)
        return target[index] if index < len(target) else None
    return None


# A slice bound that was not written (``x[:2]``), as opposed to one that evaluated to null.
_OPEN = object()


def _slice(target: Any, low: Any, high: Any, node: ast.Node) -> Any:
    """``x[a:b]``: both ends included, as in ZEN. An end past the last element, or a start
    more than one past the end, is an error; a start just past the end gives an empty slice."""
    if _is_date(target) and target.is_valid:
        target = _text(target)  # a date slices as its ISO text, as in Zen
    if type(target) not in (list, str):
        raise _fail(f"cannot slice {type_name(target)}", node)
    if (low is not _OPEN and not _is_num(low)) or (high is not _OPEN and not _is_num(high)):
        raise _fail("slice bounds must be numbers", node)
    length = len(target)
    start = 0 if low is _OPEN else int(low)
    stop = length - 1 if high is _OPEN else int(high)
    if length == 0 or start < 0 or stop < 0 or stop >= length or start > stop + 1:
        raise _fail(f"slice [{start}:{stop}] is out of range for length {length}", node)
    return target[start:stop + 1]


def _boolean(value: Any, what: str, node: ast.Node) -> bool:
    if value is True or value is False:
        return value
    raise _fail(f"{what} expects a bool, got {type_name(value)}", node)


# -- the compiler ------------------------------------------------------------------------------

def compile_node(node: ast.Node) -> Closure:
    """Compile a syntax tree to a closure ``fn(scope, dollar, pointer)``."""
    compiler = _COMPILERS.get(type(node))
    if compiler is None:  # pragma: no cover - every node type has a compiler
        raise TypeError(f"no compiler for {type(node).__name__}")
    return compiler(node)


def _literal(node: ast.Literal) -> Closure:
    value = node.value
    return lambda s, d, p: value


def _identifier(node: ast.Identifier) -> Closure:
    name = node.name
    if name == "$":
        return lambda s, d, p: d
    return lambda s, d, p: s.get(name) if type(s) is dict else None


# Key under which a closure's alias scope keeps the context it was made from. Not a string,
# so no expression can name it; ``$root`` reads through it, never seeing alias bindings.
_ROOT = object()


def _root(node: ast.Root) -> Closure:
    return lambda s, d, p: s.get(_ROOT, s) if type(s) is dict else s


def _pointer(node: ast.Pointer) -> Closure:
    return lambda s, d, p: p


def _member(node: ast.Member) -> Closure:
    path = ast.dotted_path(node)
    if path is not None:
        return _path_getter(path, node)
    target = compile_node(node.target)
    key_node = node.key
    if isinstance(key_node, ast.Literal) and type(key_node.value) is str:
        key = key_node.value

        def get_literal(s: Any, d: Any, p: Any) -> Any:
            value = target(s, d, p)
            if type(value) is dict:
                return value.get(key)
            return member(value, key, node)

        return get_literal
    key_fn = compile_node(key_node)
    return lambda s, d, p: member(target(s, d, p), key_fn(s, d, p), node)


def _path_getter(path: tuple[str, ...], node: ast.Node) -> Closure:
    if len(path) == 2:
        first, second = path

        def get2(s: Any, d: Any, p: Any) -> Any:
            value = s.get(first) if type(s) is dict else None
            if type(value) is dict:
                return value.get(second)
            return member(value, second, node)

        return get2

    def get_path(s: Any, d: Any, p: Any) -> Any:
        value = s
        for key in path:
            value = value.get(key) if type(value) is dict else member(value, key, node)
        return value

    return get_path


def _slice_node(node: ast.Slice) -> Closure:
    target = compile_node(node.target)
    low = compile_node(node.low) if node.low is not None else None
    high = compile_node(node.high) if node.high is not None else None

    def slice_(s: Any, d: Any, p: Any) -> Any:
        return _slice(target(s, d, p), low(s, d, p) if low else _OPEN,
                      high(s, d, p) if high else _OPEN, node)

    return slice_


def _interval(node: ast.Interval) -> Closure:
    low, high = compile_node(node.low), compile_node(node.high)
    low_closed, high_closed = node.low_closed, node.high_closed

    def build(s: Any, d: Any, p: Any) -> IntervalValue:
        start, end = low(s, d, p), high(s, d, p)
        if not ((_is_num(start) and _is_num(end)) or (_is_date(start) and _is_date(end))):
            raise _fail(f"interval bounds must be two numbers or two dates, got "
                        f"{type_name(start)} and {type_name(end)}", node)
        return IntervalValue(start, end, low_closed, high_closed)

    return build


# Iterating an interval builds a list; beyond this many elements it is refused.
MAX_INTERVAL_ITEMS = 10_000_000


def _interval_items(interval: IntervalValue, node: ast.Node) -> list[int]:
    """The integers of a numeric interval, as ZEN iterates it (bounds truncated first)."""
    if not _is_num(interval.low):
        raise _fail("only numeric intervals can be iterated", node)
    first = int(interval.low) + (0 if interval.low_closed else 1)
    last = int(interval.high) - (0 if interval.high_closed else 1)
    if last - first + 1 > MAX_INTERVAL_ITEMS:
        raise _fail(f"interval has more than {MAX_INTERVAL_ITEMS:,} elements to iterate", node)
    return list(range(first, last + 1))


def _array(node: ast.ArrayLiteral) -> Closure:
    items = [compile_node(item) for item in node.items]
    return lambda s, d, p: [item(s, d, p) for item in items]


def _object(node: ast.ObjectLiteral) -> Closure:
    entries = [(compile_node(key), compile_node(value)) for key, value in node.entries]

    def build(s: Any, d: Any, p: Any) -> Any:
        result = {}
        for key_fn, value_fn in entries:
            key = key_fn(s, d, p)
            if type(key) is not str:
                key = _key_text(key, node)
            result[key] = value_fn(s, d, p)
        return result

    return build


def _key_text(key: Any, node: ast.Node) -> str:
    if key is None:
        return "null"
    if _is_num(key) or type(key) is bool:
        return _text(key)
    raise _fail(f"object keys must be strings or numbers, got {type_name(key)}", node)


def _template(node: ast.Template) -> Closure:
    from fengkong.expr.registry import functions

    to_string = functions()["string"].call
    parts = [compile_node(part) for part in node.parts]

    def render(s: Any, d: Any, p: Any) -> str:
        pieces = []
        for part in parts:
            value = part(s, d, p)
            pieces.append(value if type(value) is str else _template_text(to_string, value, node))
        return "".join(pieces)

    return render


def _template_text(to_string: Callable[[Any], str], value: Any, node: ast.Node) -> str:
    try:
        return to_string(value)
    except ExpressionEvaluationError as error:
        error.position = node.start if error.position is None else error.position
        raise


def _unary(node: ast.Unary) -> Closure:
    operand = compile_node(node.operand)
    if node.operator == "+":
        return operand
    if node.operator == "-":
        def negate(s: Any, d: Any, p: Any) -> Any:
            value = operand(s, d, p)
            if _is_num(value):
                return -value
            raise _fail(f"cannot negate {type_name(value)}", node)

        return negate

    def not_(s: Any, d: Any, p: Any) -> bool:
        value = operand(s, d, p)
        if value is True:
            return False
        if value is False:
            return True
        raise _fail(f"'not' expects a bool, got {type_name(value)}", node)

    return not_


def _binary(node: ast.Binary) -> Closure:
    operator = node.operator
    if operator in ("and", "or"):
        return _logical(node)
    if operator == "??":
        left, right = compile_node(node.left), compile_node(node.right)

        def coalesce(s: Any, d: Any, p: Any) -> Any:
            value = left(s, d, p)
            return value if value is not None else right(s, d, p)

        return coalesce
    if operator in ("==", "!="):
        return _equality(node)
    if operator in ("<", ">", "<=", ">="):
        return _comparison(node)
    if operator in ("in", "not in"):
        return _in(node)
    return _arithmetic_node(node)


def _logical(node: ast.Binary) -> Closure:
    """``and``/``or``: the left side must be a bool; when it does not decide (``true and``,
    ``false or``) ZEN returns the right operand as it is, even a non-bool."""
    left, right = compile_node(node.left), compile_node(node.right)
    decisive = node.operator == "or"  # the left value that decides on its own
    operator = node.operator

    def logical(s: Any, d: Any, p: Any) -> Any:
        value = left(s, d, p)
        if value is decisive:
            return decisive
        if value is (not decisive):
            return right(s, d, p)
        raise _fail(f"'{operator}' expects a bool, got {type_name(value)}", node)

    return logical


def _equality(node: ast.Binary) -> Closure:
    left, right = compile_node(node.left), compile_node(node.right)
    negate = node.operator == "!="
    if isinstance(node.right, ast.Literal) and type(node.right.value) is str:
        text = node.right.value
        if negate:
            return lambda s, d, p: left(s, d, p) != text
        return lambda s, d, p: left(s, d, p) == text
    if negate:
        return lambda s, d, p: not equals(left(s, d, p), right(s, d, p))
    return lambda s, d, p: equals(left(s, d, p), right(s, d, p))


_ORDERINGS: dict[str, Callable[[Any, Any], bool]] = {"<": lt, ">": gt, "<=": le, ">=": ge}


def _comparison(node: ast.Binary) -> Closure:
    operator = node.operator
    left, right = compile_node(node.left), compile_node(node.right)
    if isinstance(node.right, ast.Literal) and _is_num(node.right.value):
        # The most common rule shape, ``field >= 600``: one type check, one C comparison.
        limit = node.right.value
        compare = _ORDERINGS[operator]

        def compare_constant(s: Any, d: Any, p: Any) -> bool:
            value = left(s, d, p)
            kind = type(value)
            if kind is int or kind is float:
                return compare(value, limit)
            return _order(value, limit, operator, node)

        return compare_constant

    def compare_values(s: Any, d: Any, p: Any) -> bool:
        return _order(left(s, d, p), right(s, d, p), operator, node)

    return compare_values


def _in(node: ast.Binary) -> Closure:
    left = compile_node(node.left)
    negate = node.operator == "not in"
    right_node = node.right
    test: Callable[[Any, Any, Any], bool]
    constant_strings = _constant_strings(right_node)
    if constant_strings is not None:
        def in_strings(s: Any, d: Any, p: Any) -> bool:
            value = left(s, d, p)
            if type(value) is str:
                return value in constant_strings
            return membership(value, list(constant_strings), node)

        test = in_strings
    elif isinstance(right_node, ast.Interval) and _constant_number_interval(right_node):
        test = _in_constant_interval(left, right_node, node)
    else:
        right = compile_node(right_node)

        def in_general(s: Any, d: Any, p: Any) -> bool:
            return membership(left(s, d, p), right(s, d, p), node)

        test = in_general
    if negate:
        return lambda s, d, p: not test(s, d, p)
    return test


def _constant_strings(node: ast.Node) -> frozenset[str] | None:
    if isinstance(node, ast.ArrayLiteral) and node.items and all(
        isinstance(item, ast.Literal) and type(item.value) is str for item in node.items
    ):
        return frozenset(item.value for item in node.items)  # type: ignore[attr-defined]
    return None


def _constant_number_interval(node: ast.Interval) -> bool:
    return all(isinstance(end, ast.Literal) and _is_num(end.value) for end in (node.low, node.high))


def _in_constant_interval(left: Closure, interval: ast.Interval, node: ast.Node) -> Closure:
    low = interval.low.value  # type: ignore[attr-defined]
    high = interval.high.value  # type: ignore[attr-defined]
    value_of_interval = IntervalValue(low, high, interval.low_closed, interval.high_closed)
    if interval.low_closed and interval.high_closed:
        def in_closed(s: Any, d: Any, p: Any) -> bool:
            value = left(s, d, p)
            kind = type(value)
            if kind is int or kind is float:
                return low <= value <= high
            return membership(value, value_of_interval, node)

        return in_closed

    def in_interval(s: Any, d: Any, p: Any) -> bool:
        value = left(s, d, p)
        if _is_num(value):
            return value_of_interval.contains(value)
        return membership(value, value_of_interval, node)

    return in_interval


def _arithmetic_node(node: ast.Binary) -> Closure:
    operator = node.operator
    left, right = compile_node(node.left), compile_node(node.right)
    if operator in ("+", "-", "*"):
        native = {"+": int.__add__, "-": int.__sub__, "*": int.__mul__}[operator]

        def integer_fast(s: Any, d: Any, p: Any) -> Any:
            a, b = left(s, d, p), right(s, d, p)
            if type(a) is int and type(b) is int:
                return native(a, b)
            return _arithmetic(operator, a, b, node)

        return integer_fast
    return lambda s, d, p: _arithmetic(operator, left(s, d, p), right(s, d, p), node)


def _conditional(node: ast.Conditional) -> Closure:
    condition = compile_node(node.condition)
    when_true, when_false = compile_node(node.when_true), compile_node(node.when_false)

    def choose(s: Any, d: Any, p: Any) -> Any:
        value = condition(s, d, p)
        if value is True:
            return when_true(s, d, p)
        if value is False:
            return when_false(s, d, p)
        raise _fail(f"the condition of '?:' must be a bool, got {type_name(value)}", node)

    return choose


def _call(node: ast.Call) -> Closure:
    from fengkong.expr.registry import functions

    function = functions()[node.name].call
    arguments = [compile_node(argument) for argument in node.arguments]

    def locate(error: ExpressionEvaluationError) -> ExpressionEvaluationError:
        if error.position is None:
            error.position = node.start
        return error

    if len(arguments) == 1:
        (only,) = arguments

        def call1(s: Any, d: Any, p: Any) -> Any:
            try:
                return function(only(s, d, p))
            except ExpressionEvaluationError as error:
                raise locate(error) from None

        return call1

    def call(s: Any, d: Any, p: Any) -> Any:
        try:
            return function(*[argument(s, d, p) for argument in arguments])
        except ExpressionEvaluationError as error:
            raise locate(error) from None

    return call


def _method_call(node: ast.MethodCall) -> Closure:
    from fengkong.expr.dates import call_method

    target = compile_node(node.target)
    arguments = [compile_node(argument) for argument in node.arguments]
    name = node.name

    def call(s: Any, d: Any, p: Any) -> Any:
        value = target(s, d, p)
        if getattr(value, "zen_type", None) != "date":
            raise _fail(f".{name}() is a date method, got {type_name(value)}", node)
        try:
            return call_method(value, name, [argument(s, d, p) for argument in arguments])
        except ExpressionEvaluationError as error:
            if error.position is None:
                error.position = node.start
            raise

    return call


def _closure_call(node: ast.ClosureCall) -> Closure:
    items_fn = compile_node(node.items)
    body = compile_node(node.body)
    name, alias = node.name, node.alias

    def each(s: Any, d: Any, p: Any) -> Iterator[tuple[Any, Any]]:
        """(element, body value) for each element, lazily (some/all stop early)."""
        items = items_fn(s, d, p)
        if type(items) is IntervalValue:
            items = _interval_items(items, node)
        elif type(items) is not list:
            raise _fail(f"{name}() expects an array, got {type_name(items)}", node)
        if alias is None:
            for item in items:
                yield item, body(s, d, item)
            return
        # ``items as x``: x names the element in the body, also inside nested closures.
        scope = dict(s) if type(s) is dict else {}
        scope.setdefault(_ROOT, s)
        for item in items:
            scope[alias] = item
            yield item, body(scope, d, item)

    def holds(value: Any) -> bool:
        return _boolean(value, f"the condition of {name}()", node)

    if name == "map":
        return lambda s, d, p: [value for _, value in each(s, d, p)]
    if name == "filter":
        return lambda s, d, p: [item for item, value in each(s, d, p) if holds(value)]
    if name == "some":
        return lambda s, d, p: any(holds(value) for _, value in each(s, d, p))
    if name == "all":
        return lambda s, d, p: all(holds(value) for _, value in each(s, d, p))
    if name == "none":
        return lambda s, d, p: not any(holds(value) for _, value in each(s, d, p))
    if name == "count":
        return lambda s, d, p: sum(1 for _, value in each(s, d, p) if holds(value))
    if name == "one":
        return lambda s, d, p: sum(1 for _, value in each(s, d, p) if holds(value)) == 1

    def flat_map(s: Any, d: Any, p: Any) -> list[Any]:
        result: list[Any] = []
        for _, value in each(s, d, p):
            if type(value) is list:
                result.extend(value)
            else:
                result.append(value)
        return result

    return flat_map


def _assignments(node: ast.Assignments) -> Closure:
    steps = [(tuple(path.split(".")), compile_node(value), _mentions_root(value))
             for path, value in node.assignments]
    output = compile_node(node.output) if node.output is not None else None

    def assign(s: Any, d: Any, p: Any) -> Any:
        local = dict(s) if type(s) is dict else {}
        assigned: dict[str, Any] = {}
        for keys, value_fn, reads_root in steps:
            # ``$root`` is the scope as it stands: a snapshot, never the dict being filled.
            value = value_fn(dict(local) if reads_root else local, d, p)
            _set_path(assigned, keys, value)
            _set_path(local, keys, value)
        return output(local, d, p) if output is not None else assigned

    return assign


def _mentions_root(node: ast.Node) -> bool:
    if isinstance(node, ast.Root):
        return True
    children = [getattr(node, slot) for slot in getattr(node, "__slots__", ())]
    for child in children:
        if isinstance(child, ast.Node) and _mentions_root(child):
            return True
        if isinstance(child, list):
            for item in child:
                pair = item if isinstance(item, tuple) else (item,)
                if any(isinstance(part, ast.Node) and _mentions_root(part) for part in pair):
                    return True
    return False


def _set_path(target: dict[str, Any], keys: tuple[str, ...], value: Any) -> None:
    """Set ``a.b.c`` without mutating the caller's nested dicts (copied on the way down)."""
    for key in keys[:-1]:
        child = target.get(key)
        child = dict(child) if type(child) is dict else {}
        target[key] = child
        target = child
    target[keys[-1]] = value


_COMPILERS: dict[type, Callable[[Any], Closure]] = {
    ast.Literal: _literal,
    ast.Identifier: _identifier,
    ast.Root: _root,
    ast.Pointer: _pointer,
    ast.Member: _member,
    ast.Slice: _slice_node,
    ast.Interval: _interval,
    ast.ArrayLiteral: _array,
    ast.ObjectLiteral: _object,
    ast.Template: _template,
    ast.Unary: _unary,
    ast.Binary: _binary,
    ast.Conditional: _conditional,
    ast.Call: _call,
    ast.MethodCall: _method_call,
    ast.ClosureCall: _closure_call,
    ast.Assignments: _assignments,
}
