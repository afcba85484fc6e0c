"""Training end to end on real data: German credit through ``train`` and ``fengkong train``,
the artifact folder it writes, the deployed scorer, and the scorecard/model graph nodes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("optbinning")

import fengkong
from fengkong.datasets.public import Dataset, load_dataset
from fengkong.errors import FengkongError, GraphLoadError, ModelArtifactError
from fengkong.models.scorers import load_model
from fengkong.models.training import Split, TrainingReport, data_sha256, train

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def german() -> Dataset:
    return load_dataset("german_credit")


@pytest.fixture(scope="module")
def trained(german: Dataset, tmp_path_factory: pytest.TempPathFactory) -> TrainingReport:
    from fengkong.models.scorecard import ScorecardTrainer

    out = tmp_path_factory.mktemp("models") / "german"
    return train(ScorecardTrainer(), german.frame, german.target, out, dataset=german.name)


def test_the_artifact_folder_holds_everything_a_reviewer_needs(trained: TrainingReport,
                                                               german: Dataset) -> None:
    folder = trained.artifact.path
    names = {path.name for path in folder.iterdir()}
    assert {"metadata.json", "points.csv", "metrics.json", "model_card.md", "roc.png",
            "ks.png", "scores.png", "calibration.png"} <= names
    metadata = json.loads((folder / "metadata.json").read_text())
    assert metadata["kind"] == "scorecard" and metadata["name"] == "german"
    assert metadata["target"] == "creditability"
    training = metadata["training"]
    assert training["rows"] == 1000 and training["train_rows"] == 700
    assert training["test_rows"] == 300 and training["dataset"] == "german_credit"
    assert training["split"] == {"method": "stratified", "seed": 0, "test_size": 0.3}
    columns = [*german.features, german.target]
    assert training["data_sha256"] == data_sha256(german.frame.loc[:, columns])
    assert {"python", "numpy", "pandas", "optbinning", "scikit-learn"} <= set(
        metadata["versions"])
    assert metadata["calibration"]["method"] == "platt"
    assert metadata["calibration"]["a"] < 0  # more points, less risk
    features = [feature["name"] for feature in metadata["features"]]
    assert set(metadata["reasons"]) == set(features)
    assert metadata["reasons"]["duration_in_month"]["code"] == "R06"
    assert trained.unmapped_reasons == ()
    assert set(metadata["files"]) == names - {"metadata.json"}
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics == trained.metrics
    assert 0.72 < metrics["auc"] < 0.9 and metrics["rows"] == 300
    card = (folder / "model_card.md").read_text()
    assert "![" in card and "roc.png" in card and f"{metrics['auc']:.3f}" in card


def test_holdout_metrics_are_the_deployed_scorers(trained: TrainingReport,
                                                  german: Dataset) -> None:
    """Scoring the holdout one row at a time through the loaded artifact gives the AUC the
    metrics file records."""
    from sklearn.metrics import roc_auc_score

    scorer = load_model(trained.artifact.path)
    _, test_rows = Split().indices(german.frame, german.y)
    rows = german.X.iloc[test_rows].to_dict(orient="records")
    results = [scorer.score(_clean(row)) for row in rows]
    scores = np.array([result.score for result in results])
    assert roc_auc_score(german.y[test_rows], -scores) == pytest.approx(trained.metrics["auc"],
                                                                       abs=1e-12)
    pds = np.array([result.pd for result in results])
    assert np.all((pds > 0) & (pds < 1))
    assert np.corrcoef(scores, pds)[0, 1] < -0.9  # a higher score is a lower PD
    worst = results[int(np.argmin(scores))]
    assert worst.reasons and all(reason.impact > 0 for reason in worst.reasons)
    assert all(reason.code.startswith("R") and reason.zh and reason.en
               for reason in worst.reasons)


def test_a_changed_file_makes_the_model_refuse_to_load(trained: TrainingReport,
                                                       tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "german"
    shutil.copytree(trained.artifact.path, copy)
    load_model(copy)
    points = copy / "points.csv"
    points.write_text(points.read_text().replace("\n", "\n", 1) + "\n")
    with pytest.raises(ModelArtifactError, match=r"refuses to load: points\.csv does not match"):
        load_model(copy)


def test_splits() -> None:
    import pandas

    frame = pandas.DataFrame({"t": np.arange(100)[::-1], "bad": [1, 0, 0, 0] * 25})
    y = frame["bad"].to_numpy()
    train_rows, test_rows = Split(0.3, 7).indices(frame, y)
    assert len(test_rows) == 30 and y[test_rows].sum() == 8  # 25 bad * 0.3, rounded
    assert set(train_rows).isdisjoint(test_rows) and len(train_rows) + len(test_rows) == 100
    again = Split(0.3, 7).indices(frame, y)
    assert np.array_equal(again[1], test_rows)
    by_time_train, by_time_test = Split(0.3, time_column="t").indices(frame, y)
    assert frame["t"].to_numpy()[by_time_train].max() < frame["t"].to_numpy()[by_time_test].min()
    with pytest.raises(FengkongError, match="no time column 'when'"):
        Split(time_column="when").indices(frame, y)


def test_bad_training_data_is_named(german: Dataset, tmp_path: Path) -> None:
    from fengkong.models.scorecard import ScorecardTrainer

    frame = german.frame.copy()
    with pytest.raises(FengkongError, match="no target column 'default'") as caught:
        train(ScorecardTrainer(), frame, "default", tmp_path / "m")
    assert caught.value.field == "target"
    text = frame.assign(creditability=np.where(frame["creditability"] == 1, "bad", "good"))
    with pytest.raises(FengkongError, match=r"must be 1 .bad. or 0 .good.; it holds bad, good"):
        train(ScorecardTrainer(), text, "creditability", tmp_path / "m")
    with pytest.raises(FengkongError, match="no feature column 'salary'"):
        train(ScorecardTrainer(), frame, "creditability", tmp_path / "m",
              features=["duration_in_month", "salary"])


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    return {key: None if isinstance(value, float) and value != value else value
            for key, value in row.items()}


# -- command line ----------------------------------------------------------------------------


def _fengkong(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fengkong.cli", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=600)


def test_fengkong_train_and_score(tmp_path: Path, german: Dataset) -> None:
    out = tmp_path / "app"
    done = _fengkong("train", "scorecard", "--dataset", "german_credit", "--out", str(out),
                     "--seed", "3", "--set", "pdo=40")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["name"] == "app" and summary["kind"] == "scorecard"
    assert 0.7 < summary["auc"] < 0.9 and summary["unmapped_reasons"] == []
    assert "train: fitting the scorecard on 700 rows" in done.stderr
    metadata = json.loads((out / "metadata.json").read_text())
    assert metadata["parameters"]["pdo"] == 40
    assert metadata["training"]["split"]["seed"] == 3

    application = tmp_path / "applicant.json"
    application.write_text(json.dumps(_clean(german.X.iloc[1].to_dict())))
    scored = _fengkong("score", str(out), "--input", str(application), "--reasons", "2")
    assert scored.returncode == 0, scored.stderr
    result = json.loads(scored.stdout)
    assert set(result) == {"score", "pd", "reasons", "codes"} and len(result["reasons"]) <= 2

    application.write_text(json.dumps({"duration_in_month": "long"}))
    wrong = _fengkong("score", str(out), "--input", str(application))
    assert wrong.returncode == 2 and "duration_in_month" in wrong.stderr
    assert "Traceback" not in wrong.stderr


def test_fengkong_train_usage_errors(tmp_path: Path) -> None:
    for args, message in [
        (["--out", str(tmp_path / "m")], "give either --dataset NAME or --data FILE"),
        (["--dataset", "german_credit", "--out", str(tmp_path / "m"), "--set", "nope=1"],
         "the scorecard trainer has no parameter 'nope'"),
        (["--dataset", "give_me_credit", "--out", str(tmp_path / "m")],
         "unknown data set 'give_me_credit'"),
        (["--data", str(tmp_path / "none.csv"), "--target", "bad", "--out", str(tmp_path)],
         "no data file"),
    ]:
        done = _fengkong("train", "scorecard", *args)
        assert done.returncode == 2, (args, done.stderr)
        assert message in done.stderr and "Traceback" not in done.stderr


# -- graph nodes ---------------------------------------------------------------------------


def _flow(kind: str, config: dict[str, Any]) -> dict[str, Any]:
    return {
        "nodes": [
            {"id": "in", "type": "inputNode", "name": "Request", "content": {}},
            {"id": "score", "type": "customNode", "name": "Application score",
             "content": {"kind": kind, "config": config}},
            {"id": "decide", "type": "expressionNode", "name": "Decide", "content": {
                "expressions": [
                    {"id": "e1", "key": "outcome",
                     "value": "models.german.pd < 0.3 ? 'APPROVE' : 'REJECT'"},
                    {"id": "e2", "key": "reasons",
                     "value": "map(models.german.reasons, #.code)"},
                    {"id": "e3", "key": "score", "value": "models.german.score"}]}},
            {"id": "out", "type": "outputNode", "name": "Response", "content": {}},
        ],
        "edges": [
            {"id": "1", "sourceId": "in", "targetId": "score", "type": "edge"},
            {"id": "2", "sourceId": "score", "targetId": "decide", "type": "edge"},
            {"id": "3", "sourceId": "decide", "targetId": "out", "type": "edge"},
        ],
    }


def _save(folder: Path, flow: dict[str, Any]) -> Path:
    path = folder / "flow.json"
    path.write_text(json.dumps(flow))
    return path


def test_scorecard_node_in_a_flow(trained: TrainingReport, german: Dataset,
                                  tmp_path: Path) -> None:
    scorer = trained.scorer
    model = str(trained.artifact.path)
    mapped = _save(tmp_path, _flow("scorecard", {
        "model": model, "name": "german",
        "inputs": {"duration_in_month": "loan.months", "credit_amount": "loan.amount",
                   "age_in_years": "applicant.age", "purpose": "loan.purpose"}}))
    decision = fengkong.load(mapped)
    application = {"loan": {"months": 48, "amount": 12000, "purpose": "car (new)"},
                   "applicant": {"age": 23}}
    result = decision.evaluate(application)["result"]
    expected = scorer.score({"duration_in_month": 48, "credit_amount": 12000,
                             "age_in_years": 23, "purpose": "car (new)"})
    assert result["score"] == expected.score
    assert result["reasons"] == [reason.code for reason in expected.reasons]
    assert result["outcome"] == ("APPROVE" if expected.pd < 0.3 else "REJECT")

    # One expression giving an object of features: the whole application row.
    whole = _save(tmp_path, _flow("model", {"model": model, "name": "german",
                                             "inputs": "applicant", "reasons": 2}))
    row = _clean(german.X.iloc[0].to_dict())
    traced = fengkong.load(whole).evaluate({"applicant": {**row, "id": "A-1"}}, trace=True)
    assert traced["result"]["score"] == scorer.score(row).score
    assert len(traced["result"]["reasons"]) <= 2
    trace = next(step for step in traced["trace"].values() if step["name"] == "Application score")
    assert trace["output"]["models"]["german"]["model"].startswith("german@")


def test_model_node_errors(trained: TrainingReport, tmp_path: Path) -> None:
    model = str(trained.artifact.path)
    with pytest.raises(GraphLoadError, match=r"no feature 'duration_in_months' \(did you mean "
                                             r"'duration_in_month'"):
        fengkong.load(_save(tmp_path, _flow("scorecard", {
            "model": model, "inputs": {"duration_in_months": "loan.months"}})))
    with pytest.raises(GraphLoadError, match="no model artifact folder"):
        fengkong.load(_save(tmp_path, _flow("model", {"model": str(tmp_path / "nope"),
                                                       "inputs": "applicant"})))
    with pytest.raises(GraphLoadError, match="unknown config entry modle"):
        fengkong.load(_save(tmp_path, _flow("model", {"modle": model, "inputs": "a"})))
    decision = fengkong.load(_save(tmp_path, _flow("scorecard", {
        "model": model, "name": "german", "inputs": {"duration_in_month": "loan.months"}})))
    with pytest.raises(FengkongError) as caught:
        decision.evaluate({"loan": {"months": "forty"}})
    assert caught.value.field == "duration_in_month"
    assert caught.value.node_id == "score"
