"""The ``fengkong`` command, run as a user runs it: in a subprocess.

Each user mistake must end with exactly one ``error: ...`` line on stderr that says what and
where, nothing on stdout, exit status 2, and never a traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
GRAPH = REPO / "examples" / "credit-approval.json"
INPUT = REPO / "examples" / "credit-approval.input.json"

def run_cli(
    *args: str, stdin: str | None = None, cwd: Path = REPO
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONUTF8": "1"}
    return subprocess.run(
        [sys.executable, "-m", "fengkong.cli", *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        encoding="utf-8",
        cwd=cwd,
        env=env,
        timeout=120,
    )


def assert_user_error(proc: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """One ``error:`` line naming every fragment; exit 2; nothing on stdout."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    line = lines[0]
    assert line.startswith("error: "), line
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    return line


def example_input(**changes: Any) -> dict[str, Any]:
    """The README's application, with ``section__field=value`` changes applied."""
    application: dict[str, Any] = json.loads(INPUT.read_text(encoding="utf-8"))
    for key, value in changes.items():
        section, field = key.split("__")
        application[section][field] = value
    return application


# -- eval --------------------------------------------------------------------------------------


def test_eval_example_approves_with_limit_and_apr() -> None:
    proc = run_cli("eval", str(GRAPH), "--input", str(INPUT))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    response = json.loads(proc.stdout)
    assert set(response) == {"result", "performance"}
    assert isinstance(response["performance"], str)
    assert response["result"] == {
        "applicationId": "APP-20240601-000123",
        "decision": "APPROVE",
        "riskGrade": "B",
        "incomeMultiple": 4,
        "limit": 72000,
        "apr": 0.144,
        "approvedAmount": 50000,
        "monthlyPayment": 4498.77,
        "reasons": [],
    }


def test_eval_reads_input_from_stdin_and_collects_knockout_reasons() -> None:
    application = example_input(bureau__overdueCount12m=4, lists__blacklisted=True)
    proc = run_cli("eval", "examples/credit-approval.json", "--input", "-",
                   stdin=json.dumps(application))
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)["result"]
    assert result["decision"] == "REJECT"
    assert result["reasons"] == ["KO03_OVERDUE", "KO04_BLACKLIST"]


def test_eval_grey_zone_score_goes_to_manual_review() -> None:
    application = example_input(bureau__score=600)
    proc = run_cli("eval", str(GRAPH), "-i", "-", stdin=json.dumps(application))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["result"]["decision"] == "REVIEW"


def test_eval_trace_lists_the_nodes_on_the_path() -> None:
    proc = run_cli("eval", str(GRAPH), "--input", str(INPUT), "--trace")
    assert proc.returncode == 0, proc.stderr
    trace = json.loads(proc.stdout)["trace"]
    assert {"application", "knockout-rules", "route", "pricing", "decision"} <= set(trace)
    assert "reject" not in trace


def test_eval_pretty_prints_indented_json() -> None:
    proc = run_cli("eval", str(GRAPH), "--input", str(INPUT), "--pretty")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("{\n  ")
    assert json.loads(proc.stdout)["result"]["decision"] == "APPROVE"


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"applicant__age": 17},
        {"applicant__monthlyIncome": 2500},
        {"bureau__monthlyDebt": 12000},
        {"bureau__score": 780},
        {"bureau__score": 600},
        {"loan__amount": 200000, "loan__termMonths": 24},
    ],
)
def test_eval_example_agrees_with_zen_engine(changes: dict[str, Any]) -> None:
    zen = pytest.importorskip("zen")
    application = example_input(**changes)
    proc = run_cli("eval", str(GRAPH), "--input", "-", stdin=json.dumps(application))
    assert proc.returncode == 0, proc.stderr
    ours = json.loads(proc.stdout)["result"]
    decision = zen.ZenEngine().create_decision(GRAPH.read_text(encoding="utf-8"))
    theirs = decision.evaluate(application)["result"]
    assert ours == theirs


# -- expr --------------------------------------------------------------------------------------


def test_expr_prints_the_json_result() -> None:
    proc = run_cli("expr", "1 + 2 * 3")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "7\n", "")


def test_expr_with_context() -> None:
    context = {"applicant": {"age": 32, "city": "杭州"}, "loans": [{"amount": 100}, {"amount": 250}]}
    proc = run_cli("expr", "{adult: applicant.age >= 18, city: applicant.city, "
                   "amounts: map(loans, #.amount)}", "--context", json.dumps(context))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"adult": True, "city": "杭州", "amounts": [100, 250]}
    assert "杭州" in proc.stdout  # UTF-8 text, not \\u escapes


def test_expr_context_from_file_and_stdin(tmp_path: Path) -> None:
    (tmp_path / "ctx.json").write_text('{"score": 712}', encoding="utf-8")
    from_file = run_cli("expr", "score >= 700", "--context", "@ctx.json", cwd=tmp_path)
    assert (from_file.returncode, from_file.stdout) == (0, "true\n"), from_file.stderr
    from_stdin = run_cli("expr", "score - 12", "--context", "-", stdin='{"score": 712}')
    assert (from_stdin.returncode, from_stdin.stdout) == (0, "700\n"), from_stdin.stderr


def test_expr_unary_test_against_value() -> None:
    inside = run_cli("expr", "--unary", "[18..60]", "--value", "35")
    outside = run_cli("expr", "-u", "< 18, > 60", "--context", '{"$": 35}')
    assert (inside.returncode, inside.stdout) == (0, "true\n"), inside.stderr
    assert (outside.returncode, outside.stdout) == (0, "false\n"), outside.stderr


def test_expr_division_by_zero_is_null_not_an_error() -> None:
    proc = run_cli("expr", "1 / 0")
    assert (proc.returncode, proc.stdout) == (0, "null\n")


def test_version() -> None:
    proc = run_cli("version")
    assert proc.returncode == 0
    assert proc.stdout.startswith("fengkong ")


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "fengkong"
    if not script.exists():
        pytest.skip("console script not installed next to this interpreter")
    proc = subprocess.run([str(script), "expr", "0.1 + 0.2"], capture_output=True,
                          encoding="utf-8", timeout=120)
    assert (proc.returncode, proc.stdout) == (0, "0.3\n"), proc.stderr


def test_help_lists_the_subcommands() -> None:
    proc = run_cli("--help")
    assert proc.returncode == 0
    for name in ("eval", "expr", "version"):
        assert name in proc.stdout


# -- user errors: one line on stderr, exit 2 ---------------------------------------------------


def test_bad_expression_reports_the_position() -> None:
    line = assert_user_error(run_cli("expr", "applicant.age >= "), "position 17")
    assert "applicant.age >= " in line


def test_expression_type_error_names_the_expression() -> None:
    assert_user_error(run_cli("expr", "1 + 'a'"), "'+'", "1 + 'a'")


def test_invalid_context_json_reports_line_and_column() -> None:
    assert_user_error(run_cli("expr", "x", "--context", '{"x": 1,\n "y": }'),
                      "invalid JSON in --context", "line 2, column 7")


def test_context_must_be_an_object() -> None:
    assert_user_error(run_cli("expr", "x", "--context", "[1, 2]"), "JSON object", "array")


def test_nan_is_not_json() -> None:
    assert_user_error(run_cli("expr", "x", "--context", '{"x": NaN}'), "NaN")


def test_missing_graph_file() -> None:
    assert_user_error(run_cli("eval", "no-such-graph.json", "--input", str(INPUT)),
                      "not found", "no-such-graph.json")


def test_missing_input_file() -> None:
    assert_user_error(run_cli("eval", str(GRAPH), "--input", "no-such-input.json"),
                      "input file not found", "no-such-input.json")


def test_missing_context_file() -> None:
    assert_user_error(run_cli("expr", "x", "--context", "@no-such.json"), "not found")


def test_malformed_graph_json_reports_line_and_column(tmp_path: Path) -> None:
    graph = tmp_path / "broken.json"
    graph.write_text('{\n  "nodes": [\n    {"id": "in",}\n  ]\n}\n', encoding="utf-8")
    assert_user_error(run_cli("eval", str(graph), "--input", str(INPUT)),
                      "invalid JSON", "broken.json", "line 3, column 17")


def test_malformed_input_json(tmp_path: Path) -> None:
    assert_user_error(run_cli("eval", str(GRAPH), "--input", "-", stdin='{"applicant": '),
                      "invalid JSON in input (stdin)", "line 1")


def test_input_must_be_an_object() -> None:
    assert_user_error(run_cli("eval", str(GRAPH), "--input", "-", stdin="[1]"),
                      "input must be a JSON object")


def test_graph_and_input_cannot_both_be_stdin() -> None:
    assert_user_error(run_cli("eval", "-", "--input", "-", stdin="{}"), "stdin")


def _graph_with(node: dict[str, Any]) -> dict[str, Any]:
    base = {"position": {"x": 0, "y": 0}}
    return {
        "nodes": [
            {"id": "in", "type": "inputNode", "name": "Input", "content": {}, **base},
            {**base, **node},
            {"id": "out", "type": "outputNode", "name": "Output", "content": {}, **base},
        ],
        "edges": [
            {"id": "e1", "sourceId": "in", "targetId": node["id"]},
            {"id": "e2", "sourceId": node["id"], "targetId": "out"},
        ],
    }


def test_unknown_node_type_names_the_node(tmp_path: Path) -> None:
    graph = tmp_path / "graph.json"
    graph.write_text(json.dumps(_graph_with(
        {"id": "mystery", "type": "quantumNode", "name": "Mystery", "content": {}})))
    assert_user_error(run_cli("eval", str(graph), "--input", "-", stdin="{}"),
                      "quantumNode", "mystery")


def test_bad_expression_in_graph_names_node_and_position(tmp_path: Path) -> None:
    graph = tmp_path / "graph.json"
    graph.write_text(json.dumps(_graph_with({
        "id": "limit-calc", "type": "expressionNode", "name": "Limit",
        "content": {"expressions": [{"id": "x1", "key": "limit", "value": "income * (3 +"}]},
    })))
    assert_user_error(run_cli("eval", str(graph), "--input", "-", stdin='{"income": 1}'),
                      "limit-calc", "income * (3 +", "position 13")


def test_argument_errors_are_one_line() -> None:
    assert_user_error(run_cli("eval", str(GRAPH)), "--input")
    assert_user_error(run_cli("no-such-command"), "no-such-command")
