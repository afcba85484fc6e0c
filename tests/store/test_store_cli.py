"""``fengkong audit verify``."""

from __future__ import annotations

import json

import pytest
from storekit import Raw, record

from fengkong.cli import main
from fengkong.store import open_store


def test_audit_verify_an_intact_then_a_tampered_log(url: str, raw: Raw,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    with open_store(url) as store:
        last = [store.record_decision(record(n)) for n in range(1, 4)][-1]
    assert main(["audit", "verify", "--db", url]) == 0
    out = capsys.readouterr().out
    assert out == f"intact: 3 entries checked in 1 chain; head default#3 {last.hash}\n"

    raw.drop_guards()
    raw.execute("UPDATE decision_log SET outcome = 'REJECT' WHERE seq = 2")
    assert main(["audit", "verify", "--db", url]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("NOT intact (1 problem): 3 entries checked")
    assert lines[1].startswith("  default#2 altered: the content of decision ")

    assert main(["audit", "verify", "--db", url, "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["problems"][0]["seq"] == 2


def test_audit_verify_without_a_database_is_a_one_line_error(
        tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "verify", "--db", str(tmp_path / "missing.db")]) == 2
    assert capsys.readouterr().err == f"error: no database at {tmp_path / 'missing.db'}\n"
    assert not (tmp_path / "missing.db").exists()
