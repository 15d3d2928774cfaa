"""``neptune.new``: the 0.16-era alias of the 1.x package (``import neptune.new as neptune``).

Its submodules (``neptune.new.types``, ``neptune.new.utils``, ``neptune.new.exceptions``,
``neptune.new.integrations...``) are the layer's modules of the same name, so
``from naiad.neptune.new.types import File`` is the same class as ``naiad.neptune.types.File``.
"""

from __future__ import annotations

import sys

from .. import (
    ANONYMOUS_API_TOKEN,
    Handle,
    Project,
    Run,
    exceptions,
    init_model,
    init_model_version,
    init_project,
    init_run,
    integrations,
    types,
    utils,
)

for _sub in (exceptions, integrations, types, utils):
    sys.modules.setdefault(f"{__name__}.{_sub.__name__.rsplit('.', 1)[1]}", _sub)
del _sub

__all__ = [
    "ANONYMOUS_API_TOKEN",
    "Handle",
    "Project",
    "Run",
    "exceptions",
    "init_model",
    "init_model_version",
    "init_project",
    "init_run",
    "integrations",
    "types",
    "utils",
]
