"""The project test runner: tests/*.yaml read, run in isolation, failures explained."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fengkong.project import Project, ProjectError, format_report, init_project, run_tests
from fengkong.project.testing import load_tests

GIVEN = """
  given: &given
    applicationId: APP-1
    appliedAt: 2026-11-25T10:00:00+08:00
    applicant: {idNumber: "110101199001011234", phone: "13800000001", age: 35,
                monthlyIncome: 15000}
    device: {id: DEV-1}
    loan: {amount: 20000}
"""
PHONE_HISTORY = """
  history:
    - application: {applied_at: 2026-11-20T09:00:00+08:00, phone: "13800000001",
                    id_number: A, device_id: D-A}
    - application: {applied_at: "2026-11-21T09:00:00+08:00", phone: "13800000001",
                    id_number: B, device_id: D-B}
    - application: {applied_at: 1795226400000, phone: "13800000001", id_number: C,
                    device_id: null}
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return init_project(tmp_path / "loan", "loan").root


def _write(root: Path, text: str, name: str = "mine.yaml") -> Project:
    (root / "tests" / name).write_text(text, encoding="utf-8")
    return Project.load(root)


def _only(root: Path, text: str) -> Project:
    (root / "tests" / "application.yaml").unlink()
    return _write(root, text)


def test_the_scaffolds_tests_pass(root: Path) -> None:
    report = run_tests(Project.load(root))
    assert report.ok and report.passed == 7 and report.failed == 0
    text = format_report(report)
    assert text.splitlines()[0] == ("PASS  tests/application.yaml::a salaried applicant is "
                                    "approved for what they asked")
    assert text.splitlines()[-1].startswith("7 passed, 0 failed in ")


def test_each_test_starts_from_an_empty_feature_state(root: Path) -> None:
    project = _only(root, "- name: velocity" + PHONE_HISTORY + GIVEN + """
  expect: {decision: REJECT, reasons: [K04]}
- name: same application, no history
  given: *given
  expect: {decision: APPROVE}
- name: velocity again
""" + PHONE_HISTORY + "  given: *given\n  expect: {decision: REJECT}\n")
    report = run_tests(project)
    assert [result.passed for result in report.results] == [True, True, True]


def test_failures_show_the_path_expected_and_actual(root: Path) -> None:
    project = _only(root, "- name: wrong on purpose" + GIVEN + """
  expect:
    decision: REJECT
    limit: 20000.0
    reasons: {contains: [K04, R03]}
    pricing: {outcome: offer}
  check:
    apr: "> 0.24"
    pd: "0.02"
    "len(reasons)": "0"
""")
    report = run_tests(project)
    assert not report.ok and report.failed == 1
    [result] = report.results
    assert result.failures == [
        'decision: expected "REJECT", got "APPROVE"',
        'reasons: expected a list containing ["K04", "R03"], got []',
        "pricing: expected {\"outcome\": \"offer\"}, but the result has no 'pricing'",
        "apr: expected > 0.24, got 0.11482194",
    ]
    text = format_report(report)
    assert "FAIL  tests/mine.yaml::wrong on purpose" in text
    assert "FAIL tests/mine.yaml::wrong on purpose (tests/mine.yaml:1, flow application)" in text
    assert '  result: {"applicationId": "APP-1", "decision": "APPROVE"' in text
    assert text.splitlines()[-1].startswith("0 passed, 1 failed in ")


def test_lists_match_exactly_and_types_strictly(root: Path) -> None:
    project = _only(root, "- name: t" + GIVEN + """
  expect: {reasons: [K01], decision: true, applicationId: APP-1}
""")
    [result] = run_tests(project).results
    assert result.failures == ['reasons: expected ["K01"], got []',
                               'decision: expected true, got "APPROVE"']


def test_a_flow_error_fails_the_test_with_the_error(root: Path) -> None:
    project = _only(root, "- name: bad phone" + GIVEN.replace('"13800000001"', '"12345"') +
                    "  expect: {decision: APPROVE}\n")
    [result] = run_tests(project).results
    assert not result.passed and result.error is not None
    assert "applicant.phone" in result.error
    assert "the flow failed: " in format_report(run_tests(project))


def test_given_file_is_read_beside_the_test_file(root: Path) -> None:
    (root / "tests" / "cases").mkdir()
    request = {"applicationId": "APP-2", "appliedAt": "2026-11-25T10:00:00+08:00",
               "applicant": {"idNumber": "X", "phone": "13800000009", "age": 17,
                             "monthlyIncome": 9000}, "loan": {"amount": 5000}}
    (root / "tests" / "cases" / "minor.json").write_text(json.dumps(request))
    project = _only(root, "- name: minor\n  givenFile: cases/minor.json\n"
                          "  expect: {decision: REJECT, reasons: [K01]}\n")
    assert run_tests(project).ok


def test_select_by_substring_or_glob(root: Path) -> None:
    project = Project.load(root)
    assert [r.test.name for r in run_tests(project, "KNOCKED OUT").results] == [
        "an applicant under 18 is knocked out", "an income below 3,000 a month is knocked out",
        "a fourth application from one phone within a week is knocked out"]
    assert len(run_tests(project, "*under 18*").results) == 1
    with pytest.raises(ProjectError, match="no test matches 'nothing' \\(of 7\\)"):
        run_tests(project, "nothing")


def test_a_project_without_tests_is_an_error(root: Path) -> None:
    (root / "tests" / "application.yaml").unlink()
    with pytest.raises(ProjectError, match="the project has no tests"):
        run_tests(Project.load(root))


@pytest.mark.parametrize("text, message", [
    ("name: not a list\n", "tests/mine.yaml: a test file is a list of tests"),
    ("- name: t\n  given: {}\n  expct: {decision: APPROVE}\n",
     "tests/mine.yaml:1: test 't': unknown key 'expct' (did you mean 'expect'?)"),
    ("- given: {}\n  expect: {a: 1}\n", "tests/mine.yaml:1: a test: needs a name"),
    ("- name: t\n  expect: {a: 1}\n", "test 't': needs the request as 'given'"),
    ("- name: t\n  given: {}\n  givenFile: x.json\n  expect: {a: 1}\n",
     "test 't': needs the request as 'given'"),
    ("- name: t\n  givenFile: missing.json\n  expect: {a: 1}\n",
     "test 't': givenFile: cannot read missing.json"),
    ("- name: t\n  given: {}\n", "test 't': needs 'expect' or 'check'"),
    ("- name: t\n  given: {}\n  expect: APPROVE\n", "test 't': expect must be a mapping"),
    ("- name: t\n  given: {}\n  flow: aplication\n  expect: {a: 1}\n",
     "test 't': flow: no flow 'aplication'"),
    ("- name: t\n  given: {}\n  check: {apr: '<= ['}\n", "test 't': check.apr: "),
    ("- name: t\n  given: {}\n  expect: {a: 1}\n- name: t\n  given: {}\n  expect: {a: 1}\n",
     "tests/mine.yaml:4: a second test named 't'"),
    ("- name: t\n  given: {}\n  expect: {a: 1}\n  history:\n    - login: {x: 1}\n",
     "test 't': history[0]: unknown event type 'login'"),
    ("- name: t\n  given: {}\n  expect: {a: 1}\n  history:\n"
     "    - application: {applied_at: 2026-11-20T09:00:00, phone: '1', id_number: A,"
     " device_id: D}\n",
     "test 't': history[0]: timestamp 'applied_at' of a 'application' event must be"),
    ("- name: t\n  given: {}\n  expect: {a: 1}\n  history:\n"
     "    - application: {applied_at: 1, phone: 1, id_number: A, device_id: D}\n",
     "test 't': history[0]: field 'phone' of a 'application' event must be a string"),
    ("- name: t\n  given: {}\n  expect: {a: 1}\n  history: [{application: {}, login: {}}]\n",
     "test 't': history[0] must be one event type and its fields"),
    ("- name: [unclosed\n", "tests/mine.yaml:2: not valid YAML"),
])
def test_a_malformed_test_file_names_file_test_and_key(root: Path, text: str,
                                                       message: str) -> None:
    project = _write(root, text)
    with pytest.raises(ProjectError) as raised:
        load_tests(project)
    assert message in str(raised.value)


def test_a_flow_that_does_not_compile_stops_the_run(root: Path) -> None:
    path = root / "flows" / "application.json"
    path.write_text(path.read_text().replace("risk.pd\",", "risk.pd +\","))
    with pytest.raises(ProjectError) as raised:
        run_tests(Project.load(root))
    assert str(raised.value).startswith("flows/application.json does not load:")
