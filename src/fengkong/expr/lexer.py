"""Tokenizer for ZEN expressions.

Produces a flat list of :class:`Token` with character offsets so that every later error
can point at a position in the source. Strings are raw: ZEN has no escape sequences
(``"a\\nb"`` is four characters), and a quote of the same kind always ends the string.
Template strings (backticks) are split into literal parts and ``${...}`` expression parts,
each kept with its offset so the parser can parse the parts with correct positions.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from fengkong.errors import ExpressionSyntaxError


class Kind(Enum):
    NUMBER = "number"
    STRING = "string"
    TEMPLATE = "template"
    IDENTIFIER = "identifier"
    OPERATOR = "operator"
    BRACKET = "bracket"


@dataclass(frozen=True, slots=True)
class Token:
    kind: Kind
    value: str
    start: int
    end: int
    # template strings only: (is_expression, text, offset of text in the source)
    parts: tuple[tuple[bool, str, int], ...] = ()


# Longest operators first so that ``..`` wins over ``.`` and ``>=`` over ``>``.
_OPERATORS = ("..", "==", "!=", ">=", "<=", "??", "+", "-", "*", "/", "%", "^", "<", ">", "!",
              "?", ":", ".", ",", ";", "=")
_BRACKETS = "()[]{}"
_WORD_OPERATORS = {"and", "or", "not", "in"}


def _is_identifier_start(char: str) -> bool:
    return char.isalpha() or char in "_$#"


def _is_identifier_char(char: str) -> bool:
    return char.isalnum() or char in "_$#"  # Zen reads `a#b` as one name


def tokenize(source: str) -> list[Token]:
    """Split ``source`` into tokens; raises :class:`ExpressionSyntaxError` with a position."""
    tokens: list[Token] = []
    index = 0
    length = len(source)
    while index < length:
        char = source[index]
        if char.isspace():
            index += 1
            continue
        start = index
        if char.isdigit():
            index = _scan_number(source, index)
            tokens.append(Token(Kind.NUMBER, source[start:index].replace("_", ""), start, index))
        elif char in "'\"":
            end = source.find(char, index + 1)
            if end < 0:
                raise ExpressionSyntaxError(
                    f"unterminated string: missing closing {char}", expression=source,
                    position=start)
            tokens.append(Token(Kind.STRING, source[index + 1:end], start, end + 1))
            index = end + 1
        elif char == "`":
            token = _scan_template(source, index)
            tokens.append(token)
            index = token.end
        elif _is_identifier_start(char):
            index += 1
            while index < length and _is_identifier_char(source[index]):
                index += 1
            word = source[start:index]
            if word in _WORD_OPERATORS:
                tokens.append(Token(Kind.OPERATOR, word, start, index))
            else:
                tokens.append(Token(Kind.IDENTIFIER, word, start, index))
        elif char in _BRACKETS:
            tokens.append(Token(Kind.BRACKET, char, start, index + 1))
            index += 1
        else:
            for operator in _OPERATORS:
                if source.startswith(operator, index):
                    tokens.append(Token(Kind.OPERATOR, operator, start, index + len(operator)))
                    index += len(operator)
                    break
            else:
                raise ExpressionSyntaxError(
                    f"unexpected character {char!r}", expression=source, position=start)
    return _join_not_in(tokens)


def _scan_number(source: str, index: int) -> int:
    """Digits (``_`` separators allowed), an optional fraction, an optional ``e`` exponent."""
    length = len(source)
    while index < length and (source[index].isdigit() or source[index] == "_"):
        index += 1
    # ``1..5`` is a range, not the number ``1.`` followed by ``.5``.
    if index < length and source[index] == "." and not source.startswith("..", index):
        index += 1
        while index < length and (source[index].isdigit() or source[index] == "_"):
            index += 1
    if index < length and source[index] == "e":
        probe = index + 1
        if probe < length and source[probe] in "+-":
            probe += 1
        if probe < length and source[probe].isdigit():
            index = probe
            while index < length and source[index].isdigit():
                index += 1
    return index


def _scan_template(source: str, start: int) -> Token:
    """A backtick string with ``${expression}`` parts (nested braces and quotes allowed)."""
    parts: list[tuple[bool, str, int]] = []
    index = start + 1
    literal_start = index
    length = len(source)
    while index < length:
        char = source[index]
        if char == "`":
            if index > literal_start:
                parts.append((False, source[literal_start:index], literal_start))
            return Token(Kind.TEMPLATE, source[start:index + 1], start, index + 1, tuple(parts))
        if char == "$" and source.startswith("${", index):
            if index > literal_start:
                parts.append((False, source[literal_start:index], literal_start))
            expression_start = index + 2
            index = _matching_brace(source, expression_start)
            parts.append((True, source[expression_start:index], expression_start))
            index += 1
            literal_start = index
            continue
        index += 1
    raise ExpressionSyntaxError(
        "unterminated template string: missing closing `", expression=source, position=start)


def _matching_brace(source: str, index: int) -> int:
    depth = 0
    length = len(source)
    while index < length:
        char = source[index]
        if char in "'\"":
            end = source.find(char, index + 1)
            if end < 0:
                break
            index = end
        elif char == "{":
            depth += 1
        elif char == "}":
            if depth == 0:
                return index
            depth -= 1
        index += 1
    raise ExpressionSyntaxError(
        "unterminated ${ in template string", expression=source, position=index)


def _join_not_in(tokens: list[Token]) -> list[Token]:
    """``not in`` is one operator; ``not`` alone stays logical negation."""
    joined: list[Token] = []
    for token in tokens:
        previous = joined[-1] if joined else None
        if (token.kind is Kind.OPERATOR and token.value == "in" and previous is not None
                and previous.kind is Kind.OPERATOR and previous.value == "not"):
            joined[-1] = Token(Kind.OPERATOR, "not in", previous.start, token.end)
        else:
            joined.append(token)
    return joined
