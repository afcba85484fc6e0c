"""``fengkong init``: a new strategy project that decides and passes its tests at once.

The files come from the ``template/`` folder beside this module: a flow (input schema ->
velocity features -> knock-out table -> policy PD -> pricing -> decision), its feature spec,
product and reason codes, seven tests and a README. Nothing is trained or downloaded, so a
new project works offline in well under a second; ``models/README.md`` says how to add a
trained model.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from fengkong.project.core import PROJECT_NAME, Project, ProjectError

__all__ = ["TEMPLATE", "init_project"]

TEMPLATE = Path(__file__).with_name("template")
_PLACEHOLDER = "__PROJECT_NAME__"
# Stored without the dot, so that packaging tools do not take it for the repository's own.
_RENAMED = {"gitignore": ".gitignore"}


def init_project(directory: str | Path, name: str | None = None) -> Project:
    """Write a new project into ``directory`` (created; it must not exist or be empty) and
    return it loaded. ``name`` defaults to the folder's name."""
    target = Path(directory)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ProjectError(f"{directory} is not empty: fengkong init writes a new project into "
                           "a new or empty folder")
    name = name if name is not None else target.resolve().name
    # The name is written unquoted into fengkong.yaml, so it must read back as itself.
    if not PROJECT_NAME.fullmatch(name) or yaml.safe_load(name) != name:
        raise ProjectError(f"{name!r} is not a project name: letters, digits, '.', '_' and '-', "
                           "starting with a letter or digit (give one with --name)")
    for source in sorted(TEMPLATE.rglob("*")):
        if not source.is_file():
            continue
        relative = source.relative_to(TEMPLATE)
        path = target / relative.parent / _RENAMED.get(relative.name, relative.name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(source.read_bytes().replace(_PLACEHOLDER.encode(), name.encode()))
    return Project.load(target)
