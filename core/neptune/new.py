"""``neptune.new``: the 0.16-era alias of the 1.x package (``import neptune.new as neptune``)."""

from __future__ import annotations

from . import ANONYMOUS_API_TOKEN, Handle, Project, Run, init_project, init_run, types, utils

__all__ = ["ANONYMOUS_API_TOKEN", "Handle", "Project", "Run", "init_project", "init_run", "types", "utils"]
