"""The Python API: fengkong.load, Engine, loaders and the response shape."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from builders import INPUT, OUTPUT, chain, expression, graph, sub_decision, switch

import fengkong
from fengkong.errors import DecisionNotFoundError, GraphLoadError
from fengkong.graph.loaders import DirectoryLoader, MappingLoader, as_loader

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "graphs"
DTI = chain(expression("calc", [("dti", "debt / income")]))


def test_load_accepts_dict_json_text_and_path(tmp_path: Path) -> None:
    path = tmp_path / "dti.json"
    path.write_text(json.dumps(DTI))
    for source in (DTI, json.dumps(DTI), json.dumps(DTI).encode(), path, str(path)):
        decision = fengkong.load(source)
        assert decision.evaluate({"debt": 1, "income": 4})["result"] == {"dti": 0.25}
    assert fengkong.load(path).key == "dti.json"


def test_response_shape_like_zen() -> None:
    response = fengkong.load(DTI).evaluate({"debt": 1, "income": 4})
    assert list(response) == ["performance", "result"]
    assert response["performance"].endswith(("ns", "µs", "ms", "s"))
    traced = fengkong.load(DTI).evaluate({"debt": 1, "income": 4}, trace=True)
    assert list(traced) == ["performance", "result", "trace"]


def test_top_level_exports() -> None:
    assert fengkong.load is fengkong.graph.load
    assert fengkong.Engine is fengkong.graph.Engine
    assert fengkong.Decision is fengkong.graph.Decision
    assert fengkong.errors.FengkongError
    with pytest.raises(AttributeError):
        fengkong.no_such_thing  # noqa: B018


def test_sub_decisions_of_a_file_resolve_beside_it() -> None:
    decision = fengkong.load(EXAMPLES / "sub_decision.json")
    result = decision.evaluate({"applicant": {"age": 30, "monthlyIncome": 12000},
                                "coApplicants": []})["result"]
    assert result["mainScore"] == 645


def test_engine_with_a_directory_caches_compiled_decisions() -> None:
    engine = fengkong.Engine(EXAMPLES)
    first = engine.get_decision("scorecard.json")
    assert engine.get_decision("scorecard.json") is first
    assert engine.get_decision("scorecard") is not None  # ".json" is implied
    assert engine.evaluate("scorecard.json", {"age": 30, "monthlyIncome": 12000})["result"] == {
        "score": 645, "band": "B"}
    engine.forget("scorecard.json")
    assert engine.get_decision("scorecard.json") is not first


def test_engine_with_a_mapping_or_a_callable() -> None:
    documents = {"parent": chain(sub_decision("child", "child")), "child": DTI}
    for loader in (documents, documents.get):
        engine = fengkong.Engine(loader)
        assert engine.evaluate("parent", {"debt": 3, "income": 4})["result"] == {"dti": 0.75}


def test_unknown_key() -> None:
    with pytest.raises(DecisionNotFoundError, match="no decision 'nope'"):
        fengkong.Engine({}).get_decision("nope")


def test_load_errors_of_a_loaded_key_name_the_key() -> None:
    engine = fengkong.Engine({"broken": "{"})
    with pytest.raises(GraphLoadError, match="decision 'broken': decision is not valid JSON"):
        engine.get_decision("broken")


def test_directory_loader_stays_inside_its_root(tmp_path: Path) -> None:
    (tmp_path / "flows").mkdir()
    (tmp_path / "secret.json").write_text("{}")
    loader = DirectoryLoader(tmp_path / "flows")
    assert loader("../secret.json") is None
    assert loader("/etc/passwd") is None


def test_as_loader() -> None:
    assert as_loader(None)("x") is None
    assert isinstance(as_loader({"a": {}}), MappingLoader)
    assert isinstance(as_loader("."), DirectoryLoader)
    with pytest.raises(TypeError):
        as_loader(42)


def test_evaluation_does_not_modify_the_context() -> None:
    decision = fengkong.load(EXAMPLES / "option_pass_through.json")
    context: dict[str, Any] = {"monthlyIncome": 10000, "monthlyDebt": 2000,
                               "extra": {"keep": True}}
    snapshot = json.dumps(context, sort_keys=True)
    result = decision.evaluate(context)["result"]
    result["extra"]["keep"] = False  # the result is the caller's to change, too
    assert json.dumps(context, sort_keys=True) == snapshot


def test_switch_paths_are_planned_once_and_reused() -> None:
    document = graph([INPUT, switch("sw", [("hi", "x > 5"), ("lo", "")]),
                      expression("a", [("v", "'hi'")]), expression("b", [("v", "'lo'")]), OUTPUT],
                     [("in", "sw"), ("sw", "a", "hi"), ("sw", "b", "lo"), ("a", "out"),
                      ("b", "out")])
    decision = fengkong.load(document)
    assert [decision.evaluate({"x": x})["result"]["v"] for x in (9, 1, 9, 1)] == [
        "hi", "lo", "hi", "lo"]
    root = decision.graph.planner.root
    assert set(root.branches) == {("hi",), ("lo",)}


def test_concurrent_evaluations_agree() -> None:
    decision = fengkong.load(EXAMPLES / "credit_approval.json")
    cases = json.loads((EXAMPLES / "inputs" / "credit_approval.json").read_text())
    expected = [decision.evaluate(case)["result"] for case in cases]
    failures: list[str] = []

    def worker() -> None:
        for _ in range(50):
            for case, want in zip(cases, expected, strict=True):
                if decision.evaluate(case)["result"] != want:
                    failures.append(case["applicationId"])

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_import_fengkong_does_not_import_numpy() -> None:
    import subprocess
    import sys

    code = "import sys, fengkong; fengkong.load; print('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
