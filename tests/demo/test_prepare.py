"""prepare: what it trains and writes, that it is cached and deterministic, and that the
example project's own tests pass on what it wrote."""

from __future__ import annotations

import json

from fengkong.cli import main
from fengkong.demo import DemoSettings, PreparedDemo, prepare
from fengkong.demo.prepare import FRAUD, SCORECARD, example_project, flow_model_inputs
from fengkong.models import load_model
from fengkong.project.core import Project


def test_the_project_declares_over_a_thousand_features_and_compiles(prepared: PreparedDemo):
    project = Project.load(prepared.project)
    assert project.feature_set is not None and len(project.feature_set.features) >= 1000
    assert project.models() == [SCORECARD, FRAUD]
    project.check()  # every flow compiles against the trained models and the lists


def test_models_are_trained_on_what_the_flow_feeds_them(prepared: PreparedDemo):
    scorecard = load_model(prepared.project / "models" / SCORECARD)
    fraud = load_model(prepared.project / "models" / FRAUD)
    assert list(scorecard.features) == flow_model_inputs(prepared.project, SCORECARD)
    assert list(fraud.features) == flow_model_inputs(prepared.project, FRAUD)
    assert prepared.stages["scorecard"]["auc"] > 0.8  # credit_data holdout
    assert prepared.stages["fraud"]["auc"] > 0.9  # synthetic fraud rings, time split
    metadata = json.loads((prepared.project / "models" / FRAUD / "metadata.json").read_text())
    assert metadata["parameters"]["n_estimators"] == 500  # the trainer's default shape
    assert metadata["parameters"]["max_depth"] == 3


def test_the_stream_plants_list_hits_malformed_ids_and_holds_fraud_rings(
        prepared: PreparedDemo):
    stream = json.loads(prepared.stream.read_text(encoding="utf-8"))
    applications = stream["applications"]
    assert len(applications) == DemoSettings.small().stream_size
    assert sum(entry["truth"]["fraud"] for entry in applications) >= 5
    assert stream["summary"]["blacklisted"] >= 2 and stream["summary"]["malformed_id"] >= 2
    listed = (prepared.project / "lists" / "demo-blacklist.csv").read_text(encoding="utf-8")
    for entry in applications:
        key = entry["truth"]["blacklisted"]
        if key == "id_number":
            assert entry["body"]["applicant"]["idNumber"] in listed
    times = [entry["at"] for entry in applications]
    assert times == sorted(times)
    # Histories come before the application they lead up to, and carry no replayed one.
    assert all(event["at"] < times[-1] for event in stream["events"])


def test_a_second_run_reuses_every_stage_and_gives_the_same_stream(prepared: PreparedDemo):
    before = prepared.stream.read_bytes()
    again = prepare(prepared.workdir, settings=DemoSettings.small())
    assert sorted(again.reused) == ["fraud", "scorecard", "stream"]
    assert again.stream.read_bytes() == before


def test_a_changed_fraud_input_retrains_only_the_fraud_model(prepared: PreparedDemo, tmp_path):
    import shutil

    source = tmp_path / "project"
    shutil.copytree(example_project(), source)
    flow_path = source / "flows" / "application.json"
    flow = json.loads(flow_path.read_text(encoding="utf-8"))
    fraud = next(node for node in flow["nodes"] if node["id"] == "fraud")
    dropped = "id_number.repayment.count.lifetime"
    del fraud["content"]["config"]["inputs"][dropped]
    flow_path.write_text(json.dumps(flow), encoding="utf-8")
    work = tmp_path / "work"
    shutil.copytree(prepared.workdir, work)
    again = prepare(work, settings=DemoSettings.small(), project=source)
    assert sorted(again.reused) == ["scorecard", "stream"]
    assert dropped not in load_model(again.project / "models" / FRAUD).features


def test_the_example_projects_tests_pass(prepared: PreparedDemo, capsys):
    status = main(["test", str(prepared.project)])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "14 passed, 0 failed" in out
