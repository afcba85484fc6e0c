"""The indexed rule matcher against the plain definition: every cell of every rule in order.

Random tables mix every cell shape the index handles (intervals, comparisons, string and
boolean sets, null, ``and``-joined bounds) with general cells it must evaluate per candidate
(references to other fields, ``not in``, ``!=``); random applicants mix types, nulls and
missing fields. ``first`` and ``all`` must agree with cell-by-cell evaluation every time.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from fengkong.errors import ExpressionSyntaxError, FengkongError
from fengkong.expr import compile_expression, compile_unary
from fengkong.graph import table_index
from fengkong.graph.table_index import RuleMatcher

INPUTS = ["a.age", "a.income", "a.grade", "a.score", "a.flag"]


def random_cell(rng: random.Random, column: int) -> str:
    if rng.random() < 0.25:
        return ""
    low = rng.randint(18, 40)
    choices = [
        [f">= {low}", f"[{low}..{low + 20}]", f"< {low + 10}", f"(18..{low + 15})", "null",
         f"{low}, {low + 1}"],
        [f"> {rng.randint(0, 20) * 1000}", f"<= {rng.randint(1, 30) * 1000}", "1000",
         f">= {rng.random() * 10000:.2f}", f"> -{rng.randint(1, 5)}", "> a.age * 100"],
        ["'A'", "'A', 'B'", "'C','D'", "not in ['A']", "$ != 'A'", "null, 'E'"],
        [f"> {rng.randint(300, 800)}", f"> {rng.randint(300, 600)} and < {rng.randint(500, 900)}",
         "null", f"[{rng.randint(300, 500)}..{rng.randint(500, 900)}), 999", "> a.age * 10"],
        ["true", "false", "null", "true, null", "$ == a.flag2"],
    ][column]
    return rng.choice(choices)


def random_applicant(rng: random.Random) -> dict[str, Any]:
    applicant = {
        "age": rng.choice([rng.randint(16, 75), None, 30.5, "30"]),
        "income": rng.choice([rng.randint(0, 30000), rng.random() * 20000, 1000, 2000.0, None]),
        "grade": rng.choice(["A", "B", "C", "D", "E", None, 5]),
        "score": rng.choice([rng.randint(250, 950), None, 999, 500]),
        "flag": rng.choice([True, False, None, 1]),
        "flag2": rng.choice([True, False]),
    }
    for key in list(applicant):
        if rng.random() < 0.05:
            del applicant[key]
    return {"a": applicant}


def naive_matches(rules: list[list[str]], scope: dict[str, Any]) -> list[int]:
    values = []
    for field in INPUTS:
        try:
            values.append(compile_expression(field)(scope))
        except FengkongError:
            values.append(None)
    matched = []
    for index, rule in enumerate(rules):
        ok = True
        for column, cell in enumerate(rule):
            if not cell:
                continue
            try:
                if not compile_unary(cell)(scope, values[column]):
                    ok = False
                    break
            except FengkongError:
                ok = False
                break
        if ok:
            matched.append(index)
    return matched


@pytest.mark.parametrize("seed", range(6))
def test_index_agrees_with_cell_by_cell_evaluation(seed: int) -> None:
    rng = random.Random(seed)
    rules = [[random_cell(rng, column) for column in range(5)] for _ in range(rng.randint(1, 150))]
    matcher = RuleMatcher(INPUTS, rules)
    for _ in range(1500):
        applicant = random_applicant(rng)
        expected = naive_matches(rules, applicant)
        assert matcher.all(applicant) == expected, applicant
        assert matcher.first(applicant) == (expected[0] if expected else -1)


def test_column_over_memory_budget_is_evaluated_per_candidate(monkeypatch) -> None:
    monkeypatch.setattr(table_index, "MAX_INDEX_BITS", 10)
    rules = [[f"[{i}..{i + 5}]", "'A', 'B'"] for i in range(50)]
    matcher = RuleMatcher(["x", "y"], rules)
    assert matcher.columns[0].numeric is None
    assert matcher.all({"x": 7, "y": "B"}) == [2, 3, 4, 5, 6, 7]
    assert matcher.first({"x": 7, "y": "C"}) == -1


def test_expression_columns_and_empty_columns() -> None:
    # A column without a field holds boolean expressions; an all-empty column is skipped.
    matcher = RuleMatcher(["", "x", "y"], [["x > y", "", ""], ["", "> 1", ""], ["", "", ""]])
    assert len(matcher.columns) == 2
    assert matcher.first({"x": 5, "y": 1}) == 0
    assert matcher.first({"x": 0, "y": 1}) == 2
    assert matcher.all({"x": 2, "y": 3}) == [1, 2]


def test_unreadable_field_only_matches_empty_cells() -> None:
    matcher = RuleMatcher(["x + 1", "y"], [[">= 0", ""], ["", "'a'"], ["", ""]])
    assert matcher.all({"x": "text", "y": "a"}) == [1, 2]


def test_syntax_error_names_node_and_cell() -> None:
    with pytest.raises(ExpressionSyntaxError) as caught:
        RuleMatcher(["age"], [[">= 18"], ["[18.."]], node_id="t1", node_name="Age rules")
    error = caught.value
    assert error.node_id == "t1"
    assert error.expression == "[18.."
    assert "Age rules" in str(error)


def test_large_table_first_hit_near_the_end() -> None:
    rules = [[f"'p{i % 10}'", f"[{i}..{i + 1})"] for i in range(10_000)]
    matcher = RuleMatcher(["product", "score"], rules)
    assert matcher.first({"product": "p7", "score": 9997.5}) == 9997
    assert matcher.first({"product": "p8", "score": 9997.5}) == -1
