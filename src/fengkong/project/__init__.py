"""Strategy projects: a folder under version control holding one lender's strategy.

:class:`Project` loads and checks a project (``fengkong.yaml``, ``flows/``, ``features/``...)
and names it by content hash; :func:`run_tests` runs its ``tests/*.yaml``;
:func:`init_project` writes a new one. See ``docs/projects.md``.
"""

from __future__ import annotations

from fengkong.project.core import Project, ProjectError
from fengkong.project.scaffold import init_project
from fengkong.project.testing import TestReport, TestResult, format_report, run_tests

__all__ = ["Project", "ProjectError", "TestReport", "TestResult", "format_report",
           "init_project", "run_tests"]
