"""A small demo prepared once per session: models, stream and project in a temporary folder.

The small settings (4,000 synthetic applicants for the fraud model, a 200-application
stream) prepare in about ten seconds on two cores; the scorecard is the full one (credit_data
is small)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("optbinning")
pytest.importorskip("lightgbm")
pytest.importorskip("httpx")

from fengkong.demo import DemoSettings, PreparedDemo, prepare


@pytest.fixture(scope="session")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> PreparedDemo:
    lines: list[str] = []
    demo = prepare(tmp_path_factory.mktemp("demo"), lines.append,
                   settings=DemoSettings.small())
    assert demo.reused == []  # a fresh folder trains everything
    return demo


@pytest.fixture(scope="session")
def workdir_copy(prepared: PreparedDemo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Another work folder holding the same prepared data (for a second server)."""
    import shutil

    target = tmp_path_factory.mktemp("demo-copy") / "work"
    shutil.copytree(prepared.workdir, target, ignore=shutil.ignore_patterns("fengkong.db*"))
    return target
