"""Holdout metrics of a credit model: ranking, separation, precision and calibration.

What a reviewer asks of a model before it decides on applicants: does it rank bads above
goods (AUC, Gini, KS), does it find the rare bads (average precision — the fraud target is
stated in it, since its random-model value is the bad rate), and does its PD mean what it
says (Brier score, log loss, the calibration table and its expected calibration error).

numpy only: the same figures are computed where training runs and where a monitoring job
re-measures a deployed model, without scikit-learn. The tests check every figure against
scikit-learn. ``defaults`` are outcomes, 1 = bad and 0 = good; ``risk`` is any score where
higher means more likely bad (a scorecard's points are turned round, ``risk = -points``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

_SCORE_QUANTILES = {"p5": 5.0, "p50": 50.0, "p95": 95.0}


@dataclass(frozen=True, slots=True)
class KS:
    """The Kolmogorov–Smirnov statistic: the largest gap between the share of bads and the
    share of goods at or above a risk cut-off, and ``threshold``, the cut-off (a value of
    ``risk``; applicants with ``risk >= threshold`` are the flagged side) where it occurs."""

    statistic: float
    threshold: float


@dataclass(frozen=True, slots=True)
class CalibrationBin:
    """One bin of the calibration table: applicants whose PD is in ``[pd_low, pd_high]``."""

    count: int
    bads: int
    pd_low: float
    pd_high: float
    mean_pd: float
    bad_rate: float

    def to_dict(self) -> dict[str, Any]:
        return {"count": self.count, "bads": self.bads, "pd_low": self.pd_low,
                "pd_high": self.pd_high, "mean_pd": self.mean_pd, "bad_rate": self.bad_rate}


def auc(defaults: np.ndarray, risk: np.ndarray) -> float:
    """The area under the ROC curve: the chance that a random bad has a higher risk than a
    random good, ties counting one half (the Mann–Whitney U with average ranks)."""
    y, r = _outcomes_and(defaults, risk, "risk")
    bads = int(y.sum())
    goods = len(y) - bads
    ranks = _average_ranks(r)
    u = float(ranks[y == 1].sum()) - bads * (bads + 1) / 2
    return u / (bads * goods)


def gini(defaults: np.ndarray, risk: np.ndarray) -> float:
    """The Gini coefficient (accuracy ratio) of credit scoring, ``2 * AUC - 1``."""
    return 2.0 * auc(defaults, risk) - 1.0


def roc_curve(defaults: np.ndarray, risk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """False and true positive rates at every distinct cut-off, from (0, 0) to (1, 1)."""
    _, tpr, fpr = cutoff_rates(defaults, risk)
    return np.r_[0.0, fpr], np.r_[0.0, tpr]


def cutoff_rates(defaults: np.ndarray,
                 risk: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct values of ``risk``, highest first, and at each the share of bads (true
    positive rate) and the share of goods (false positive rate) at or above it: the points
    of the ROC curve and the two curves of a KS chart."""
    return _cumulative(*_outcomes_and(defaults, risk, "risk"))


def ks(defaults: np.ndarray, risk: np.ndarray) -> KS:
    """The KS statistic and the cut-off where it occurs (see :class:`KS`).

    The statistic is the two-sample KS of the risk of bads against that of goods, so it is
    the same for ``risk`` and ``-risk``; the cut-off is the first (riskiest) one of the
    largest gap.
    """
    y, r = _outcomes_and(defaults, risk, "risk")
    thresholds, tpr, fpr = _cumulative(y, r)
    gap = np.abs(tpr - fpr)
    at = int(np.argmax(gap))
    return KS(float(gap[at]), float(thresholds[at]))


def average_precision(defaults: np.ndarray, risk: np.ndarray) -> float:
    """The area under the precision–recall curve as scikit-learn's
    ``average_precision_score`` computes it: the precision at each distinct cut-off,
    weighted by the recall it adds (no interpolation)."""
    y, r = _outcomes_and(defaults, risk, "risk")
    _, tpr, fpr = _cumulative(y, r)
    bads = int(y.sum())
    true_positives = tpr * bads
    flagged = true_positives + fpr * (len(y) - bads)
    precision = true_positives / flagged
    return float(np.sum(np.diff(np.r_[0.0, tpr]) * precision))


def brier(defaults: np.ndarray, pd: np.ndarray) -> float:
    """The mean squared difference between the PD and the outcome."""
    y, p = _outcomes_and(defaults, pd, "pd", probability=True)
    return float(np.mean((p - y) ** 2))


def log_loss(defaults: np.ndarray, pd: np.ndarray) -> float:
    """The mean negative log-likelihood of the outcomes under the PD, the PD clipped to
    ``[eps, 1 - eps]`` (as scikit-learn does) so that a PD of exactly 0 or 1 stays finite."""
    y, p = _outcomes_and(defaults, pd, "pd", probability=True)
    eps = float(np.finfo(np.float64).eps)
    p = np.clip(p, eps, 1 - eps)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))


def calibration_table(defaults: np.ndarray, pd: np.ndarray, bins: int = 10) -> list[CalibrationBin]:
    """Applicants grouped by PD quantile, with the mean PD and the observed bad rate of each.

    Each bin starts at a PD of the data, and equal PDs always share a bin: a scorecard's PD
    takes few distinct values, so it may give fewer than ``bins`` bins, but never an empty
    one or one PD split over two.
    """
    y, p = _outcomes_and(defaults, pd, "pd", probability=True)
    if bins < 1:
        raise ValueError(f"the calibration table needs at least one bin, not {bins}")
    # Bin k starts at the PD of the (k * n // bins)-th lowest row; equal starts merge.
    starts = np.unique(np.sort(p)[np.arange(bins) * len(p) // bins])
    index = np.searchsorted(starts, p, side="right") - 1
    table: list[CalibrationBin] = []
    for b in range(len(starts)):
        members = index == b
        count = int(members.sum())
        bads = int(y[members].sum())
        table.append(CalibrationBin(count, bads, float(p[members].min()),
                                    float(p[members].max()), float(p[members].mean()),
                                    bads / count))
    return table


def expected_calibration_error(table: list[CalibrationBin]) -> float:
    """The count-weighted mean absolute gap between mean PD and bad rate over the bins."""
    total = sum(row.count for row in table)
    return sum(row.count * abs(row.mean_pd - row.bad_rate) for row in table) / total


def holdout_metrics(defaults: np.ndarray, pd: np.ndarray, scores: np.ndarray, *,
                    higher_is_better: bool, bins: int = 10) -> dict[str, Any]:
    """Every figure of a model's holdout as a JSON-ready dict (the artifact's metrics.json).

    ``scores`` are the model's own scores — scorecard points (``higher_is_better=True``) or
    a gradient-boosted model's log-odds of default (``False``); ranking figures use them
    turned the right way round, and ``ks_score`` is the KS cut-off on the model's scale
    (the flagged side is at or below it when higher is better, at or above it otherwise).
    ``pd`` is the calibrated probability of default of each row.
    """
    y, s = _outcomes_and(defaults, scores, "scores")
    _, p = _outcomes_and(y, pd, "pd", probability=True)
    risk = -s if higher_is_better else s
    separation = ks(y, risk)
    table = calibration_table(y, p, bins)
    area = auc(y, risk)
    return {
        "rows": len(y),
        "bads": int(y.sum()),
        "bad_rate": float(y.mean()),
        "higher_is_better": higher_is_better,
        "auc": area,
        "gini": 2.0 * area - 1.0,
        "ks": separation.statistic,
        # + 0.0 turns the -0.0 of a turned-round zero cut-off into 0.0.
        "ks_score": (-separation.threshold if higher_is_better else separation.threshold) + 0.0,
        "average_precision": average_precision(y, risk),
        "brier": brier(y, p),
        "log_loss": log_loss(y, p),
        "ece": expected_calibration_error(table),
        "calibration": [row.to_dict() for row in table],
        "scores": {outcome: _summary(s[y == value])
                   for outcome, value in (("good", 0), ("bad", 1))},
    }


def _summary(values: np.ndarray) -> dict[str, float]:
    summary = {"min": float(values.min())}
    for name, q in _SCORE_QUANTILES.items():
        summary[name] = float(np.percentile(values, q))
    summary["max"] = float(values.max())
    return summary


def _outcomes_and(defaults: np.ndarray, values: np.ndarray, name: str, *,
                  probability: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The outcomes as 0/1 floats and ``values`` as floats, or a ValueError saying what is
    wrong: the figures are meaningless with one class, and NaN would sort arbitrarily."""
    y = np.asarray(defaults, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if y.ndim != 1 or v.ndim != 1:
        raise ValueError(f"defaults and {name} must be one-dimensional arrays")
    if len(y) != len(v):
        raise ValueError(f"defaults and {name} differ in length ({len(y)} and {len(v)})")
    if np.isnan(y).any():
        raise ValueError("defaults hold NaN; every row needs an outcome (1 = bad, 0 = good)")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("defaults must be 1 (bad) or 0 (good)")
    bads = int(y.sum())
    if bads in (0, len(y)):
        raise ValueError(f"defaults hold only {'goods' if bads == 0 else 'bads'} "
                         f"({len(y)} rows); the metrics need both outcomes")
    if not np.isfinite(v).all():
        raise ValueError(f"{name} hold NaN or infinite values (first at row "
                         f"{int(np.flatnonzero(~np.isfinite(v))[0])})")
    if probability and ((v < 0).any() or (v > 1).any()):
        raise ValueError(f"{name} must be probabilities in [0, 1]")
    return y, v


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, tied values sharing the mean of their ranks."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], len(values)]
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    return ranks


def _cumulative(y: np.ndarray, risk: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct risk values from the highest down, and at each the share of bads (true
    positive rate) and of goods (false positive rate) with at least that risk."""
    order = np.argsort(-risk, kind="stable")
    ordered = risk[order]
    outcomes = y[order]
    last = np.r_[np.flatnonzero(ordered[1:] != ordered[:-1]), len(ordered) - 1]
    bads = np.cumsum(outcomes)[last]
    goods = (last + 1) - bads
    return ordered[last], bads / bads[-1], goods / goods[-1]
