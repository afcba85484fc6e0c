"""What every request-path scorer gives back, and the one interface they share.

A scorer is loaded once from an artifact folder (:mod:`fengkong.models.artifact`) and then
scores one application at a time, in microseconds, without pandas: a :class:`ModelScore`
holds the score, the calibrated probability of default and the top adverse
:class:`Reason`\\ s, each mapped to the project's reason-code catalogue
(:mod:`fengkong.models.reasons`). The graph nodes (:mod:`fengkong.models.node`) and the
pricing engine only see this interface, so a scorecard and a gradient-boosted model are
interchangeable in a flow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Reason:
    """One adverse factor behind a score.

    ``impact`` is how much the factor pushed the applicant towards default, in the model's
    own unit: scorecard points lost against the characteristic's best bin, or a gradient-
    boosted model's TreeSHAP contribution to the log-odds of default. Larger is worse;
    reasons are listed largest first.
    """

    code: str
    feature: str
    zh: str
    en: str
    impact: float
    value: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "feature": self.feature, "zh": self.zh, "en": self.en,
                "impact": self.impact, "value": self.value}


@dataclass(frozen=True, slots=True)
class ModelScore:
    """The result of scoring one application.

    ``score``: the model's score (scorecard points, higher is better; for a gradient-boosted
    model the raw log-odds of default, higher is worse — see the scorer's ``higher_is_better``).
    ``pd``: the calibrated probability of default in [0, 1]. ``reasons``: the top adverse
    factors, worst first, one per feature (:attr:`codes` names each reason code once).
    """

    score: float
    pd: float
    reasons: tuple[Reason, ...]

    @property
    def codes(self) -> list[str]:
        """The distinct reason codes, worst first. Several features may share a code (loan
        amount and term both explain as "amount or term too high"); an adverse-action
        notice names each code once."""
        return list(dict.fromkeys(reason.code for reason in self.reasons))

    def to_dict(self) -> dict[str, Any]:
        return {"score": self.score, "pd": self.pd,
                "reasons": [reason.to_dict() for reason in self.reasons],
                "codes": self.codes}


class Scorer(Protocol):
    """A loaded model that scores one application (a mapping of feature name to value).

    ``score`` raises :class:`fengkong.errors.ModelInputError` naming the feature for an
    unknown feature name or a value of the wrong type; a missing feature (absent or
    ``None``) is scored as missing, the way the model was trained.
    """

    name: str
    kind: str  # "scorecard" or "gbdt"
    features: tuple[str, ...]
    higher_is_better: bool

    def score(self, row: Mapping[str, Any], reasons: int = 4) -> ModelScore:
        """Score one row and give its ``reasons`` worst adverse factors."""
        ...
