"""``fengkong features backfill``: files in, Parquet out, a JSON summary on stdout, progress
on stderr, and every mistake one ``error:`` line with exit status 2."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from fengkong.cli import ProgressBar, main

SPEC = """\
version: 1
keys: [phone]
events:
  login:
    timestamp: logged_in_at
    fields: {phone: string, success: bool}
templates:
  - keys: [phone]
    events: [login]
    filters: {all: null, failed: "not success"}
    aggregations: [count, time_since_last]
    windows: [1h, lifetime]
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "credit.yaml").write_text(SPEC)
    (tmp_path / "login.csv").write_text(
        "logged_in_at,phone,success\n"
        "2026-05-01T09:00:00+08:00,138,true\n"
        "2026-05-01T09:30:00+08:00,138,false\n")
    (tmp_path / "applications.csv").write_text(
        "application_id,as_of,phone\n"
        "1,2026-05-01T09:45:00+08:00,138\n"
        "2,2026-05-01T09:00:00+08:00,139\n")
    return tmp_path


def run(project: Path, *extra: str) -> list[str]:
    return ["features", "backfill", str(project / "credit.yaml"),
            "--events", f"login={project / 'login.csv'}",
            "--applications", str(project / "applications.csv"),
            "--out", str(project / "out.parquet"), *extra]


def test_backfill_writes_parquet_and_a_summary(project: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(run(project, "--features", "*.count.*", "--workers", "1")) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["applications"] == 2 and summary["features"] == 4
    table = pq.read_table(project / "out.parquet")
    assert table.column_names == ["application_id", "as_of", "phone.login.count.1h",
                                  "phone.login.count.lifetime", "phone.login.failed.count.1h",
                                  "phone.login.failed.count.lifetime"]
    rows = table.to_pylist()
    assert [row["application_id"] for row in rows] == ["2", "1"]  # in time order
    assert rows[1]["phone.login.count.1h"] == 2
    assert rows[1]["phone.login.failed.count.lifetime"] == 1
    assert rows[0]["phone.login.count.lifetime"] == 0


@pytest.mark.parametrize(("extra", "message"), [
    (["--events", "login"], "--events takes TYPE=FILE"),
    (["--features", "*.logins.*"], "no feature matches '*.logins.*'"),
    (["--id-column", "id"], "applications.csv has no column 'id'"),
    (["--workers", "0"], "--workers must be at least 1"),
    (["--json"], "--json belongs to 'fengkong features list'"),
])
def test_mistakes_are_one_line_and_exit_2(project: Path, capsys: pytest.CaptureFixture[str],
                                          extra: list[str], message: str) -> None:
    assert main(run(project, *extra)) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and message in error and error.count("\n") == 1


def test_backfill_options_do_not_belong_to_list(project: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["features", "list", str(project), "--out", "x.parquet"]) == 2
    assert "--out belongs to 'fengkong features backfill'" in capsys.readouterr().err
    assert main(["features", "backfill", str(project / "credit.yaml")]) == 2
    assert "needs --events" in capsys.readouterr().err


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_a_bar_on_a_terminal_and_lines_in_a_log() -> None:
    terminal = Terminal()
    bar = ProgressBar("backfill", "applications", terminal)
    bar(0, 4)
    bar(4, 4)
    assert terminal.getvalue().endswith("\n")
    assert "[##############################] backfill 100% 4/4 applications" in \
        terminal.getvalue()
    log = io.StringIO()
    quiet = ProgressBar("backfill", "applications", log, interval=0.0)
    quiet(1, 4)
    assert log.getvalue().startswith("backfill  25% 1/4 applications") and "\r" not in \
        log.getvalue()
