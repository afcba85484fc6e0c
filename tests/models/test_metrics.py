"""Holdout metrics: every figure against scikit-learn or a brute-force computation."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from sklearn import metrics as sk

from fengkong.models import metrics


def _data(seed: int, rows: int, levels: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Outcomes, a risk with many ties (``levels`` distinct values) that carries some signal,
    and a PD in (0, 1)."""
    random = np.random.default_rng(seed)
    y = random.integers(0, 2, rows)
    y[:2] = (0, 1)
    risk = np.clip(random.integers(0, levels, rows) + y * random.integers(0, levels // 2 + 2, rows),
                   0, levels - 1).astype(np.float64)
    pd = random.uniform(0.001, 0.999, rows)
    return y, risk, pd


CASES = [(seed, rows, levels) for seed, rows, levels in
         [(0, 10, 3), (1, 57, 5), (2, 500, 12), (3, 2000, 400), (4, 3000, 2)]]


@pytest.mark.parametrize(("seed", "rows", "levels"), CASES)
def test_figures_equal_scikit_learn(seed: int, rows: int, levels: int) -> None:
    y, risk, pd = _data(seed, rows, levels)
    assert metrics.auc(y, risk) == pytest.approx(sk.roc_auc_score(y, risk), abs=1e-12)
    assert metrics.gini(y, risk) == pytest.approx(2 * sk.roc_auc_score(y, risk) - 1, abs=1e-12)
    assert metrics.average_precision(y, risk) == pytest.approx(
        sk.average_precision_score(y, risk), abs=1e-12)
    assert metrics.brier(y, pd) == pytest.approx(sk.brier_score_loss(y, pd), abs=1e-12)
    assert metrics.log_loss(y, pd) == pytest.approx(sk.log_loss(y, pd), abs=1e-12)
    fpr, tpr = metrics.roc_curve(y, risk)
    sk_fpr, sk_tpr, _ = sk.roc_curve(y, risk, drop_intermediate=False)
    np.testing.assert_allclose(fpr, sk_fpr)
    np.testing.assert_allclose(tpr, sk_tpr)


def _brute_force_ks(y: np.ndarray, risk: np.ndarray) -> tuple[float, float]:
    best, where = -1.0, np.nan
    for cut in sorted(set(risk.tolist()), reverse=True):
        flagged = risk >= cut
        gap = abs(flagged[y == 1].mean() - flagged[y == 0].mean())
        if gap > best + 1e-15:
            best, where = gap, cut
    return best, where


@pytest.mark.parametrize(("seed", "rows", "levels"), CASES)
def test_ks_equals_a_brute_force_search(seed: int, rows: int, levels: int) -> None:
    y, risk, _ = _data(seed, rows, levels)
    statistic, cut = _brute_force_ks(y, risk)
    result = metrics.ks(y, risk)
    assert result.statistic == pytest.approx(statistic, abs=1e-12)
    assert result.threshold == cut
    assert metrics.ks(y, -risk).statistic == pytest.approx(statistic, abs=1e-12)


def test_a_perfect_ranking() -> None:
    y = np.array([0, 0, 0, 1, 1])
    risk = np.array([0.1, 0.2, 0.3, 0.8, 0.9])
    assert metrics.auc(y, risk) == 1.0
    assert metrics.ks(y, risk) == metrics.KS(1.0, 0.8)
    assert metrics.average_precision(y, risk) == 1.0
    assert metrics.auc(y, -risk) == 0.0


def test_holdout_metrics_turn_a_scorecard_round() -> None:
    """Points (higher is better) and log-odds (higher is worse) give the same figures."""
    y, risk, pd = _data(5, 800, 30)
    points = 600 - 20 * risk
    by_points = metrics.holdout_metrics(y, pd, points, higher_is_better=True)
    by_log_odds = metrics.holdout_metrics(y, pd, risk, higher_is_better=False)
    assert by_points["auc"] == pytest.approx(sk.roc_auc_score(y, risk), abs=1e-12)
    assert by_points["auc"] > 0.6
    for key in ("auc", "gini", "ks", "average_precision", "brier", "log_loss", "ece"):
        assert by_points[key] == pytest.approx(by_log_odds[key], abs=1e-12), key
    cut = metrics.ks(y, risk).threshold
    assert by_log_odds["ks_score"] == cut
    assert by_points["ks_score"] == 600 - 20 * cut
    # Read the wrong way round, the ranking is reversed.
    wrong = metrics.holdout_metrics(y, pd, points, higher_is_better=False)
    assert wrong["auc"] == pytest.approx(1 - by_points["auc"], abs=1e-12)


def test_holdout_metrics_are_json_ready_and_complete() -> None:
    y, risk, pd = _data(6, 400, 50)
    result = metrics.holdout_metrics(y, pd, risk, higher_is_better=False, bins=5)
    assert json.loads(json.dumps(result)) == result
    assert result["rows"] == 400
    assert result["bads"] == int(y.sum())
    assert result["bad_rate"] == pytest.approx(y.mean())
    assert result["gini"] == pytest.approx(2 * result["auc"] - 1)
    assert len(result["calibration"]) == 5
    assert sum(row["count"] for row in result["calibration"]) == 400
    for outcome, value in (("good", 0), ("bad", 1)):
        summary = result["scores"][outcome]
        assert list(summary) == ["min", "p5", "p50", "p95", "max"]
        assert summary["min"] == risk[y == value].min()
        assert summary["p50"] == np.median(risk[y == value])
        assert summary["max"] == risk[y == value].max()


def test_calibration_table_by_pd_quantile() -> None:
    random = np.random.default_rng(7)
    pd = random.uniform(0.0, 0.5, 1000)
    y = (random.uniform(size=1000) < pd).astype(int)
    table = metrics.calibration_table(y, pd, bins=10)
    assert [row.count for row in table] == [100] * 10
    assert all(a.pd_high < b.pd_low for a, b in itertools.pairwise(table))
    for row in table:
        members = (pd >= row.pd_low) & (pd <= row.pd_high)
        assert row.mean_pd == pytest.approx(pd[members].mean())
        assert row.bads == y[members].sum()
        assert row.bad_rate == pytest.approx(y[members].mean())
    ece = metrics.expected_calibration_error(table)
    expected = sum(row.count * abs(row.mean_pd - row.bad_rate) for row in table) / 1000
    assert ece == pytest.approx(expected)
    assert ece < 0.05  # the outcomes were drawn from the PD


def test_equal_pds_share_a_bin() -> None:
    y = np.array([0, 1] * 10)
    pd = np.repeat([0.1, 0.2, 0.7], [12, 4, 4])
    table = metrics.calibration_table(y, pd, bins=10)
    assert [(row.count, row.pd_low, row.pd_high) for row in table] == [
        (12, 0.1, 0.1), (4, 0.2, 0.2), (4, 0.7, 0.7)]
    one = metrics.calibration_table(y, np.full(20, 0.3))
    assert [(row.count, row.bad_rate) for row in one] == [(20, 0.5)]
    assert metrics.expected_calibration_error(one) == pytest.approx(0.2)


@pytest.mark.parametrize(("defaults", "values", "message"), [
    ([0, 1, 1], [0.1, 0.2], "differ in length"),
    ([1, 1, 1], [0.1, 0.2, 0.3], "only bads"),
    ([0, 0, 0], [0.1, 0.2, 0.3], "only goods"),
    ([0, 1, 2], [0.1, 0.2, 0.3], "1 \\(bad\\) or 0"),
    ([0, 1, np.nan], [0.1, 0.2, 0.3], "defaults hold NaN"),
    ([0, 1, 1], [0.1, np.nan, 0.3], "NaN or infinite values \\(first at row 1\\)"),
    ([[0, 1]], [[0.1, 0.2]], "one-dimensional"),
])
def test_bad_input_is_a_clear_value_error(defaults: list[float], values: list[float],
                                          message: str) -> None:
    with pytest.raises(ValueError, match=message):
        metrics.auc(np.array(defaults), np.array(values))


def test_bad_probabilities_and_bins() -> None:
    y = np.array([0, 1, 1])
    with pytest.raises(ValueError, match="probabilities in \\[0, 1\\]"):
        metrics.brier(y, np.array([0.1, 1.2, 0.5]))
    with pytest.raises(ValueError, match="pd hold NaN"):
        metrics.holdout_metrics(y, np.array([0.1, np.nan, 0.5]), np.array([1.0, 2.0, 3.0]),
                                higher_is_better=True)
    with pytest.raises(ValueError, match="at least one bin"):
        metrics.calibration_table(y, np.array([0.1, 0.2, 0.5]), bins=0)
