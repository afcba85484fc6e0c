"""Project.load: fengkong.yaml checks, the content-hash version, decision events, states."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from fengkong.errors import EvaluationLimitError, FengkongError
from fengkong.features.durable import DurableFeatureState
from fengkong.features.spec import EventValidationError
from fengkong.features.state import MemoryFeatureState
from fengkong.project import Project, ProjectError, init_project
from fengkong.project.core import version_of

REQUEST = {"applicationId": "APP-1", "appliedAt": "2026-11-25T10:00:00+08:00",
           "applicant": {"idNumber": "110101199001011234", "phone": "13800000001", "age": 35,
                         "monthlyIncome": 15000},
           "device": {"id": "DEV-1"}, "loan": {"amount": 20000}}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return init_project(tmp_path / "loan", "consumer-loan").root


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def _load_error(root: Path) -> str:
    with pytest.raises(ProjectError) as raised:
        Project.load(root)
    return str(raised.value)


def test_the_scaffold_loads(root: Path) -> None:
    project = Project.load(root)
    assert project.name == "consumer-loan"
    assert project.root == root.resolve()
    assert project.flows == ("application",)
    assert project.default_flow == "application"
    assert project.feature_set is not None and len(project.feature_set.features) == 21
    assert project.reason_codes == root.resolve() / "reason_codes.yaml"
    assert len(project.version) == 64
    assert Project.load(root / "fengkong.yaml").version == project.version
    assert set(project.manifest()) == {
        "fengkong.yaml", "flows/application.json", "features/application.yaml",
        "products/cash-12m.yaml", "reason_codes.yaml", "lists/README.md", "models/README.md"}


@pytest.mark.parametrize("old, new, message", [
    ("defaultFlow:", "defaultflow:",
     "fengkong.yaml: unknown key 'defaultflow' (did you mean 'defaultFlow'?)"),
    ("defaultFlow: application", "defaultFlow: aplication",
     "fengkong.yaml: defaultFlow 'aplication' is not a flow of the project (did you mean "
     "'application'?)"),
    ("name: consumer-loan", "name: consumer loan", "fengkong.yaml: name must be"),
    ("reasonCodes: reason_codes.yaml", "reasonCodes: reasons.yaml",
     "fengkong.yaml: reasonCodes: no file 'reasons.yaml'"),
    ("reasonCodes: reason_codes.yaml", "reasonCodes: ../outside.yaml",
     "is outside the project folder"),
    ("type: application ", "type: applications ",
     "fengkong.yaml: events.application.type: unknown event type 'applications' (did you "
     "mean 'application'?)"),
    ("      phone: request.applicant.phone", "      mobile: request.applicant.phone",
     "fengkong.yaml: events.application.fields.mobile: 'application' events have no field "
     "'mobile'"),
    ("      applied_at: request.appliedAt\n", "",
     "fengkong.yaml: events.application.fields: no entry for the timestamp field "
     "'applied_at'"),
    ("      device_id: request.device.id\n", "",
     "no entry for the entity key field 'device_id'"),
    ("  application:                    # decisions", "  aplication:  # decisions",
     "fengkong.yaml: events.aplication: no flow 'aplication' in flows/ (did you mean "
     "'application'?)"),
    ("    type: application ", "    time: request.appliedAt\n    type: application ",
     "fengkong.yaml: events.application.time: unknown key 'time'"),
    ("amount: request.loan.amount", "amount: request.loan.amount +",
     "fengkong.yaml: events.application.fields.amount:"),
    ("name: consumer-loan", "name: [consumer-loan", "fengkong.yaml:3:12: not valid YAML"),
])
def test_config_mistakes_name_the_file_and_key(root: Path, old: str, new: str,
                                               message: str) -> None:
    _edit(root / "fengkong.yaml", old, new)
    assert message in _load_error(root)


def test_a_folder_without_fengkong_yaml(tmp_path: Path) -> None:
    assert "has no fengkong.yaml (create a project with 'fengkong init DIR')" in \
        _load_error(tmp_path)
    assert "no project folder" in _load_error(tmp_path / "missing")


def test_a_project_needs_flows(root: Path) -> None:
    (root / "flows" / "application.json").unlink()
    assert "flows/: the project has no flows" in _load_error(root)


def test_a_flow_that_is_not_json_is_named_with_its_line(root: Path) -> None:
    (root / "flows" / "broken.json").write_text('{"nodes": [\n  {"id": 1,,}\n]}')
    message = _load_error(root)
    assert message.startswith("flows/broken.json is not valid JSON")
    assert "line 2" in message


def test_a_flow_with_a_dangling_edge_is_named(root: Path) -> None:
    flow = json.loads((root / "flows" / "application.json").read_text())
    flow["edges"][0]["targetId"] = "nowhere"
    (root / "flows" / "application.json").write_text(json.dumps(flow))
    message = _load_error(root)
    assert message.startswith("flows/application.json: ") and "nowhere" in message


def test_check_compiles_every_flow_and_reports_the_flows_own_error(root: Path) -> None:
    Project.load(root).check()
    _edit(root / "flows" / "application.json", 'features[\\"phone.application.count.7d\\"]',
          'features[\\"phone.application.count.5d\\"]')
    project = Project.load(root)  # structure is fine; the feature name is checked on compile
    with pytest.raises(FengkongError) as raised:
        project.check()
    message = str(raised.value)
    assert message.startswith("flows/application.json does not load:")
    assert "'phone.application.count.5d', which the spec does not declare" in message
    assert "did you mean 'phone.application.count.7d'" in message


def test_a_feature_spec_mistake_is_named_by_its_file(root: Path) -> None:
    _edit(root / "features" / "application.yaml", "windows: [1d, 7d, 30d]",
          "windows: [1d, 7x, 30d]")
    assert _load_error(root).startswith("features/application.yaml:")


def test_a_bad_reason_code_file(root: Path) -> None:
    (root / "reason_codes.yaml").write_text("codes:\n  K01: just text\n")
    assert "fengkong.yaml: reasonCodes 'reason_codes.yaml'" in _load_error(root)


# -- the version -----------------------------------------------------------------------------

@pytest.mark.parametrize("path", [
    "fengkong.yaml", "flows/application.json", "features/application.yaml",
    "products/cash-12m.yaml", "reason_codes.yaml", "models/README.md"])
def test_changing_any_byte_of_a_deciding_file_changes_the_version(root: Path, path: str
                                                                  ) -> None:
    before = Project.load(root).version
    file = root / path
    file.write_bytes(file.read_bytes() + b" ")
    assert Project.load(root).version != before


def test_new_model_and_list_files_change_the_version(root: Path) -> None:
    versions = {Project.load(root).version}
    (root / "models" / "application").mkdir()
    (root / "models" / "application" / "metadata.json").write_text("{}")
    versions.add(Project.load(root).version)
    (root / "lists" / "blacklist.csv").write_text("id_number\n110101199001011234\n")
    versions.add(Project.load(root).version)
    (root / "lists" / "blacklist.csv").write_text("id_number\n110101199001011235\n")
    versions.add(Project.load(root).version)
    assert len(versions) == 4
    project = Project.load(root)
    assert project.models() == ["application"] and project.lists() == ["blacklist.csv"]


def test_reordering_keys_is_a_byte_change(root: Path) -> None:
    flow = root / "flows" / "application.json"
    document = json.loads(flow.read_text())
    flow.write_text(json.dumps(document))
    before = Project.load(root).version
    flow.write_text(json.dumps({"edges": document["edges"], "nodes": document["nodes"]}))
    assert Project.load(root).version != before


def test_renaming_a_file_changes_the_version(root: Path) -> None:
    before = Project.load(root).version
    (root / "products" / "cash-12m.yaml").rename(root / "products" / "cash-12m-v2.yaml")
    assert Project.load(root).version != before


def test_times_tests_docs_and_service_data_do_not_change_the_version(root: Path) -> None:
    before = Project.load(root).version
    for path in root.rglob("*"):
        os.utime(path, (1_000_000, 1_000_000))
    (root / "README.md").write_text("changed")
    (root / "tests" / "more.yaml").write_text("[]")
    (root / ".fengkong").mkdir()
    (root / ".fengkong" / "fengkong.db").write_bytes(b"data")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (root / "build").mkdir()
    (root / "build" / "out.json").write_text("{}")
    (root / "flows" / "__pycache__").mkdir()
    (root / "flows" / "__pycache__" / "x.pyc").write_bytes(b"\0")
    assert Project.load(root).version == before


def test_the_version_is_sha256sum_of_the_manifest(root: Path) -> None:
    project = Project.load(root)
    lines = "".join(f"{hashlib.sha256((root / path).read_bytes()).hexdigest()}  {path}\n"
                    for path in sorted(project.manifest()))
    assert project.version == hashlib.sha256(lines.encode()).hexdigest()
    assert version_of(project.manifest()) == project.version


# -- decision events and states ----------------------------------------------------------------

def test_a_decision_becomes_the_mapped_event(root: Path) -> None:
    project = Project.load(root)
    event = project.decision_event("application", REQUEST, {"decision": "APPROVE"})
    assert event == ("application", {
        "applied_at": 1795572000000, "id_number": "110101199001011234",
        "phone": "13800000001", "device_id": "DEV-1", "amount": 20000, "approved": True},
        1795572000000)
    rejected = project.decision_event("application", REQUEST, {"decision": "REJECT"})
    assert rejected is not None and rejected[1]["approved"] is False
    assert project.decision_event("other-flow", REQUEST, {}) is None


def test_the_next_application_sees_the_decided_one(root: Path) -> None:
    project = Project.load(root)
    state = project.feature_state()
    assert isinstance(state, MemoryFeatureState)
    engine = project.check({"features": state})
    for n in range(4):
        request = {**REQUEST, "applicationId": f"APP-{n}",
                   "appliedAt": f"2026-11-25T1{n}:00:00+08:00"}
        result = engine.evaluate("application", request)["result"]
        event = project.decision_event("application", request, result)
        assert event is not None
        state.ingest(*event)
    # Three earlier applications from the phone in a week: the fourth decision knocks out.
    assert [result["decision"], result["reasons"]] == ["REJECT", ["K04"]]


def test_a_key_the_decision_does_not_know_is_null(root: Path) -> None:
    _edit(root / "fengkong.yaml", "device_id: request.device.id", "device_id: null")
    event = Project.load(root).decision_event("application", REQUEST, {"decision": "APPROVE"})
    assert event is not None and event[1]["device_id"] is None


def test_a_mapped_value_of_the_wrong_type_names_the_mapping(root: Path) -> None:
    project = Project.load(root)
    request = {**REQUEST, "loan": {"amount": "a lot"}}
    with pytest.raises(EventValidationError) as raised:
        project.decision_event("application", request, {"decision": "APPROVE"})
    assert str(raised.value).startswith("fengkong.yaml events.application: field 'amount'")
    without_time = {key: value for key, value in REQUEST.items() if key != "appliedAt"}
    with pytest.raises(EventValidationError, match="no timestamp 'applied_at'"):
        project.decision_event("application", without_time, {"decision": "APPROVE"})


def test_a_mapping_expression_that_fails_names_its_field(root: Path) -> None:
    _edit(root / "fengkong.yaml", "amount: request.loan.amount",
          "amount: request.loan.amount * 2")
    project = Project.load(root)
    with pytest.raises(FengkongError) as raised:
        project.decision_event("application", {**REQUEST, "loan": {}}, {})
    assert "fengkong.yaml events.application.fields.amount:" in str(raised.value)
    assert not isinstance(raised.value, EvaluationLimitError)


def test_a_durable_feature_state_in_a_directory(root: Path, tmp_path: Path) -> None:
    project = Project.load(root)
    state = project.feature_state(tmp_path / "state")
    assert isinstance(state, DurableFeatureState)
    try:
        assert state.plan.names == project.feature_state().plan.names  # type: ignore[union-attr]
        assert (tmp_path / "state" / "events.wal").exists()
    finally:
        state.close()


def test_a_project_without_features(root: Path) -> None:
    for path in (root / "features").iterdir():
        path.unlink()
    assert "events needs the event types of a feature spec" in _load_error(root)
    text = (root / "fengkong.yaml").read_text()
    (root / "fengkong.yaml").write_text(text[:text.index("\n# After a decision")] + "\n")
    project = Project.load(root)
    assert project.feature_set is None and project.feature_state() is None
    assert project.decision_event("application", REQUEST, {}) is None
