"""The fraud nodes benchmark keeps running (a quick pass; figures are not checked here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_fraud_benchmark_runs_quick(tmp_path: Path) -> None:
    out = tmp_path / "fraud.json"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_fraud_nodes.py"),
                    "--quick", "--json", str(out)], check=True, capture_output=True, timeout=300)
    results = json.loads(out.read_text())
    assert results["list_entries"] == 10_000 and results["applications"] == 2_000
    # One application in twenty carries a listed key; those that carry a listed person's ID
    # number (a quarter of them) declare an age that does not match it.
    assert results["hit_share"] == 0.05
    assert results["identity_passed_share"] == 1 - 0.05 / 4
    assert results["flow_list_identity"]["samples"] == 2_000
