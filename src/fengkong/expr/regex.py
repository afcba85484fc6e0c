"""Regular expressions with Rust's syntax, matched in linear time.

ZEN's ``matches`` and ``extract`` use Rust's ``regex`` crate, whose syntax differs from
Python's ``re`` and which never backtracks. Python's ``re`` can take exponential time on
patterns such as ``(a+)+$`` — a denial of service when applicants control the text. So
patterns are parsed here with Rust's syntax (rejecting what Rust rejects: look-around,
back-references, ``\\Z``...) and run on a Pike VM, a breadth-first NFA simulation whose
cost is at most proportional to ``len(text) * len(program)`` whatever the pattern.

Programs are capped at ``_REGEX_MAX_PROGRAM`` instructions, patterns at
``_REGEX_MAX_LENGTH`` characters and nesting at 250 levels (Rust's nest limit); compiled
patterns are cached. Repetitions are laid out as Rust's compiler lays them out, so
``extract`` reports the same groups. Unicode classes (``\\w``, ``\\d``, ``\\p{L}``...) come
from :mod:`unicodedata`, whose Unicode version may be older than Zen's; scripts
(``\\p{Han}``...) from the table below, limited to common scripts.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable, Iterable
from functools import cache, lru_cache
from typing import Any, NoReturn

_REGEX_MAX_PROGRAM = 50_000
_REGEX_MAX_LENGTH = 10_000  # bounds the time to parse a pattern that comes from input data
_REGEX_NEST_LIMIT = 250
_MAX_CODE_POINT = 0x10FFFF

# Unicode White_Space: what Rust calls \\s and what ZEN's trim() strips.
WHITE_SPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)

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
    return ch in WHITE_SPACE


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


class RegexError(Exception):
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
        raise RegexError(f"{message} at position {self.pos}")

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


class Program:
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
            raise RegexError(f"compiled pattern exceeds {_REGEX_MAX_PROGRAM} instructions")
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
def compile_pattern(pattern: str) -> Program | str:
    """Compiled program, or the reason Rust's regex crate would reject the pattern."""
    if len(pattern) > _REGEX_MAX_LENGTH:
        return f"pattern longer than {_REGEX_MAX_LENGTH} characters"
    try:
        parser = _Parser(pattern)
        return Program(parser.parse(), parser.groups)
    except RegexError as error:
        return str(error)
    except RecursionError:
        return "pattern nests too deeply"
