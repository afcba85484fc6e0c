"""Features: windowed aggregates of events per entity key, declared in specs.

:mod:`fengkong.features.spec` turns a YAML (or Python) spec into a :class:`FeatureSet` of
named features; :mod:`fengkong.features.windows` parses the windows they look back over.
"""

from fengkong.features.spec import (
    AGGREGATIONS,
    FIELD_TYPES,
    EventType,
    EventValidationError,
    Feature,
    FeatureInfo,
    FeatureSet,
    FeatureSpec,
    FeatureSpecError,
    FieldType,
    format_feature_table,
    list_features,
    load_feature_set,
    load_project,
)
from fengkong.features.windows import Window, parse_window

__all__ = [
    "AGGREGATIONS",
    "FIELD_TYPES",
    "EventType",
    "EventValidationError",
    "Feature",
    "FeatureInfo",
    "FeatureSet",
    "FeatureSpec",
    "FeatureSpecError",
    "FieldType",
    "Window",
    "format_feature_table",
    "list_features",
    "load_feature_set",
    "load_project",
    "parse_window",
]
