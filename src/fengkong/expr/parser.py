"""Parser for ZEN standard expressions and unary tests.

A precedence-climbing parser over :mod:`fengkong.expr.lexer` tokens that builds the tree in
:mod:`fengkong.expr.ast`. It follows Zen's grammar, including its less obvious rules:

* ``??`` binds tighter than ``*`` and unary minus tighter than ``^`` (``-2 ^ 2 == 4``);
  ``^`` groups to the right (``2 ^ 3 ^ 2 == 512``).
* ``not`` binds tighter than comparisons: ``not a == b`` is ``(not a) == b``.
* Unary tests are comma-, ``and``- or ``or``-joined pairs, joined left to right with equal
  precedence. A pair that starts with a comparison operator compares ``$``; a pair that is
  a bare value compares ``$`` with it (``==``, or ``in`` for arrays, intervals and
  array-valued functions); a pair that is already boolean (a comparison, ``contains(...)``)
  is used as it is.

Errors are :class:`~fengkong.errors.ExpressionSyntaxError` with the character position.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from fengkong.errors import ExpressionSyntaxError
from fengkong.expr import ast
from fengkong.expr.lexer import Kind, Token, tokenize
from fengkong.expr.numbers import from_decimal

BINARY_PRECEDENCE = {
    "or": 10, "and": 15,
    "==": 20, "!=": 20, "<": 20, ">": 20, "<=": 20, ">=": 20, "in": 20, "not in": 20,
    "+": 30, "-": 30,
    "*": 60, "/": 60, "%": 60,
    "^": 70,
    "??": 80,
}
UNARY_PRECEDENCE = {"not": 50, "!": 50, "+": 200, "-": 200}
COMPARISONS = frozenset({"==", "!=", "<", ">", "<=", ">=", "in", "not in"})
_BOOLEAN_OPERATORS = COMPARISONS | {"and", "or"}
CLOSURE_FUNCTIONS = frozenset({"all", "some", "none", "one", "filter", "map", "flatMap", "count"})

# How a bare value in a unary test is compared with ``$`` (see the module docstring).
_BOOLEAN_FUNCTIONS = frozenset({
    "contains", "startsWith", "endsWith", "matches", "isNumeric", "all", "some", "none", "one",
})
_ARRAY_FUNCTIONS = frozenset({
    "flatten", "merge", "mergeDeep", "extract", "split", "keys", "values", "filter", "map",
    "flatMap",
})
_MAX_DEPTH = 200


class _Parser:
    def __init__(self, source: str, unary: bool, tokens: list[Token] | None = None) -> None:
        self.source = source
        self.unary = unary
        self.tokens = tokenize(source) if tokens is None else tokens
        self.index = 0
        self.closure_depth = 0
        self.nesting = 0
        self.has_range = any(t.kind is Kind.OPERATOR and t.value == ".." for t in self.tokens)

    # -- token helpers -------------------------------------------------------------------
    @property
    def current(self) -> Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def is_at(self, kind: Kind, value: str) -> bool:
        token = self.current
        return token is not None and token.kind is kind and token.value == value

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def error(self, message: str, token: Token | None = None) -> ExpressionSyntaxError:
        token = token if token is not None else self.current
        position = token.start if token is not None else len(self.source)
        return ExpressionSyntaxError(message, expression=self.source, position=position)

    def expect(self, kind: Kind, value: str) -> Token:
        token = self.current
        if token is None or token.kind is not kind or token.value != value:
            found = f"{token.value!r}" if token is not None else "the end"
            raise self.error(f"expected {value!r}, found {found}")
        return self.advance()

    def previous_end(self) -> int:
        return self.tokens[self.index - 1].end if self.index else 0

    # -- entry points --------------------------------------------------------------------
    def parse_standard(self) -> ast.Node:
        if not self.tokens:
            raise self.error("empty expression")
        node = self.binary(0, closure=False)
        self.finish()
        return node

    def parse_unary(self) -> ast.Node:
        if not self.tokens:
            raise self.error("empty unary test")
        node = self.unary_pair()
        while self.current is not None:
            token = self.current
            if token.kind is Kind.OPERATOR and token.value == "and":
                join = "and"
            elif token.kind is Kind.OPERATOR and token.value in ("or", ","):
                join = "or"
            else:
                raise self.error(f"unexpected {token.value!r}: join tests with ',', 'and' or 'or'")
            self.advance()
            right = self.unary_pair()
            node = ast.Binary(node.start, right.end, join, node, right, token.start)
        return node

    def finish(self) -> None:
        if self.current is not None:
            raise self.error(f"unexpected {self.current.value!r}")

    # -- unary tests ---------------------------------------------------------------------
    def unary_pair(self) -> ast.Node:
        start_token = self.current
        if start_token is None:
            raise self.error("expected a test after the last ',', 'and' or 'or'")
        dollar = ast.Identifier(start_token.start, start_token.start, "$")
        token = self.current
        if token is not None and token.kind is Kind.OPERATOR and token.value in COMPARISONS:
            left: ast.Node = dollar
        else:
            left = self.binary(0, closure=False)
        token = self.current
        if token is not None and token.kind is Kind.OPERATOR and token.value in COMPARISONS:
            self.advance()
            right = self.binary(0, closure=False)
            return ast.Binary(start_token.start, right.end, token.value, left, right, token.start)
        behaviour = _unary_behaviour(left)
        if behaviour == "bool":
            # Comparisons and logic already give a bool; other values go through bool().
            if isinstance(left, ast.Binary) and left.operator in _BOOLEAN_OPERATORS:
                return left
            return ast.Call(left.start, left.end, "bool", [left])
        return ast.Binary(left.start, left.end, behaviour, dollar, left)

    # -- standard expressions ------------------------------------------------------------
    def binary(self, precedence: int, *, closure: bool) -> ast.Node:
        self.nesting += 1
        if self.nesting > _MAX_DEPTH:
            raise self.error("expression is nested too deeply")
        left = self.prefix()
        while True:
            token = self.current
            if token is None or token.kind is not Kind.OPERATOR:
                break
            # Inside a unary test, ',', 'and' and 'or' join tests rather than operands.
            if self.unary and not closure and token.value in (",", "and", "or"):
                break
            operator_precedence = BINARY_PRECEDENCE.get(token.value)
            if operator_precedence is None or operator_precedence < precedence:
                break
            self.advance()
            # ``^`` groups to the right (2 ^ 3 ^ 2 == 512); everything else to the left.
            next_precedence = operator_precedence + (token.value != "^")
            right = self.binary(next_precedence, closure=False)
            left = ast.Binary(left.start, right.end, token.value, left, right, token.start)
        if precedence == 0 and self.is_at(Kind.OPERATOR, "?"):
            self.advance()
            when_true = self.binary(0, closure=False)
            self.expect(Kind.OPERATOR, ":")
            when_false = self.binary(0, closure=False)
            left = ast.Conditional(left.start, when_false.end, left, when_true, when_false)
        self.nesting -= 1
        return left

    def prefix(self) -> ast.Node:
        token = self.current
        if token is None:
            raise self.error("unexpected end of expression")
        if token.kind is Kind.IDENTIFIER and token.value == "#" and self.closure_depth > 0:
            self.advance()
            return self.postfix(ast.Pointer(token.start, token.end))[0]
        if token.kind is Kind.OPERATOR:
            operator_precedence = UNARY_PRECEDENCE.get(token.value)
            if operator_precedence is None:
                raise self.error(f"unexpected operator {token.value!r}")
            self.advance()
            operand = self.binary(operator_precedence, closure=False)
            return ast.Unary(token.start, operand.end, token.value, operand)
        interval = self.try_interval()
        if interval is not None:
            return interval
        if token.kind is Kind.BRACKET and token.value == "(":
            self.advance()
            inner = self.binary(0, closure=False)
            self.expect(Kind.BRACKET, ")")
            return self.postfix(inner)[0]
        return self.literal()

    def literal(self) -> ast.Node:
        token = self.current
        assert token is not None
        if token.kind is Kind.NUMBER:
            self.advance()
            return ast.Literal(token.start, token.end, _parse_number(token, self))
        if token.kind is Kind.STRING:
            self.advance()
            return ast.Literal(token.start, token.end, token.value)
        if token.kind is Kind.TEMPLATE:
            self.advance()
            return self.template(token)
        if token.kind is Kind.IDENTIFIER:
            if token.value in ("true", "false", "null"):
                self.advance()
                constant = {"true": True, "false": False, "null": None}[token.value]
                return ast.Literal(token.start, token.end, constant)
            return self.identifier()
        if token.kind is Kind.BRACKET:
            if token.value == "[":
                return self.array()
            if token.value == "{":
                return self.object()
        raise self.error(f"unexpected {token.value!r}")

    def template(self, token: Token) -> ast.Node:
        parts: list[ast.Node] = []
        for is_expression, text, offset in token.parts:
            if not is_expression:
                parts.append(ast.Literal(offset, offset + len(text), text))
                continue
            # The parts of a template in a unary test are parsed as the unary test is (as Zen).
            inner = _Parser(self.source, self.unary, [_shift(t, offset) for t in tokenize(text)])
            inner.closure_depth = self.closure_depth
            if not inner.tokens:
                raise self.error("empty ${} in template string", token)
            node = inner.binary(0, closure=False)
            inner.finish()
            parts.append(node)
        return ast.Template(token.start, token.end, parts)

    def identifier(self) -> ast.Node:
        token = self.advance()
        name = token.value
        if not self.is_at(Kind.BRACKET, "("):
            node: ast.Node
            if name == "$root":
                node = ast.Root(token.start, token.end)
            else:
                node = ast.Identifier(token.start, token.end, name)
            node, computed = self.postfix(node)
            if self.is_at(Kind.OPERATOR, "="):
                if computed:
                    raise self.error("only property access (a.b) can be assigned to")
                return self.assignments(node)
            return node
        if name in CLOSURE_FUNCTIONS:
            return self.closure_call(token)
        return self.postfix(self.call(token))[0]

    def call(self, token: Token) -> ast.Node:
        from fengkong.expr.registry import functions

        builtin = functions().get(token.value)
        if builtin is None:
            raise self.error(f"unknown function {token.value!r}", token)
        self.expect(Kind.BRACKET, "(")
        arguments = self.arguments()
        end = self.expect(Kind.BRACKET, ")").end
        count = len(arguments)
        if count < builtin.min_args or (builtin.max_args is not None and count > builtin.max_args):
            raise self.error(
                f"{token.value}() takes {_arity(builtin.min_args, builtin.max_args)}, "
                f"got {count}", token)
        return ast.Call(token.start, end, token.value, arguments)

    def arguments(self) -> list[ast.Node]:
        arguments: list[ast.Node] = []
        while not self.is_at(Kind.BRACKET, ")"):
            arguments.append(self.binary(0, closure=False))
            if not self.is_at(Kind.OPERATOR, ","):
                break
            self.advance()
        return arguments

    def closure_call(self, token: Token) -> ast.Node:
        self.expect(Kind.BRACKET, "(")
        items = self.binary(0, closure=False)
        alias = None
        if self.is_at(Kind.IDENTIFIER, "as"):
            self.advance()
            alias_token = self.current
            if alias_token is None or alias_token.kind is not Kind.IDENTIFIER:
                raise self.error("expected a name after 'as'")
            alias = self.advance().value
        self.expect(Kind.OPERATOR, ",")
        self.closure_depth += 1
        body = self.binary(0, closure=True)
        self.closure_depth -= 1
        end = self.expect(Kind.BRACKET, ")").end
        node = ast.ClosureCall(token.start, end, token.value, items, body, alias)
        return self.postfix(node)[0]

    def postfix(self, node: ast.Node) -> tuple[ast.Node, bool]:
        """Member access, index, slice and method calls; also says if ``[...]`` was used."""
        computed = False
        while True:
            if self.is_at(Kind.OPERATOR, "."):
                self.advance()
                token = self.current
                if token is None or not _is_property(token):
                    raise self.error("expected a property name after '.'")
                self.advance()
                if self.is_at(Kind.BRACKET, "("):
                    node = self.method_call(node, token)
                    continue
                key = ast.Literal(token.start, token.end, token.value)
                node = ast.Member(node.start, token.end, node, key)
            elif self.is_at(Kind.BRACKET, "["):
                computed = True
                node = self.index_or_slice(node)
            else:
                return node, computed

    def method_call(self, target: ast.Node, token: Token) -> ast.Node:
        from fengkong.expr.dates import METHODS

        arity = METHODS.get(token.value)
        if arity is None:
            raise self.error(f"unknown method {token.value!r}", token)
        self.expect(Kind.BRACKET, "(")
        arguments = self.arguments()
        end = self.expect(Kind.BRACKET, ")").end
        low, high = arity
        if len(arguments) < low or (high is not None and len(arguments) > high):
            raise self.error(
                f".{token.value}() takes {_arity(low, high)}, got {len(arguments)}", token)
        return ast.MethodCall(target.start, end, target, token.value, arguments)

    def index_or_slice(self, target: ast.Node) -> ast.Node:
        self.advance()
        low: ast.Node | None = None
        if not self.is_at(Kind.OPERATOR, ":"):
            low = self.binary(0, closure=False)
            if not self.is_at(Kind.OPERATOR, ":"):
                end = self.expect(Kind.BRACKET, "]").end
                return ast.Member(target.start, end, target, low)
        self.advance()
        high = None if self.is_at(Kind.BRACKET, "]") else self.binary(0, closure=False)
        end = self.expect(Kind.BRACKET, "]").end
        return ast.Slice(target.start, end, target, low, high)

    def try_interval(self) -> ast.Node | None:
        """``[a..b]``, ``(a..b)``, ``[a..b)``, ``(a..b]``; backtracks when it is not one.

        The reversed-bracket notation ``]a..b[`` is not accepted: zen-engine 2.1 gives it
        inconsistent meanings (see docs/zen-compatibility.md)."""
        token = self.current
        if not self.has_range or token is None or token.kind is not Kind.BRACKET:
            return None
        if token.value not in "[(":
            return None
        saved = self.index, self.nesting
        try:
            self.advance()
            low = self.binary(0, closure=False)
            self.expect(Kind.OPERATOR, "..")
            high = self.binary(0, closure=False)
        except ExpressionSyntaxError:
            self.index, self.nesting = saved
            return None
        closing = self.current
        if closing is None or closing.kind is not Kind.BRACKET or closing.value not in "])":
            self.index, self.nesting = saved
            return None
        self.advance()
        node = ast.Interval(token.start, closing.end, low, high,
                            low_closed=token.value == "[", high_closed=closing.value == "]")
        return self.postfix(node)[0]

    def array(self) -> ast.Node:
        start = self.advance().start
        items: list[ast.Node] = []
        while not self.is_at(Kind.BRACKET, "]"):
            if items:
                self.expect(Kind.OPERATOR, ",")
                if self.is_at(Kind.BRACKET, "]"):
                    break
            items.append(self.binary(0, closure=False))
        end = self.expect(Kind.BRACKET, "]").end
        return self.postfix(ast.ArrayLiteral(start, end, items))[0]

    def object(self) -> ast.Node:
        start = self.advance().start
        entries: list[tuple[ast.Node, ast.Node]] = []
        if not self.is_at(Kind.BRACKET, "}"):
            while True:
                key = self.object_key()
                self.expect(Kind.OPERATOR, ":")
                entries.append((key, self.binary(0, closure=False)))
                if self.is_at(Kind.OPERATOR, ","):
                    self.advance()
                    continue
                break
        end = self.expect(Kind.BRACKET, "}").end
        return ast.ObjectLiteral(start, end, entries)

    def object_key(self) -> ast.Node:
        token = self.current
        if token is None:
            raise self.error("expected an object key")
        if token.kind in (Kind.IDENTIFIER, Kind.NUMBER, Kind.STRING):
            self.advance()
            return ast.Literal(token.start, token.end, token.value)
        if token.kind is Kind.BRACKET and token.value == "[":
            self.advance()
            key = self.binary(0, closure=False)
            self.expect(Kind.BRACKET, "]")
            return key
        raise self.error(f"{token.value!r} cannot be an object key")

    def assignments(self, first_key: ast.Node) -> ast.Node:
        start = first_key.start
        pairs: list[tuple[str, ast.Node]] = []
        key: ast.Node = first_key
        output: ast.Node | None = None
        while True:
            self.expect(Kind.OPERATOR, "=")
            pairs.append((_assignment_path(key, self), self.binary(0, closure=False)))
            if self.current is None:
                break
            self.expect(Kind.OPERATOR, ";")
            if self.current is None:
                break
            checkpoint = self.index
            token = self.current
            if token.kind is Kind.IDENTIFIER and token.value not in ("true", "false", "null"):
                self.advance()
                key, computed = self.postfix(ast.Identifier(token.start, token.end, token.value))
                if self.is_at(Kind.OPERATOR, "=") and not computed:
                    continue
            self.index = checkpoint
            output = self.binary(0, closure=False)
            break
        return ast.Assignments(start, self.previous_end(), pairs, output)


def _shift(token: Token, offset: int) -> Token:
    """A token of a template part, moved to its place in the whole source."""
    parts = tuple((is_expr, text, at + offset) for is_expr, text, at in token.parts)
    return Token(token.kind, token.value, token.start + offset, token.end + offset, parts)


def _assignment_path(node: ast.Node, parser: _Parser) -> str:
    if isinstance(node, ast.Identifier):
        return node.name
    if isinstance(node, ast.Member) and isinstance(node.key, ast.Literal):
        return f"{_assignment_path(node.target, parser)}.{node.key.value}"
    raise ExpressionSyntaxError("only names and a.b paths can be assigned to",
                                expression=parser.source, position=node.start)


def _is_property(token: Token) -> bool:
    if token.kind is Kind.IDENTIFIER:
        return True
    return token.kind is Kind.OPERATOR and token.value in ("and", "or", "not", "in")


def _parse_number(token: Token, parser: _Parser) -> int | float:
    text = token.value
    if "." not in text and "e" not in text:
        return int(text)
    try:
        return from_decimal(Decimal(text))
    except InvalidOperation:
        raise parser.error(f"invalid number {text!r}", token) from None


def _arity(low: int, high: int | None) -> str:
    if high is None:
        return f"at least {low} argument{'s' if low != 1 else ''}"
    if low == high:
        return f"{low} argument{'s' if low != 1 else ''}"
    return f"{low} to {high} arguments"


def _unary_behaviour(node: ast.Node) -> str:
    """How a bare value in a unary test meets ``$``: "==", "in" or "bool" (used as is)."""
    if isinstance(node, ast.Pointer):
        return "bool"
    if isinstance(node, (ast.ArrayLiteral, ast.Slice, ast.Interval)):
        return "in"
    if isinstance(node, ast.Conditional):
        on_true = _unary_behaviour(node.when_true)
        return on_true if on_true == _unary_behaviour(node.when_false) else "=="
    if isinstance(node, ast.Unary):
        return _unary_behaviour(node.operand)
    if isinstance(node, ast.Binary):
        if node.operator in ("+", "-", "*", "/", "%", "^"):
            left = _unary_behaviour(node.left)
            return left if left == _unary_behaviour(node.right) else "=="
        return "bool"
    if isinstance(node, ast.ClosureCall):
        if node.name in _ARRAY_FUNCTIONS:
            return "in"
        return "==" if node.name == "count" else "bool"
    if isinstance(node, ast.Call):
        if node.name in _BOOLEAN_FUNCTIONS:
            return "bool"
        return "in" if node.name in _ARRAY_FUNCTIONS else "=="
    if isinstance(node, ast.MethodCall):
        return "bool" if node.name.startswith("is") else "=="
    return "=="


def parse_expression(source: str) -> ast.Node:
    """Parse a standard ZEN expression into a syntax tree."""
    return _Parser(source, unary=False).parse_standard()


def parse_unary(source: str) -> ast.Node:
    """Parse a ZEN unary test (``>= 5``, ``'a', 'b'``, ``[1..10]``) into a boolean tree over ``$``."""
    return _Parser(source, unary=True).parse_unary()
