"""The pricing benchmark keeps running (a quick pass; figures are not checked here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_pricing_benchmark_runs_quick(tmp_path: Path) -> None:
    out = tmp_path / "pricing.json"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_pricing.py"), "--quick",
                    "--json", str(out)], check=True, capture_output=True, timeout=300)
    results = json.loads(out.read_text())
    assert results["applicants"] == 1000
    assert 0.5 < results["offer_share"] < 1.0
    assert results["price"]["samples"] == 1000
