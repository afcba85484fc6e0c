"""Credit models: training, artifacts, request-path scorers and reason codes.

* :mod:`.training` — :func:`train`: split, fit, calibrate, measure, write the artifact;
* :mod:`.scorecard` — the optbinning scorecard trainer and its points-table scorer;
* :mod:`.gbdt` — the LightGBM trainer and its compiled tree scorer with TreeSHAP reasons;
* :mod:`.artifact` — model folders verified by SHA-256; :func:`load_model` loads one;
* :mod:`.reasons` — the reason-code catalogue; :mod:`.node` — the graph nodes.

The trainers and :func:`train` import optbinning/LightGBM/pandas, so they are loaded on
first use: ``from fengkong.models import load_model`` costs a request path nothing more.
"""

from __future__ import annotations

from typing import Any

from fengkong.models.base import ModelScore, Reason, Scorer
from fengkong.models.scorers import load_model

_LAZY = {"ScorecardTrainer": "fengkong.models.scorecard",
         "GBDTTrainer": "fengkong.models.gbdt",
         "train": "fengkong.models.training", "Split": "fengkong.models.training"}

__all__ = ["GBDTTrainer", "ModelScore", "Reason", "ScorecardTrainer", "Scorer", "Split",
           "load_model", "train"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'fengkong.models' has no attribute {name!r}")
