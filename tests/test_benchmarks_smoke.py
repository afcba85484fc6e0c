"""The benchmark script keeps running: a quick pass at small sizes (the figures are not
checked here; benchmarks/RESULTS.md records real runs)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_engine_benchmark_runs_quick(tmp_path: Path) -> None:
    out = tmp_path / "engine.json"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_engine.py"), "--quick",
                    "--json", str(out)], check=True, capture_output=True, timeout=600)
    results = json.loads(out.read_text())
    assert results["table_100_rules"]["result_mismatches_first_2000"] == 0
    assert results["table_10000_rules_late_match"]["result_mismatches_first_2000"] == 0
    assert results["batch_credit_graph"]["batch_vs_single_mismatches_first_20000"] == 0


def test_service_benchmark_runs_quick(tmp_path: Path) -> None:
    """The HTTP load benchmark end to end at 200/s for 5 s: every answer is a recorded
    decision and the chain verifies (the throughput itself is recorded in RESULTS.md)."""
    out = tmp_path / "service.json"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_service.py"), "--quick",
                    "--json", str(out)], check=True, capture_output=True, timeout=600)
    results = json.loads(out.read_text())
    assert results["sent"] == 1000 and results["errors"] == 0
    assert results["all_answers_recorded"] and results["chain_ok"]
