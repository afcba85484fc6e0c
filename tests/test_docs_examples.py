"""Every example in the documentation is run, so the docs cannot drift from the code.

These fenced blocks are checked, in ``README.md`` and ``docs/*.md``:

* ```` ```zen ```` and ```` ```zen-unary ```` blocks: each line is
  ``expression  // => result`` (unary: ``test  // $ = value => result``) with the result as
  JSON, or ``// => error: text`` for an error whose message contains ``text``. A line
  ``// context: {...}`` sets the variables for the lines after it in that block. A JSON
  result may be followed by a note; a note that mentions ``zen-engine`` marks a documented
  difference, and only such lines are exempt from the zen-engine cross-check.
* ```` ```pycon ```` blocks are Python sessions, run as doctests from the repository root.
* ```` ```console ```` blocks: ``$ command`` lines (with ``\\`` continuations) are run in the
  repository by bash with this interpreter's ``fengkong`` on ``PATH``; the lines up to the
  next ``$`` are the expected stdout and stderr, where ``...`` matches any text.
"""

from __future__ import annotations

import doctest
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fengkong.errors import FengkongError
from fengkong.expr import evaluate, evaluate_unary

REPO = Path(__file__).resolve().parent.parent
DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]

_FENCE = re.compile(r"^```([\w-]*)[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
_EXAMPLE = re.compile(
    r"^(?P<expression>.+?)\s+//\s*(?:\$\s*=\s*(?P<dollar>.+?)\s+)?=>\s*(?P<expected>.+)$"
)
_CONTEXT = re.compile(r"^//\s*context:\s*(?P<json>.+)$")


@dataclass(frozen=True)
class Example:
    """One checked line of a ``zen`` or ``zen-unary`` block."""

    where: str
    expression: str
    unary: bool
    context: dict[str, Any]
    expected: Any
    error: str | None  # expected error text, when the example shows an error
    zen_differs: bool

    def __str__(self) -> str:
        return f"{self.where}: {self.expression}"


@dataclass(frozen=True)
class ConsoleCommand:
    """One ``$ command`` of a ``console`` block with its expected output lines."""

    where: str
    command: str
    output: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.where}: {self.command}"


def _blocks(path: Path) -> list[tuple[str, int, str]]:
    """(language, first line number, body) of each fenced block in ``path``."""
    text = path.read_text(encoding="utf-8")
    return [
        (match.group(1), text.count("\n", 0, match.start(2)) + 1, match.group(2))
        for match in _FENCE.finditer(text)
    ]


def _parse_example(line: str, where: str, unary: bool, context: dict[str, Any]) -> Example:
    match = _EXAMPLE.match(line)
    if match is None:
        raise ValueError(f"not of the form 'expression  // => result': {line!r}")
    expression = match.group("expression").strip()
    expected_text = match.group("expected").strip()
    dollar = match.group("dollar")
    if unary != (dollar is not None):
        raise ValueError(f"'$ = value' belongs in zen-unary blocks only: {line!r}")
    if unary:
        context = {**context, "$": json.loads(dollar)}
    if expected_text.startswith("error:"):
        return Example(where, expression, unary, context, None,
                       expected_text.removeprefix("error:").strip(), False)
    expected, end = json.JSONDecoder().raw_decode(expected_text)
    note = expected_text[end:]
    return Example(where, expression, unary, context, expected, None, "zen-engine" in note)


def collect_examples() -> tuple[list[Example], list[str]]:
    """The checked lines, and the problems of lines that do not follow the convention."""
    examples = []
    problems = []
    for path in DOCUMENTS:
        for language, first_line, body in _blocks(path):
            if language not in ("zen", "zen-unary"):
                continue
            context: dict[str, Any] = {}
            for offset, raw in enumerate(body.splitlines()):
                line = raw.strip()
                where = f"{path.relative_to(REPO)}:{first_line + offset}"
                if not line:
                    continue
                try:
                    context_line = _CONTEXT.match(line)
                    if context_line is not None:
                        context = json.loads(context_line.group("json"))
                        continue
                    unary = language == "zen-unary"
                    examples.append(_parse_example(line, where, unary, context))
                except ValueError as problem:  # json.JSONDecodeError is a ValueError
                    problems.append(f"{where}: {problem}")
    return examples, problems


def collect_console_commands() -> list[ConsoleCommand]:
    commands = []
    for path in DOCUMENTS:
        for language, first_line, body in _blocks(path):
            if language != "console":
                continue
            current: list[str] | None = None
            where = ""
            output: list[str] = []
            continuing = False
            for offset, line in enumerate(body.splitlines()):
                if continuing and current is not None:
                    current.append(line)
                    continuing = line.endswith("\\")
                    continue
                if line.startswith("$ "):
                    if current is not None:
                        commands.append(ConsoleCommand(where, "\n".join(current), tuple(output)))
                    current, output = [line[2:]], []
                    where = f"{path.relative_to(REPO)}:{first_line + offset}"
                    continuing = line.endswith("\\")
                else:
                    output.append(line)
            if current is not None:
                commands.append(ConsoleCommand(where, "\n".join(current), tuple(output)))
    return commands


EXAMPLES, MALFORMED_EXAMPLES = collect_examples()
CONSOLE_COMMANDS = collect_console_commands()


def _same(actual: Any, expected: Any) -> bool:
    """JSON equality that keeps true apart from 1 (Python's == does not)."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(actual) is type(expected) and actual == expected
    if isinstance(expected, dict):
        return (isinstance(actual, dict) and actual.keys() == expected.keys()
                and all(_same(actual[key], expected[key]) for key in expected))
    if isinstance(expected, list):
        return (isinstance(actual, list) and len(actual) == len(expected)
                and all(_same(a, e) for a, e in zip(actual, expected, strict=True)))
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return actual == expected
    return type(actual) is type(expected) and actual == expected


def test_documentation_has_examples() -> None:
    # Guards the extractor: a broken fence regex would otherwise pass by checking nothing.
    assert len(EXAMPLES) >= 100
    assert any(example.unary for example in EXAMPLES)
    assert any(example.error for example in EXAMPLES)
    assert len(CONSOLE_COMMANDS) >= 10


def test_examples_follow_the_convention() -> None:
    assert MALFORMED_EXAMPLES == []


@pytest.mark.parametrize("example", EXAMPLES, ids=str)
def test_example(example: Example) -> None:
    run = evaluate_unary if example.unary else evaluate
    if example.error is not None:
        with pytest.raises(FengkongError) as raised:
            run(example.expression, example.context)
        assert example.error in str(raised.value)
        return
    actual = run(example.expression, example.context)
    assert _same(actual, example.expected), f"{example}: got {json.dumps(actual)}"


@pytest.mark.parametrize(
    "example", [example for example in EXAMPLES if not example.zen_differs], ids=str
)
def test_example_agrees_with_zen_engine(example: Example) -> None:
    zen = pytest.importorskip("zen")
    run = zen.evaluate_unary_expression if example.unary else zen.evaluate_expression
    if example.error is not None:
        with pytest.raises(Exception):  # noqa: B017 - zen-engine raises a bare RuntimeError
            run(example.expression, example.context)
        return
    actual = run(example.expression, example.context)
    assert _same(actual, example.expected), f"{example}: zen-engine gives {json.dumps(actual)}"


def _matches(actual: list[str], expected: tuple[str, ...]) -> bool:
    if len(actual) != len(expected):
        return False
    for line, pattern in zip(actual, expected, strict=True):
        regex = ".*".join(re.escape(part) for part in pattern.split("..."))
        if not re.fullmatch(regex, line):
            return False
    return True


@pytest.mark.parametrize("console", CONSOLE_COMMANDS, ids=str)
def test_console_example(console: ConsoleCommand) -> None:
    scripts = Path(sys.executable).parent
    if not (scripts / "fengkong").exists():
        pytest.skip("the fengkong console script is not installed beside this interpreter")
    env = {**os.environ, "PATH": f"{scripts}{os.pathsep}{os.environ.get('PATH', '')}",
           "PYTHONUTF8": "1"}
    proc = subprocess.run(["bash", "-c", console.command], cwd=REPO, env=env, input="",
                          capture_output=True, encoding="utf-8", timeout=120)
    actual = (proc.stdout + proc.stderr).splitlines()
    assert _matches(actual, console.output), (
        f"{console}\n--- expected\n" + "\n".join(console.output)
        + "\n--- got\n" + "\n".join(actual)
    )


def _python_sessions() -> list[tuple[str, str]]:
    return [
        (f"{path.relative_to(REPO)}:{line}", body)
        for path in DOCUMENTS
        for language, line, body in _blocks(path)
        if language == "pycon"
    ]


PYTHON_SESSIONS = _python_sessions()


@pytest.mark.parametrize("where, session", PYTHON_SESSIONS, ids=[w for w, _ in PYTHON_SESSIONS])
def test_python_session(where: str, session: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    test = doctest.DocTestParser().get_doctest(session, {}, where, where, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    output: list[str] = []
    runner.run(test, out=output.append)
    assert runner.failures == 0, "".join(output)


def test_function_table_lists_every_builtin() -> None:
    from fengkong.expr.dates import METHODS
    from fengkong.expr.parser import CLOSURE_FUNCTIONS
    from fengkong.expr.registry import functions

    text = (REPO / "docs" / "expressions.md").read_text(encoding="utf-8")
    section = text[text.index("## Built-in functions"):]
    section = section[:section.index("\n## ", 1)]
    table = [line for line in section.splitlines() if line.startswith("| ")]
    names = {name for line in table for name in re.findall(r"`([\w.]+)`", line)}
    documented_functions = {name for name in names if not name.startswith(".")}
    documented_methods = {name[1:] for name in names if name.startswith(".")}
    assert documented_functions == set(functions()) | set(CLOSURE_FUNCTIONS)
    assert documented_methods == set(METHODS)
