"""Hypothesis strategies that generate ZEN expressions, unary tests and their contexts.

The generator is grammar-based and type-directed: :class:`ExpressionGenerator` is asked for an
expression of a kind (number, string, bool, array, object, null, date or any) and picks a
production of the ZEN grammar that yields that kind — a literal, a path into the generated
context, an operator, a closure, a function call... With a small probability it asks for a
*different* kind than the one the production needs, so that ill-typed expressions (``1 + 'a'``,
``not 5``) are generated too, and with a small probability the final text is mutated
(a character dropped, an operator inserted) to exercise the parsers' error paths.

Contexts are generated first; the paths the generator may read are taken from the actual
context values, so ``user.age`` is offered as a number only when it is one.

Built-in function calls and template strings are generated only when ``fengkong.expr.builtins``
exists, date functions only when ``fengkong.expr.dates`` exists (they are being written in
parallel; until they land every call fails with ImportError).
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

HAVE_BUILTINS = importlib.util.find_spec("fengkong.expr.builtins") is not None
HAVE_DATES = importlib.util.find_spec("fengkong.expr.dates") is not None
# registry.functions() imports both modules: no function works until both exist.
FUNCTIONS = HAVE_BUILTINS and HAVE_DATES
DATES = FUNCTIONS

NUM, STR, BOOL, ARR, OBJ, NULL, DATE, ANY = (
    "number", "string", "bool", "array", "object", "null", "date", "any")
VALUE_KINDS = (NUM, STR, BOOL, ARR, OBJ, NULL)

# Closures over intervals (map([0..3], #)) and 'as' aliases of outer closures inside nested
# closures are generated (both were bugs, see test_known_cases.py).
INTERVAL_CLOSURES = True
NESTED_ALIASES = True
# Object literals with a repeated key keep the last value, zen the first: an intentional
# difference (docs/zen-compatibility.md, "Object literal order"), so keys are not repeated.
DUPLICATE_KEYS = False
# Date values are also generated where a string is expected (trim(d(...)), d(...) + 'x'):
# zen uses the ISO text.
DATES_AS_STRINGS = True

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RESERVED = {"and", "or", "not", "in", "true", "false", "null"}

# -- JSON values for contexts -------------------------------------------------------------

STRING_POOL = [
    "", "a", "b", "abc", "Hello", "hello world", "A-1", "x,y,z", " pad ", "123", "1.5", "-7",
    "true", "null", "张伟", "北京市", "风控", "ÄÖü", "O'Brien", 'say "hi"', "2024-01-15",
    " 12 ", "ABC", "TRUE", "1e3", "0x1A", "😀", "张伟😀", "a\tb", "2024-02-30", "１２",
]
NUMBER_POOL = [0, 1, -1, 2, 3, 5, 7, 10, 18, 42, 100, 1000, 0.1, 0.2, 0.3, 0.5, 1.5, 2.75,
               -0.25, 3.14159, 99.99, 1234.5, 1e-7, 123456789, 0.001, -42.5, -0.0,
               2**53, 2**53 + 1, -(2**62), 1e15 + 0.3, 0.1234567890123, 123456.789012,
               1e-10, 1e20, 4.35e-2, 0.30000000000000004]

json_numbers = st.one_of(
    st.sampled_from(NUMBER_POOL),
    st.integers(min_value=-1_000_000, max_value=1_000_000),
    st.decimals(min_value=-100_000, max_value=100_000, places=3, allow_nan=False)
    .map(lambda d: float(d)),
)
json_strings = st.one_of(
    st.sampled_from(STRING_POOL),
    st.text(alphabet="abcXYZ019 _-,.张伟", max_size=6),
)
json_scalars = st.one_of(json_numbers, json_strings, st.booleans(), st.none())
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(["a", "b", "k", "name", "v", "名"]), children, max_size=3),
    ),
    max_leaves=8,
)


def kind_of(value: Any) -> str:
    if value is None:
        return NULL
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, (int, float)):
        return NUM
    if isinstance(value, str):
        return STR
    if isinstance(value, list):
        return ARR
    return OBJ


@st.composite
def contexts(draw: st.DrawFn) -> dict[str, Any]:
    """A context shaped like a credit application, with random values and random breakage."""
    loan = st.fixed_dictionaries(
        {"amount": json_numbers, "status": st.sampled_from(["open", "closed", "逾期"]),
         "overdue": st.booleans()},
        optional={"rate": json_numbers, "note": st.none()},
    )
    context: dict[str, Any] = {
        "n": draw(st.integers(min_value=-100, max_value=1000)),
        "x": draw(json_numbers),
        "s": draw(json_strings),
        "flag": draw(st.booleans()),
        "nil": None,
        "nums": draw(st.lists(json_numbers, max_size=5)),
        "strs": draw(st.lists(json_strings, max_size=4)),
        "user": {
            "name": draw(json_strings),
            "age": draw(st.integers(min_value=0, max_value=120)),
            "income": draw(json_numbers),
            "tags": draw(st.lists(st.sampled_from(["vip", "new", "risk", "学生"]), max_size=3)),
            "address": {"city": draw(st.sampled_from(["上海", "Beijing", ""])), "zip": "200000"},
        },
        "loans": draw(st.lists(loan, max_size=4)),
    }
    # Ill-typed and missing fields: replace or delete a few entries.
    for key in draw(st.lists(st.sampled_from(sorted(context)), max_size=2, unique=True)):
        if draw(st.booleans()):
            del context[key]
        else:
            context[key] = draw(json_values)
    if draw(st.integers(0, 9)) == 0:
        context["extra"] = draw(json_values)
    return context


# -- paths into the context ---------------------------------------------------------------------

@dataclass
class Pointer:
    """The element of an enclosing closure: ``#`` (innermost only) or an ``as`` alias."""

    text: str
    kind: str
    fields: dict[str, str] = field(default_factory=dict)


@dataclass
class Scope:
    paths: dict[str, list[str]] = field(default_factory=dict)  # kind -> path texts
    # arrays whose elements share one kind: (path, element kind, element fields)
    arrays: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)

    def add(self, kind: str, text: str) -> None:
        self.paths.setdefault(kind, []).append(text)


def _key_access(key: str, draw: st.DrawFn) -> str:
    if _IDENTIFIER.match(key) and key not in _RESERVED and draw(st.integers(0, 4)):
        return f".{key}"
    quote = "'" if "'" not in key else '"'
    return f"[{quote}{key}{quote}]"


def _element_kind(items: list[Any]) -> tuple[str, dict[str, str]] | None:
    kinds = {kind_of(item) for item in items}
    if len(kinds) != 1:
        return None
    kind = kinds.pop()
    if kind != OBJ:
        return kind, {}
    fields: dict[str, str] = {}
    for item in items:
        for key, value in item.items():
            named = _IDENTIFIER.match(key) and key not in _RESERVED
            if named and fields.setdefault(key, kind_of(value)) != kind_of(value):
                fields[key] = ANY
    return OBJ, fields


def scope_of(context: dict[str, Any], draw: st.DrawFn) -> Scope:
    scope = Scope()

    def walk(value: Any, text: str, depth: int) -> None:
        scope.add(kind_of(value), text)
        scope.add(ANY, text)
        if depth > 3:
            return
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, text + _key_access(key, draw), depth + 1)
        elif isinstance(value, list):
            element = _element_kind(value)
            if element is not None:
                scope.arrays.append((text, *element))
            for index, item in enumerate(value[:3]):
                walk(item, f"{text}[{index}]", depth + 1)

    for key, value in context.items():
        if key == "$":
            walk(value, "$", 0)
        elif _IDENTIFIER.match(key) and key not in _RESERVED:
            walk(value, key, 0)
    scope.add(NULL, "missing")
    scope.add(NULL, "user.nothing")
    scope.add(OBJ, "$root")
    for key, value in list(context.items())[:3]:
        if _IDENTIFIER.match(key) and key not in _RESERVED:
            scope.add(kind_of(value), f"$root.{key}")
    return scope


# -- literals ---------------------------------------------------------------------------------

NUMBER_TEXTS = ["0", "1", "2", "3", "5", "10", "100", "0.1", "0.2", "0.3", "0.5", "1.5", "2.5",
                "3.14", "1e3", "2.5e2", "1.5e-2", "1_000", "10_000.5", "99.99", "0.001",
                "1000000", "7", "18", "60", "007", "5.", "1__0", "0.000", "1e+3", "2.50",
                "1.0", "9007199254740993", "0.1234567890123456789"]


def string_literal(text: str) -> str:
    quote = "'" if "'" not in text else '"'
    if quote in text:  # ZEN has no escapes: drop what cannot be written
        text = text.replace('"', "")
    return f"{quote}{text}{quote}"


# -- the expression generator ------------------------------------------------------------------

class ExpressionGenerator:
    """Draws ZEN expression text of a requested kind (see the module docstring)."""

    def __init__(self, draw: st.DrawFn, scope: Scope, *, ill_typed: float = 0.06) -> None:
        self.draw = draw
        self.scope = scope
        self.ill_typed = ill_typed
        self.pointers: list[Pointer] = []
        self.aliases = iter(["p", "q", "r", "t"])

    # helpers
    def pick(self, options: list[Any] | tuple[Any, ...]) -> Any:
        return self.draw(st.sampled_from(options))

    def chance(self, numerator: int, denominator: int) -> bool:
        """True with probability numerator/denominator (shrinks towards False)."""
        options = [False] * (denominator - numerator) + [True] * numerator
        return self.draw(st.sampled_from(options))

    def number_text(self) -> str:
        if self.chance(1, 3):
            return str(self.draw(st.integers(0, 10_000)))
        return self.pick(NUMBER_TEXTS)

    def string_text(self) -> str:
        return string_literal(self.draw(json_strings))

    # entry point
    def expr(self, kind: str, depth: int, *, top: bool = False) -> str:
        if kind != ANY and self.chance(round(self.ill_typed * 100), 100):
            kind = self.pick([k for k in (*VALUE_KINDS, ANY) if k != kind])
        if kind == ANY:
            kind = self.pick([NUM, BOOL, STR, NUM, BOOL, ARR, OBJ, NULL, DATE if DATES else NUM])
        if depth <= 0 or (not top and self.chance(1, 5)):
            return self.leaf(kind)
        productions = self.productions(kind)
        return self.pick(productions)(depth - 1)

    def sub(self, kind: str, depth: int) -> str:
        """A sub-expression, parenthesised unless it is trivially atomic (or by chance not)."""
        text = self.expr(kind, depth)
        if _atomic(text) or self.chance(1, 3):
            return text
        return f"({text})"

    # leaves
    def leaf(self, kind: str) -> str:
        options: list[Callable[[], str]] = [lambda: self.literal(kind)]
        paths = self.scope.paths.get(kind, [])
        if paths:
            options += [lambda: self.pick(paths)] * 2
        pointers = self.pointer_options(kind)
        if pointers:
            options += [lambda: self.pick(pointers)] * 3
        return self.pick(options)()

    def pointer_options(self, kind: str) -> list[str]:
        options = []
        for depth, pointer in enumerate(reversed(self.pointers)):
            names = ["#"] if depth == 0 else []
            if pointer.text != "#" and (depth == 0 or NESTED_ALIASES):
                names.append(pointer.text)
            for name in names:
                if pointer.kind == kind:
                    options.append(name)
                for key, field_kind in pointer.fields.items():
                    if field_kind == kind:
                        options.append(f"{name}.{key}")
        return options

    def literal(self, kind: str) -> str:
        if kind == NUM:
            text = self.number_text()
            return f"-{text}" if self.chance(1, 5) else text
        if kind == STR:
            return self.string_text()
        if kind == BOOL:
            return self.pick(["true", "false"])
        if kind == NULL:
            return "null"
        if kind == ARR:
            element = self.pick([NUM, STR, BOOL])
            items = [self.literal(element) for _ in range(self.draw(st.integers(0, 3)))]
            return "[" + ", ".join(items) + "]"
        if kind == OBJ:
            names = self.draw(st.lists(st.sampled_from(["a", "b", "name", "score"]),
                                       max_size=2, unique=True))
            entries = [f"{name}: {self.literal(NUM)}" for name in names]
            return "{" + ", ".join(entries) + "}"
        if kind == DATE:
            return f"d('{self.pick(DATE_TEXTS)}')"
        raise AssertionError(kind)

    # productions by kind
    def productions(self, kind: str) -> list[Callable[[int], str]]:
        common = [self.ternary(kind), self.coalesce(kind), self.parenthesised(kind)]
        table: dict[str, list[Callable[[int], str]]] = {
            NUM: [self.arithmetic] * 4 + [self.negation, self.count_closure, self.index(NUM)],
            STR: [self.concatenation] * 2 + [self.index(STR), self.string_slice],
            BOOL: [self.comparison] * 3 + [self.equality] * 2
            + [self.logic] * 2 + [self.negation_bool, self.membership, self.membership,
                                  self.interval_membership, self.bool_closure],
            ARR: [lambda d: self.literal_array(d), self.array_closure, self.array_closure,
                  self.array_slice],
            OBJ: [self.literal_object, self.literal_object],
            NULL: [lambda d: "null", lambda d: self.pick(self.scope.paths[NULL]),
                   lambda d: f"{self.sub(NUM, d)} / 0"],
            DATE: [self.date_value, self.date_value],
        }
        if FUNCTIONS:
            table[NUM] += [self.number_function] * 3
            table[STR] += [self.string_function] * 2 + [self.template] * 2
            table[BOOL] += [self.bool_function] * 2
            table[ARR] += [self.array_function]
        if DATES:
            table[NUM].append(self.date_number)
            table[STR].append(self.date_string)
            table[BOOL].append(self.date_bool)
        return table[kind] + common

    def ternary(self, kind: str) -> Callable[[int], str]:
        return lambda d: f"{self.sub(BOOL, d)} ? {self.sub(kind, d)} : {self.sub(kind, d)}"

    def coalesce(self, kind: str) -> Callable[[int], str]:
        return lambda d: f"{self.sub(self.pick([NULL, kind]), d)} ?? {self.sub(kind, d)}"

    def parenthesised(self, kind: str) -> Callable[[int], str]:
        return lambda d: f"({self.expr(kind, d)})"

    def arithmetic(self, d: int) -> str:
        operator = self.pick(["+", "-", "*", "/", "%", "^", "+", "-", "*"])
        spaces = " " if self.chance(4, 5) else ""
        if operator == "^":
            exponent = self.pick(EXPONENTS) if self.chance(2, 3) else self.sub(NUM, d)
            base = self.sub(NUM, d)
            return f"{base}{spaces}^{spaces}{exponent}"
        return f"{self.sub(NUM, d)}{spaces}{operator}{spaces}{self.sub(NUM, d)}"

    def negation(self, d: int) -> str:
        return f"-{self.sub(NUM, d)}"

    def concatenation(self, d: int) -> str:
        return f"{self.sub(STR, d)} + {self.sub(STR, d)}"

    def index(self, kind: str) -> Callable[[int], str]:
        def make(d: int) -> str:
            source = self.typed_array(d, kind)
            index = self.pick(["0", "1", "2", "5", "n % 3", "-1", "0.5", "'a'"])
            return f"{source[0]}[{index}]"
        return make

    def slice_bounds(self) -> str:
        low = self.pick(SLICE_BOUNDS[:6]) if self.chance(2, 3) else self.pick(SLICE_BOUNDS)
        high = self.pick(SLICE_BOUNDS[:6]) if self.chance(2, 3) else self.pick(SLICE_BOUNDS)
        return f"[{low}:{high}]"

    def string_slice(self, d: int) -> str:
        if self.chance(1, 2):
            return f"{self.sub(STR, d)}{self.slice_bounds()}"
        return f"{self.pick(self.scope.paths.get(STR, ['s']))}{self.slice_bounds()}"

    def array_slice(self, d: int) -> str:
        return f"{self.typed_array(d, ANY)[0]}{self.slice_bounds()}"

    def comparison(self, d: int) -> str:
        operator = self.pick(["<", ">", "<=", ">="])
        return f"{self.sub(NUM, d)} {operator} {self.sub(NUM, d)}"

    def equality(self, d: int) -> str:
        operator = self.pick(["==", "!="])
        kind = self.pick([NUM, STR, BOOL, NULL, ANY])
        right = self.pick([kind, kind, NULL, ANY])
        return f"{self.sub(kind, d)} {operator} {self.sub(right, d)}"

    def logic(self, d: int) -> str:
        operator = self.pick(["and", "or"])
        return f"{self.sub(BOOL, d)} {operator} {self.sub(BOOL, d)}"

    def negation_bool(self, d: int) -> str:
        return f"{self.pick(['not ', '!'])}{self.sub(BOOL, d)}"

    def membership(self, d: int) -> str:
        kind = self.pick([NUM, STR, STR, NULL])
        operator = self.pick(["in", "not in", "in"])
        if self.chance(1, 3):
            container = self.typed_array(d, kind)[0]
        elif kind == STR and self.chance(1, 4):
            container = self.sub(OBJ, d)
        else:
            items = [self.sub(kind if self.chance(4, 5) else ANY, d - 1)
                     for _ in range(self.draw(st.integers(0, 3)))]
            container = "[" + ", ".join(items) + "]"
        return f"{self.sub(kind, d)} {operator} {container}"

    def interval(self, d: int) -> str:
        left, right = self.pick(["[", "("]), self.pick(["]", ")"])
        low = self.sub(NUM, d - 1)
        high = self.sub(NUM, d - 1) if self.chance(1, 3) else self.number_text()
        return f"{left}{low}..{high}{right}"

    def interval_membership(self, d: int) -> str:
        operator = self.pick(["in", "not in", "in"])
        return f"{self.sub(NUM, d)} {operator} {self.interval(d)}"

    def literal_array(self, d: int) -> str:
        items = [self.sub(ANY if self.chance(1, 3) else NUM, d)
                 for _ in range(self.draw(st.integers(0, 3)))]
        trailing = "," if items and self.chance(1, 10) else ""
        return "[" + ", ".join(items) + trailing + "]"

    def literal_object(self, d: int) -> str:
        entries = []
        keys = ["a", "b", "name", "'quoted key'", '"张"', "['s:' + (s ?? '')]", "1",
                "[`k${n}`]" if FUNCTIONS else "['k']"]
        for _ in range(self.draw(st.integers(0, 3))):
            key = self.pick(keys)
            if not DUPLICATE_KEYS:
                keys.remove(key)
            entries.append(f"{key}: {self.sub(ANY, d)}")
        return "{" + ", ".join(entries) + "}"

    # closures
    def typed_array(self, d: int, kind: str) -> tuple[str, str, dict[str, str]]:
        """An array expression whose elements have a known kind: (text, kind, fields)."""
        options: list[tuple[str, str, dict[str, str]]] = [
            (path, element, fields) for path, element, fields in self.scope.arrays
            if kind in (ANY, element)
        ]
        element = kind if kind in (NUM, STR, BOOL) else self.pick([NUM, STR, BOOL])
        items = [self.literal(element) for _ in range(self.draw(st.integers(0, 4)))]
        options.append(("[" + ", ".join(items) + "]", element, {}))
        if kind in (ANY, OBJ):
            options.append(("[{a: 1, b: 'x'}, {a: 2.5, b: '张'}, {a: -3, b: ''}]", OBJ,
                            {"a": NUM, "b": STR}))
        if INTERVAL_CLOSURES and kind in (ANY, NUM):
            # Small literal bounds: zen-engine allocates the whole range, and aborts the
            # process when it cannot (docs/zen-compatibility.md, "Iterating huge intervals").
            low, high = sorted(self.draw(st.lists(st.sampled_from(SMALL_BOUNDS), min_size=2,
                                                  max_size=2)), key=float)
            if self.chance(1, 5):
                low, high = high, low
            options.append((f"{self.pick(['[', '('])}{low}..{high}{self.pick([']', ')'])}",
                            NUM, {}))
        chosen = self.pick(options)
        if d > 0 and self.chance(1, 4):  # filter() keeps the element kind
            filtered = self.closure("filter", chosen, BOOL, d - 1)
            return filtered, chosen[1], chosen[2]
        return chosen

    def closure(self, name: str, source: tuple[str, str, dict[str, str]], body_kind: str,
                d: int) -> str:
        text, element, fields = source
        alias = next(self.aliases, None) if self.chance(1, 4) else None
        self.pointers.append(Pointer(alias or "#", element, fields))
        try:
            body = self.expr(body_kind, d)
        finally:
            self.pointers.pop()
        source_text = f"{text} as {alias}" if alias else text
        return f"{name}({source_text}, {body})"

    def bool_closure(self, d: int) -> str:
        name = self.pick(["some", "all", "none", "one"])
        return self.closure(name, self.typed_array(d, ANY), BOOL, d)

    def count_closure(self, d: int) -> str:
        return self.closure("count", self.typed_array(d, ANY), BOOL, d)

    def array_closure(self, d: int) -> str:
        name = self.pick(["map", "map", "filter", "flatMap"])
        body_kind = BOOL if name == "filter" else self.pick([NUM, STR, ARR, ANY])
        return self.closure(name, self.typed_array(d, ANY), body_kind, d)

    # built-in functions (only once fengkong.expr.builtins has landed)
    def number_function(self, d: int) -> str:
        choice = self.pick(["abs", "floor", "ceil", "round", "round2", "trunc", "aggregate",
                            "len", "len", "number", "aggregate", "fuzzyMatch"])
        if choice == "round2":
            name = self.pick(["round", "trunc"])
            return f"{name}({self.sub(NUM, d)}, {self.pick(['0', '1', '2', '3'])})"
        if choice == "aggregate":
            name = self.pick(["min", "max", "sum", "avg", "median", "mode"])
            return f"{name}({self.typed_array(d, NUM)[0]})"
        if choice == "len":
            return f"len({self.sub(self.pick([STR, ARR]), d)})"
        if choice == "number":
            argument = self.pick([self.string_text(), self.sub(NUM, d), "'12.5'", "'1e3'",
                                  "'-3'", "true"])
            return f"number({argument})"
        if choice == "fuzzyMatch":
            return f"fuzzyMatch({self.sub(STR, d)}, {self.sub(STR, d)})"
        return f"{choice}({self.sub(NUM, d)})"

    def string_function(self, d: int) -> str:
        choice = self.pick(["upper", "lower", "trim", "string", "string", "type", "extract"])
        if choice == "extract":
            return f"extract({self.sub(STR, d)}, {self.pick(REGEXES)})[{self.pick(['0', '1'])}]"
        kind = ANY if choice in ("string", "type") else STR
        return f"{choice}({self.sub(kind, d)})"

    def template(self, d: int) -> str:
        parts = []
        for _ in range(self.draw(st.integers(1, 3))):
            if self.chance(1, 2):
                parts.append(self.draw(st.text(alphabet="ab 张:=-", max_size=4)))
            else:
                parts.append("${" + self.expr(ANY, d) + "}")
        return "`" + "".join(parts) + "`"

    def bool_function(self, d: int) -> str:
        choice = self.pick(["contains", "startsWith", "endsWith", "containsArray", "isNumeric",
                            "matches", "bool"])
        if choice == "containsArray":
            source, element, _ = self.typed_array(d, ANY)
            return f"contains({source}, {self.sub(element, d)})"
        if choice == "isNumeric":
            return f"isNumeric({self.sub(self.pick([STR, NUM, ANY]), d)})"
        if choice == "bool":
            return f"bool({self.sub(self.pick([STR, NUM, ANY]), d)})"
        if choice == "matches":
            return f"matches({self.sub(STR, d)}, {self.pick(REGEXES)})"
        return f"{choice}({self.sub(STR, d)}, {self.sub(STR, d)})"

    def array_function(self, d: int) -> str:
        choice = self.pick(["split", "keys", "values", "flatten", "merge"])
        if choice == "merge":
            inner = ", ".join(self.sub(self.pick([ARR, ARR, OBJ, NULL]), d)
                              for _ in range(self.draw(st.integers(0, 3))))
            return f"{self.pick(['merge', 'mergeDeep'])}([{inner}])"
        if choice == "split":
            separator = self.pick(["','", "' '", "''"])
            return f"split({self.sub(STR, d)}, {separator})"
        if choice == "flatten":
            return f"flatten({self.sub(ARR, d)})"
        return f"{choice}({self.sub(self.pick([OBJ, OBJ, ARR]), d)})"

    # dates (only once fengkong.expr.dates has landed)
    def date_value(self, d: int = 0) -> str:
        """A date value: d('...'), possibly moved by a method."""
        text = f"d('{self.pick(DATE_TEXTS)}')"
        method = self.pick(["", "", "add", "sub", "startOf", "endOf", "set"])
        if method in ("add", "sub"):
            return f"{text}.{method}({self.pick(['1', '2', '-1', 'n % 5'])}, '{self.pick(UNITS)}')"
        if method in ("startOf", "endOf"):
            return f"{text}.{method}('{self.pick(UNITS)}')"
        if method == "set":
            return f"{text}.set('{self.pick(['year', 'month', 'day', 'hour'])}', 3)"
        return text

    def date_number(self, d: int) -> str:
        text = self.pick(DATE_TEXTS)
        return self.pick([
            f"year('{text}')", f"monthOfYear('{text}')", f"dayOfWeek('{text}')",
            f"d('{text}').year()", f"d('{text}').month()", f"d('{text}').day()",
            f"d('{text}').diff(d('{self.pick(DATE_TEXTS)}'), '{self.pick(UNITS)}')",
            f"date('{text}')", f"duration('{self.pick(['1h', '30m', '1d', '1h 30m'])}')",
        ])

    def date_string(self, d: int) -> str:
        text = self.pick(DATE_TEXTS)
        options = [
            f"dateString('{text}')",
            f"{self.date_value()}.format('{self.pick(['%Y-%m-%d', '%H:%M', '%Y'])}')",
            f"monthString('{text}')", f"weekdayString('{text}')",
        ]
        if DATES_AS_STRINGS:
            options.append(self.date_value())
        return self.pick(options)

    def date_bool(self, d: int) -> str:
        first, second = self.date_value(), self.date_value()
        method = self.pick(["isBefore", "isAfter", "isSame", "isSameOrBefore"])
        return self.pick([
            f"{first} {self.pick(['<', '>', '==', '<=', '>=', '!='])} {second}",
            f"{first}.{method}({second})",
            f"{first}.isSame({second}, '{self.pick(UNITS)}')",
            f"{first} in [{self.date_value()}..{second}]",
            f"{first} {self.pick(['==', '!='])} '{self.pick(DATE_TEXTS)}'",
        ])

    # assignments
    def assignments(self, depth: int) -> str:
        statements = []
        for index in range(self.draw(st.integers(1, 3))):
            name = self.pick([f"v{index}", f"acc.v{index}", "n", "total"])
            kind = self.pick([NUM, NUM, STR, BOOL, ANY])
            statements.append(f"{name} = {self.expr(kind, depth)}")
            if kind != ANY:
                self.scope.add(kind, name)
        if self.chance(2, 3):
            statements.append(self.expr(self.pick([NUM, STR, BOOL, ANY]), depth))
        return "; ".join(statements)


SMALL_BOUNDS = ["0", "1", "2", "3", "5", "10", "0.5", "2.5", "-1", "-3"]
SLICE_BOUNDS = ["", "0", "1", "2", "", "3", "6", "10", "-1", "null", "missing", "1.5", "'1'",
                "n % 5", "len(s)" if FUNCTIONS else "4"]
EXPONENTS = ["0", "1", "2", "3", "10", "0.5", "1.5", "-1", "-2", "(1/3)", "(n % 4)", "-0.5"]
DATE_TEXTS = ["2024-01-15", "2023-12-31", "2024-02-29", "2024-03-10T08:30:00Z",
              "2024-06-01 12:00:00", "2020-01-01"]
UNITS = ["day", "d", "month", "M", "year", "y", "hour", "h", "week", "w"]
REGEXES = ["'^[a-z]+$'", "'[0-9]+'", "'^张'", "'.'", "'^$'", "'(\\w+)-(\\d)'", "'(?i)^A'",
           "'[a-c]{2,}'", "'\\s'", "'^(\\d+)\\.(\\d+)$'", "'['"]


def _atomic(text: str) -> bool:
    return bool(re.fullmatch(r"[\w.$#\[\]'\"]+", text)) and text.count("[") == text.count("]")


# -- mutations for parse errors -------------------------------------------------------------

MUTATION_SNIPPETS = ["(", ")", "[", "]", ",", "..", "+", "*", "==", "?", ":", "'", "`", "!",
                     "and", "not", "??", "#", "$", ";", "=", "{", "}", "in", "1", " "]


@st.composite
def mutated(draw: st.DrawFn, text: str) -> str:
    if not text:
        return text
    position = draw(st.integers(0, len(text) - 1))
    action = draw(st.sampled_from(["drop", "insert", "truncate", "duplicate"]))
    if action == "drop":
        return text[:position] + text[position + 1:]
    if action == "insert":
        return text[:position] + draw(st.sampled_from(MUTATION_SNIPPETS)) + text[position:]
    if action == "truncate":
        return text[:position]
    return text[:position] + text[position:] * 2


# -- public strategies ----------------------------------------------------------------------------

@st.composite
def expression_cases(draw: st.DrawFn, max_depth: int = 4) -> tuple[str, dict[str, Any]]:
    """A (standard expression, context) pair."""
    context = draw(contexts())
    generator = ExpressionGenerator(draw, scope_of(context, draw))
    depth = draw(st.sampled_from([3, 2, 4, 1, 3]))
    if generator.chance(1, 10):
        expression = generator.assignments(depth - 1)
    else:
        expression = generator.expr(ANY, depth, top=True)
    if generator.chance(1, 20):
        expression = draw(mutated(expression))
    return expression, context


UNARY_OPERATORS = ["<", ">", "<=", ">=", "==", "!="]


@st.composite
def unary_cases(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """A (unary test, context) pair; the context holds the value under test as ``$``."""
    context = draw(contexts())
    dollar = draw(st.one_of(json_numbers, json_numbers, json_strings, st.booleans(), st.none(),
                            st.lists(json_numbers, max_size=4), json_values))
    context["$"] = dollar
    generator = ExpressionGenerator(draw, scope_of(context, draw), ill_typed=0.03)
    kind = kind_of(dollar)
    if kind not in (NUM, STR, BOOL):
        kind = draw(st.sampled_from([NUM, STR]))

    def value(depth: int = 0) -> str:
        return generator.sub(kind, depth) if depth else generator.literal(kind)

    def pair() -> str:
        choice = draw(st.integers(0, 11))
        depth = draw(st.integers(0, 2))
        if choice <= 2:
            operator = draw(st.sampled_from(UNARY_OPERATORS))
            operand = value(depth) if kind == NUM or operator in ("==", "!=") else \
                generator.sub(NUM, depth)
            return f"{operator} {operand}"
        if choice <= 4:
            return value(depth)
        if choice == 5:
            return generator.interval(depth)
        if choice == 6:
            items = ", ".join(value() for _ in range(draw(st.integers(0, 3))))
            prefix = draw(st.sampled_from(["", "in ", "not in "]))
            return f"{prefix}[{items}]"
        if choice == 7:
            return f"{draw(st.sampled_from(['in ', 'not in ']))}{generator.interval(depth)}"
        if choice == 8:
            return draw(st.sampled_from(["null", "$ == null", "$ != null", "true", "false"]))
        if choice == 9:
            operator = draw(st.sampled_from(UNARY_OPERATORS))
            return f"$ {operator} {value(depth)}"
        if choice == 10 and FUNCTIONS:
            return draw(st.sampled_from([
                "len($) > 2", "startsWith($, 'a')", "contains($, 'a')", "upper($) == 'ABC'",
                "some($, # > 3)", "$[0] == 1", "number($) > 1", "isNumeric($)", "abs($) < 10",
                "contains(['a', 'b'], $)", "endsWith($, '伟')", "string($) == '1'",
            ]))
        return generator.expr(BOOL, depth)

    joins = [", ", " and ", " or ", ","]
    text = pair()
    for _ in range(draw(st.sampled_from([0, 1, 0, 2, 1]))):
        text += draw(st.sampled_from(joins)) + pair()
    if draw(st.integers(0, 29)) == 0:
        text = draw(mutated(text))
    return text, context


def case_json(context: dict[str, Any]) -> str:
    return json.dumps(context, ensure_ascii=False)
