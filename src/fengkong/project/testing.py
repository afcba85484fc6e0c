"""Project tests: given this application (and this history), expect this outcome.

A test file is ``tests/*.yaml`` in a strategy project, a list of tests::

    - name: three applications from one phone in a week are declined
      flow: application                  # default: fengkong.yaml's defaultFlow
      history:                           # events fed into a fresh feature state first
        - application: {applied_at: "2026-11-20T10:00:00+08:00", phone: "13800000001"}
      given: {applicationId: A-1, ...}   # the request (or givenFile: cases/a.json)
      expect:                            # matched against the flow's result
        decision: REJECT
        reasons: {contains: [K04]}
      check:                             # ZEN unary tests on values of the result
        apr: "<= 0.24"

:func:`load_tests` reads and checks every file up front (a mistake is a
:class:`~fengkong.project.core.ProjectError` naming the file, line, test and key);
:func:`run_tests` compiles the project's flows once and runs each test against its own
empty feature state, so tests cannot see each other's history. The format is documented in
``docs/projects.md``.
"""

from __future__ import annotations

import difflib
import fnmatch
import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from fengkong.errors import FengkongError
from fengkong.expr import CompiledExpression, CompiledUnary, compile_expression, compile_unary
from fengkong.expr.values import to_json
from fengkong.graph.model import read_json
from fengkong.project.core import Project, ProjectError

if TYPE_CHECKING:
    import numpy as np

    from fengkong.features.kernels import FeaturePlan

__all__ = ["ProjectTest", "TestReport", "TestResult", "format_report", "load_tests",
           "run_tests"]

TESTS = "tests"
_TEST_KEYS = ("name", "description", "flow", "history", "given", "givenFile", "expect",
              "check")
_CONTAINS = "contains"
_Error = Callable[[str], ProjectError]  # makes an error naming the file, line and test


class _Loader(yaml.SafeLoader):
    """YAML as written: a timestamp stays the text it was (an application's ``appliedAt``
    is text in JSON, and the feature state reads ISO 8601 text)."""


_Loader.add_constructor("tag:yaml.org,2002:timestamp",
                        lambda loader, node: loader.construct_scalar(node))


@dataclass(frozen=True)
class ProjectTest:
    """One checked test case."""

    file: str  # relative to the project, tests/application.yaml
    line: int
    name: str
    flow: str
    given: dict[str, Any]
    history: tuple[tuple[str, dict[str, Any], int], ...]  # (event type, event, epoch ms)
    expect: dict[str, Any] | None
    checks: tuple[tuple[CompiledExpression, CompiledUnary], ...]

    @property
    def id(self) -> str:
        """``tests/application.yaml::name``: what ``-k`` matches and reports show."""
        return f"{self.file}::{self.name}"


@dataclass
class TestResult:
    """The outcome of one test: passed, or the mismatches (or the flow's error)."""

    test: ProjectTest
    failures: list[str]
    error: str | None
    seconds: float
    result: Any = None

    @property
    def passed(self) -> bool:
        return not self.failures and self.error is None


@dataclass
class TestReport:
    """Every test's result, in file and then written order."""

    results: list[TestResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> int:
        return sum(result.passed for result in self.results)

    @property
    def failed(self) -> int:
        return len(self.results) - self.passed

    @property
    def ok(self) -> bool:
        return self.failed == 0


# -- reading test files ----------------------------------------------------------------------

def load_tests(project: Project) -> list[ProjectTest]:
    """Every test of the project's ``tests/*.yaml`` files (in name order), checked."""
    folder = project.root / TESTS
    files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]) if folder.is_dir() else []
    tests: list[ProjectTest] = []
    for path in files:
        tests += _read_file(project, path)
    return tests


def _read_file(project: Project, path: Path) -> list[ProjectTest]:
    relative = path.relative_to(project.root).as_posix()
    try:
        loader = _Loader(path.read_text(encoding="utf-8"))
        try:
            root = loader.get_single_node()
            document = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except (OSError, UnicodeDecodeError) as error:
        raise ProjectError(f"cannot read {relative}: {getattr(error, 'strerror', None) or error}"
                           ) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        at = f":{mark.line + 1}" if mark else ""
        raise ProjectError(f"{relative}{at}: not valid YAML: {error.problem or error}") from None
    except yaml.YAMLError as error:
        raise ProjectError(f"{relative}: not valid YAML: {error}") from None
    if document is None:
        return []
    if not isinstance(document, list) or root is None:
        raise ProjectError(f"{relative}: a test file is a list of tests (- name: ...)")
    tests = []
    names: set[str] = set()
    for item, node in zip(document, root.value, strict=True):
        test = _read_test(project, path, relative, node.start_mark.line + 1, item)
        if test.name in names:
            raise ProjectError(f"{relative}:{test.line}: a second test named {test.name!r}")
        names.add(test.name)
        tests.append(test)
    return tests


def _read_test(project: Project, path: Path, relative: str, line: int, item: Any
               ) -> ProjectTest:
    name = item.get("name") if isinstance(item, dict) else None

    def error(message: str) -> ProjectError:
        which = f"test {name!r}" if isinstance(name, str) else "a test"
        return ProjectError(f"{relative}:{line}: {which}: {message}")

    if not isinstance(item, dict):
        raise error("must be a mapping with name, given and expect")
    for key in item:
        if key not in _TEST_KEYS:
            close = difflib.get_close_matches(str(key), _TEST_KEYS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise error(f"unknown key {key!r}{hint} (keys: {', '.join(_TEST_KEYS)})")
    if not isinstance(name, str) or not name.strip():
        raise error("needs a name (text)")
    flow = item.get("flow", project.default_flow)
    if flow is None:
        raise error("no flow: give the test a 'flow', or fengkong.yaml a defaultFlow")
    if flow not in project.flows:
        raise error(f"flow: no flow {flow!r} (flows: {', '.join(project.flows)})")
    if item.get("expect") is None and not item.get("check"):
        raise error("needs 'expect' or 'check': a test must be able to fail")
    if "expect" in item:
        _mapping(item["expect"], "expect", error)
    checks = []
    for source, test in _mapping(item.get("check", {}), "check", error).items():
        if not isinstance(test, str | int | float | bool):
            raise error(f"check.{source}: a unary test (text such as \"<= 0.24\"), not "
                        f"{type(test).__name__}")
        text = json.dumps(test) if not isinstance(test, str) else test
        try:
            checks.append((compile_expression(str(source)), compile_unary(text)))
        except FengkongError as problem:
            raise error(f"check.{source}: {problem}") from None
    return ProjectTest(relative, line, name, flow, _given(path, item, error),
                       _history(project, item.get("history"), error), item.get("expect"),
                       tuple(checks))


def _mapping(value: Any, key: str, error: _Error) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise error(f"{key} must be a mapping")
    return value


def _given(path: Path, item: dict[str, Any], error: _Error) -> dict[str, Any]:
    if ("given" in item) == ("givenFile" in item):
        raise error("needs the request as 'given' (a mapping) or 'givenFile' (a JSON file), "
                    "one of them")
    if "given" in item:
        return _mapping(item["given"], "given", error)
    source = item["givenFile"]
    if not isinstance(source, str):
        raise error("givenFile must be a path relative to the test file")
    try:
        document = read_json((path.parent / source).read_bytes(), origin=source)
    except OSError as problem:
        raise error(f"givenFile: cannot read {source}: {problem.strerror}") from None
    except FengkongError as problem:
        raise error(f"givenFile: {problem.message}") from None
    return _mapping(document, f"givenFile {source}", error)


def _history(project: Project, value: Any, error: _Error
             ) -> tuple[tuple[str, dict[str, Any], int], ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise error("history must be a list of events (- application: {...})")
    if project.feature_set is None:
        raise error("history needs the project's features (features/*.yaml)")
    events = []
    for index, entry in enumerate(value):
        if not (isinstance(entry, dict) and len(entry) == 1):
            raise error(f"history[{index}] must be one event type and its fields "
                        "(- application: {applied_at: ..., phone: ...})")
        [(event_type, fields)] = entry.items()
        try:
            event, timestamp = project.feature_set.validate_event(event_type, fields)
        except FengkongError as problem:
            raise error(f"history[{index}]: {problem.message}") from None
        events.append((event_type, event, int(timestamp)))
    return tuple(events)


# -- running ---------------------------------------------------------------------------------

class _StatePerTest:
    """The feature store of a test run: flows compile once against it, and each test gets
    an empty state behind it, so no test sees another's history."""

    def __init__(self, plan: FeaturePlan) -> None:
        from fengkong.features.state import MemoryFeatureState  # numba: only when tests run

        self.plan = plan
        self.empty = lambda: MemoryFeatureState(plan)
        self.state = self.empty()

    def reset(self) -> None:
        self.state = self.empty()

    def compute(self, keys: Mapping[str, Any], as_of: int, plan: FeaturePlan | None = None
                ) -> np.ndarray:
        return self.state.compute(keys, as_of, plan)


def select_tests(tests: Iterable[ProjectTest], pattern: str | None) -> list[ProjectTest]:
    """The tests whose id (``file::name``) contains ``pattern`` (case-insensitive), or
    matches it as a glob (``*young*``); all tests without a pattern."""
    if not pattern:
        return list(tests)
    lowered = pattern.lower()
    return [test for test in tests
            if lowered in test.id.lower() or fnmatch.fnmatch(test.id.lower(), lowered)]


def run_tests(project: Project, select: str | None = None) -> TestReport:
    """Run the project's tests (those matching ``select``, see :func:`select_tests`).

    A malformed test file, a flow that does not compile or a pattern that selects nothing
    is a :class:`ProjectError`; a test whose flow raises on its request fails with the
    error."""
    started = time.perf_counter()
    tests = load_tests(project)
    if not tests:
        raise ProjectError(f"{TESTS}/: the project has no tests ({TESTS}/*.yaml)")
    chosen = select_tests(tests, select)
    if not chosen:
        raise ProjectError(f"no test matches {select!r} (of {len(tests)})")
    store = _StatePerTest(project.feature_plan) if project.feature_plan is not None else None
    engine = project.check({"features": store} if store is not None else {})
    report = TestReport()
    for test in chosen:
        test_started = time.perf_counter()
        failures: list[str] = []
        error = result = None
        try:
            if store is not None:
                store.reset()
                for event_type, event, timestamp in test.history:
                    store.state.ingest(event_type, event, timestamp)
            result = to_json(engine.evaluate(test.flow, test.given)["result"])
        except FengkongError as problem:
            error = str(problem)
        else:
            failures = _compare(test.expect, result, "") if test.expect is not None else []
            failures += _checked(test.checks, result)
        report.results.append(TestResult(test, failures, error,
                                         time.perf_counter() - test_started, result))
    report.seconds = time.perf_counter() - started
    return report


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _same(expected: Any, actual: Any) -> bool:
    """JSON equality: true is not 1, 1 is 1.0."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return expected == actual
    return type(expected) is type(actual) and expected == actual


def _compare(expected: Any, actual: Any, path: str) -> list[str]:
    """The mismatches of ``actual`` against ``expected``: a mapping matches the keys it
    names (others may be present), a list matches element by element, and against a list
    ``{contains: [...]}`` matches when every item given is in it."""
    where = path or "result"
    if isinstance(expected, dict) and isinstance(actual, list) and set(expected) == {_CONTAINS}:
        wanted = expected[_CONTAINS]
        wanted = wanted if isinstance(wanted, list) else [wanted]
        absent = [item for item in wanted
                  if not any(not _compare(item, value, "") for value in actual)]
        if absent:
            return [f"{where}: expected a list containing {_show(absent)}, got {_show(actual)}"]
        return []
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object with {_show(expected)}, got {_show(actual)}"]
        failures = []
        for key, value in expected.items():
            inner = f"{path}.{key}" if path else str(key)
            if key not in actual:
                failures.append(f"{inner}: expected {_show(value)}, but the result has no "
                                f"{key!r}")
            else:
                failures += _compare(value, actual[key], inner)
        return failures
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{where}: expected {_show(expected)}, got {_show(actual)}"]
        failures = []
        for index, (item, value) in enumerate(zip(expected, actual, strict=True)):
            failures += _compare(item, value, f"{where}[{index}]")
        return failures
    if not _same(expected, actual):
        return [f"{where}: expected {_show(expected)}, got {_show(actual)}"]
    return []


def _checked(checks: Iterable[tuple[CompiledExpression, CompiledUnary]], result: Any
             ) -> list[str]:
    failures = []
    scope = result if isinstance(result, dict) else {}
    for expression, test in checks:
        try:
            value = to_json(expression(scope))
            passed = test(scope, value)
        except FengkongError as problem:
            failures.append(f"{expression.source}: check {test.source!r} failed: {problem}")
            continue
        if not passed:
            failures.append(f"{expression.source}: expected {test.source}, got {_show(value)}")
    return failures


# -- the report ------------------------------------------------------------------------------

def format_report(report: TestReport) -> str:
    """One line per test, the failures in detail, and a summary line."""
    lines = [f"{'PASS' if result.passed else 'FAIL'}  {result.test.id}"
             for result in report.results]
    failed = [result for result in report.results if not result.passed]
    for result in failed:
        lines += ["", f"FAIL {result.test.id} ({result.test.file}:{result.test.line}, flow "
                      f"{result.test.flow})"]
        if result.error is not None:
            lines.append(f"  the flow failed: {result.error}")
        lines += [f"  {failure}" for failure in result.failures]
        if result.result is not None:
            lines.append(f"  result: {_show(result.result)}")
    lines += ["", f"{report.passed} passed, {report.failed} failed in {report.seconds:.2f}s"]
    return "\n".join(lines)
