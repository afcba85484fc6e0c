"""fengkong init, fengkong test and fengkong project info, end to end in subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest


def fengkong(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fengkong.cli", *map(str, args)], cwd=cwd,
                          capture_output=True, encoding="utf-8", timeout=120)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli") / "consumer-loan"
    started = time.perf_counter()
    done = fengkong("init", folder)
    assert time.perf_counter() - started < 10  # a generous bound: the figure is ~0.5 s
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"created strategy project 'consumer-loan' in {folder} "
                                  "(version ")
    return folder


def test_init_writes_a_project_whose_tests_pass(project: Path) -> None:
    assert (project / ".gitignore").read_text().startswith("# The decision service")
    assert sorted(path.name for path in (project / "tests").iterdir()) == ["application.yaml"]
    done = fengkong("test", project)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert len([line for line in lines if line.startswith("PASS  ")]) == 7
    assert lines[-1].startswith("7 passed, 0 failed in ")
    assert done.stderr == ""


def test_test_runs_in_the_current_folder_and_selects_with_k(project: Path) -> None:
    done = fengkong("test", "-k", "under 18", cwd=project)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == \
        "PASS  tests/application.yaml::an applicant under 18 is knocked out"
    assert done.stdout.splitlines()[-1].startswith("1 passed, 0 failed in ")


def test_a_failing_test_exits_1_with_details(project: Path, tmp_path: Path) -> None:
    failing = tmp_path / "failing"
    assert fengkong("init", failing).returncode == 0
    path = failing / "tests" / "application.yaml"
    path.write_text(path.read_text().replace("reasons: [K01]", "reasons: [K02]"))
    done = fengkong("test", failing)
    assert done.returncode == 1
    assert "FAIL  tests/application.yaml::an applicant under 18 is knocked out" in done.stdout
    assert 'reasons[0]: expected "K02", got "K01"' in done.stdout
    assert done.stdout.splitlines()[-1].startswith("6 passed, 1 failed in ")


def test_project_errors_exit_2_on_one_line(project: Path, tmp_path: Path) -> None:
    done = fengkong("test", tmp_path)
    assert done.returncode == 2
    assert done.stderr == (f"error: {tmp_path} is not a strategy project: it has no "
                           "fengkong.yaml (create a project with 'fengkong init DIR')\n")
    done = fengkong("test", project, "-k", "no such test")
    assert (done.returncode, done.stderr) == (2, "error: no test matches 'no such test' "
                                                 "(of 7)\n")


def test_init_refuses_a_folder_that_is_not_empty(project: Path) -> None:
    before = (project / "fengkong.yaml").read_bytes()
    done = fengkong("init", project)
    assert done.returncode == 2
    assert done.stderr == (f"error: {project} is not empty: fengkong init writes a new "
                           "project into a new or empty folder\n")
    assert (project / "fengkong.yaml").read_bytes() == before


def test_init_refuses_a_name_yaml_would_misread(tmp_path: Path) -> None:
    done = fengkong("init", tmp_path / "p", "--name", "true")
    assert done.returncode == 2 and "'true' is not a project name" in done.stderr
    assert not (tmp_path / "p").exists()


def test_project_info(project: Path) -> None:
    done = fengkong("project", "info", project)
    assert done.returncode == 0, done.stderr
    rows = dict(line.split(None, 1) for line in done.stdout.splitlines())
    assert rows["name"] == "consumer-loan"
    assert len(rows["version"]) == 64
    assert rows["flows"] == "application (default)"
    assert rows["features"] == "21"
    assert rows["events"] == "application -> application"
    assert (rows["models"], rows["lists"], rows["files"]) == ("none", "none", "7")
    as_json = json.loads(fengkong("project", "info", project, "--json").stdout)
    assert as_json["version"] == rows["version"]
    assert set(as_json["files"]) >= {"fengkong.yaml", "flows/application.json"}
