"""The model card: deterministic, small, valid PNG plots and a Markdown card built from facts."""

from __future__ import annotations

import warnings
from typing import Any

import matplotlib
import numpy as np
import pytest

from fengkong.models import card
from fengkong.models.calibration import Platt, fit_platt
from fengkong.models.metrics import holdout_metrics

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _holdout(rows: int = 2000, bad_rate: float = 0.2,
             seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Outcomes, scorecard points (higher is better) and a fitted PD."""
    random = np.random.default_rng(seed)
    y = (random.uniform(size=rows) < bad_rate).astype(np.int64)
    y[:2] = (0, 1)
    points = np.round(600 - 50 * y + random.normal(0, 40, rows))
    return y, fit_platt(points, y).pd_array(points), points


@pytest.fixture(scope="module")
def plots() -> dict[str, bytes]:
    y, pd, points = _holdout()
    return card.render_plots(y, pd, points, higher_is_better=True, title="application (scorecard)")


def test_plots_are_small_valid_pngs(plots: dict[str, bytes]) -> None:
    assert list(plots) == ["roc.png", "ks.png", "scores.png", "calibration.png"]
    for name, data in plots.items():
        assert data.startswith(PNG_MAGIC), name
        assert 5_000 < len(data) < 150_000, (name, len(data))
        assert b"Software" not in data and b"matplotlib" not in data.lower()


def test_plots_are_deterministic(plots: dict[str, bytes]) -> None:
    y, pd, points = _holdout()
    assert card.render_plots(y, pd, points, higher_is_better=True,
                             title="application (scorecard)") == plots


def test_plots_ignore_the_session_style_and_keep_its_backend(plots: dict[str, bytes]) -> None:
    """A user's rcParams do not change the artifact's bytes, and the session keeps its
    backend and settings."""
    y, pd, points = _holdout()
    backend = matplotlib.get_backend()
    with matplotlib.rc_context({"lines.linewidth": 4.0, "axes.facecolor": "black",
                                "font.size": 20}):
        again = card.render_plots(y, pd, points, higher_is_better=True,
                                  title="application (scorecard)")
        assert matplotlib.rcParams["lines.linewidth"] == 4.0
    assert again == plots
    assert matplotlib.get_backend() == backend


def test_a_gradient_boosted_model_and_a_tiny_holdout() -> None:
    random = np.random.default_rng(1)
    y = np.array([0] * 8 + [1] * 2)
    log_odds = random.normal(-2, 1, 10) + 2 * y
    pd = Platt(1.0, 0.0).pd_array(log_odds)
    plots = card.render_plots(y, pd, log_odds, higher_is_better=False, title="fraud (gbdt)")
    assert all(data.startswith(PNG_MAGIC) for data in plots.values())
    constant = card.render_plots(y, np.full(10, 0.2), np.full(10, 1.5), higher_is_better=False,
                                 title="constant")
    assert all(data.startswith(PNG_MAGIC) for data in constant.values())


def test_no_missing_glyph_boxes_for_a_chinese_model_name() -> None:
    """Without a CJK font the Chinese is left out; with one it is drawn: never a box, and
    matplotlib's missing-glyph warning never fires."""
    y, pd, points = _holdout(rows=300)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plots = card.render_plots(y, pd, points, higher_is_better=True, title="申请评分卡 v2")
    assert all(data.startswith(PNG_MAGIC) for data in plots.values())


def test_a_font_without_the_chinese_titles_is_not_taken_for_cjk(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(card, "CJK_FONTS", ("DejaVu Sans",))
    card._fonts.cache_clear()
    try:
        fonts = card._fonts()
        assert fonts.cjk is None
        assert fonts.printable("申请评分卡 application  (scorecard) 分") == \
            "application (scorecard)"
    finally:
        card._fonts.cache_clear()


def _metadata() -> dict[str, Any]:
    return {
        "name": "application-scorecard",
        "kind": "scorecard",
        "target": "bad",
        "higher_is_better": True,
        "created": "2026-11-25T06:00:00+00:00",
        "features": [{"name": "age", "dtype": "float64"},
                     {"name": "purpose", "dtype": "object"},
                     {"name": "odd|name", "dtype": "float64"}],
        "training": {"dataset": "german_credit", "rows": 6667, "train_rows": 4667,
                     "test_rows": 2000, "bad_rate": 0.2, "data_sha256": "ab" * 32,
                     "split": {"method": "stratified", "seed": 7, "test_size": 0.3}},
        "calibration": {"method": "platt", "a": -0.0234, "b": 11.5},
        "reasons": {"age": {"code": "R09", "zh": "年龄因素", "en": "Age profile"},
                    "purpose": {"code": "R10", "zh": "借款用途风险较高",
                                "en": "Higher-risk loan purpose"},
                    "odd|name": {"code": "R90", "zh": "其他信用因素",
                                 "en": "Other credit factors"}},
        "versions": {"python": "3.11.9", "numpy": "2.1.0", "optbinning": "0.20.1"},
        "parameters": {"pdo": 20, "base_points": 600, "monotonic": ["age"]},
    }


def test_the_card_has_every_section_the_plots_and_the_figures(plots: dict[str, bytes]) -> None:
    y, pd, points = _holdout()
    metrics = holdout_metrics(y, pd, points, higher_is_better=True)
    text = card.model_card(_metadata(), metrics, plots)
    assert text.startswith("# Model card: application-scorecard\n")
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings == ["## Training data", "## Features (3)", "## Holdout performance",
                        "## Calibration", "## Plots", "## Limitations", "## Parameters",
                        "## Library versions"]
    for link in ("![ROC](roc.png)", "![KS](ks.png)", "![Score distribution](scores.png)",
                 "![Calibration](calibration.png)"):
        assert link in text
    for key in ("auc", "gini", "ks", "average_precision"):
        assert f"| {metrics[key]:.3f} |" in text, key
    for key in ("brier", "log_loss", "ece"):
        assert f"| {metrics[key]:.4f} |" in text, key
    assert f"at score {metrics['ks_score']:.6g}" in text
    assert "| Holdout rows | 2,000 |" in text
    assert "scorecard points (higher is better)" in text
    assert "german_credit" in text and "ab" * 32 in text
    assert "random, stratified by outcome: 30% holdout (seed 7)" in text
    assert "| `age` | float64 | R09 | 年龄因素 | Age profile |" in text
    assert "| `odd\\|name` |" in text  # a pipe in a name does not break the table
    assert "a = -0.0234, b = 11.5" in text
    first = metrics["calibration"][0]
    assert f"| 1 | {first['count']:,} | {first['bads']:,} |" in text
    assert len([line for line in text.splitlines() if line.startswith("| ")
                and line.split("|")[1].strip().isdigit()]) == len(metrics["calibration"])
    assert "| `optbinning` | 0.20.1 |" in text
    assert '| `monotonic` | ["age"] |' in text
    assert "generic reason code R90" in text and "`odd|name`" in text
    assert "random sample of the same period" in text
    assert "Small holdout" not in text and "Poor calibration" not in text


def test_limitations_are_stated_from_the_facts() -> None:
    random = np.random.default_rng(3)
    rows = 400
    y = np.zeros(rows, dtype=np.int64)
    y[random.choice(rows, 5, replace=False)] = 1  # a bad rate of 1.25%
    log_odds = random.normal(-4, 1, rows) + 6 * y
    pd = np.full(rows, 0.3)  # far from the 1.5% bad rate: badly calibrated
    metrics = holdout_metrics(y, pd, log_odds, higher_is_better=False)
    metadata = {"name": "fraud", "kind": "gbdt",
                "training": {"split": {"method": "time", "column": "applied_at",
                                       "test_size": 0.2}}}
    text = card.model_card(metadata, metrics, [])
    limitations = text.split("## Limitations", 1)[1]
    assert f"Small holdout: {rows} rows" in limitations
    assert f"Few bads in the holdout: {metrics['bads']}" in limitations
    assert "95% interval" in limitations
    assert "Unusually high AUC" in limitations
    assert "Rare bads" in limitations
    assert "Poor calibration: ECE 0.28" in limitations
    assert "random sample" not in limitations  # split by time
    assert "## Plots" not in text
    assert "by time: the latest 20% holdout, ordered by `applied_at`" in text
    assert "log-odds of default (higher is riskier)" in text


def test_a_weak_model_is_called_weak() -> None:
    random = np.random.default_rng(4)
    y = random.integers(0, 2, 3000)
    scores = random.normal(size=3000) + 0.1 * y
    metrics = holdout_metrics(y, np.full(3000, y.mean()), scores, higher_is_better=False)
    assert "Weak ranking" in card.model_card({"name": "weak"}, metrics, [])


def test_missing_metadata_and_metrics_are_tolerated() -> None:
    text = card.model_card({"name": "bare"}, {}, ["roc.png", "extra.png"])
    assert text.startswith("# Model card: bare\n")
    assert "The metadata does not describe the training data." in text
    assert "| AUC | — |" in text
    assert "![ROC](roc.png)" in text and "![extra](extra.png)" in text
    assert "## Limitations" in text
    for absent in ("## Features", "## Parameters", "## Library versions", "## Calibration"):
        assert absent not in text
    assert card.model_card({}, {}, []).startswith("# Model card: unnamed model\n")
