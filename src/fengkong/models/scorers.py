"""Loading a model artifact folder as the request-path scorer of its kind."""

from __future__ import annotations

import importlib
from pathlib import Path

from fengkong.errors import ModelArtifactError
from fengkong.models.artifact import Artifact, read_artifact
from fengkong.models.base import Scorer

# kind -> "module:class" of its scorer, imported on first use (a flow with only a scorecard
# never imports the tree compiler).
SCORERS = {
    "scorecard": "fengkong.models.scorecard:ScorecardScorer",
    "gbdt": "fengkong.models.gbdt:GBDTScorer",
}


def scorer_from_artifact(artifact: Artifact) -> Scorer:
    """The scorer of an already verified artifact."""
    target = SCORERS.get(artifact.kind)
    if target is None:
        raise ModelArtifactError(f"model {artifact.name!r} is of kind {artifact.kind!r}; the "
                                 f"kinds fengkong scores are {', '.join(SCORERS)}")
    module, _, cls = target.partition(":")
    scorer: Scorer = getattr(importlib.import_module(module), cls).from_artifact(artifact)
    return scorer


def load_model(directory: str | Path) -> Scorer:
    """Load and verify a model artifact folder (see :mod:`fengkong.models.artifact`): the
    scorer refuses to load when a file does not match the SHA-256 its metadata recorded."""
    return scorer_from_artifact(read_artifact(directory))
